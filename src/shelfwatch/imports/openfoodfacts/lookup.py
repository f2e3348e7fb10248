"""One barcode met where the catalog does not know it: ask Open Food Facts, and keep what
they know as a pending catalog product.

`lookup_barcode` is what the API and `shelfwatch off-lookup` call; it raises plain domain
errors. `product_for_unknown_barcode` is the quiet form for imports of spreadsheets: it
gives None whenever Open Food Facts cannot help right now, so the row can go on without.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.barcodes import InvalidBarcode, normalize_barcode
from shelfwatch.catalog.bulk import REFUSED, upsert_by_barcode
from shelfwatch.catalog.models import Product
from shelfwatch.errors import DomainError, Invalid, NotFound
from shelfwatch.imports.openfoodfacts import SOURCE
from shelfwatch.imports.openfoodfacts.client import fetch_product
from shelfwatch.imports.openfoodfacts.records import CategoryIndex, to_product

logger = logging.getLogger("shelfwatch.imports.openfoodfacts")


class UnknownBarcode(NotFound):
    code = "unknown_barcode"


class InvalidLookup(Invalid):
    code = "invalid_barcode"


@dataclass
class LookupResult:
    """The catalog product for a barcode, and whether this lookup created it."""

    product: Product
    created: bool


def lookup_barcode(*, principal: Principal, barcode: str) -> LookupResult:
    """The catalog's product for `barcode`, created (pending review) from Open Food Facts
    when only they know it. UnknownBarcode when nobody does; nothing is created then."""
    try:
        code = normalize_barcode(barcode)
    except InvalidBarcode as exc:
        raise InvalidLookup(str(exc)) from None
    existing = Product.objects.filter(barcode=code).first()
    if existing is not None:
        return LookupResult(existing, created=False)
    record = fetch_product(code)
    if record is None:
        raise UnknownBarcode(
            f"neither the catalog nor Open Food Facts knows the barcode {code}",
            extra={"barcode": code},
        )
    mapped = to_product(record, CategoryIndex.load())
    if mapped.data is None:
        raise UnknownBarcode(
            f"Open Food Facts has the barcode {code} but not enough to make a product of it "
            f"({mapped.message})",
            code="incomplete_record",
            extra={"barcode": code},
        )
    # Their record may spell the code otherwise (8 digits for an EAN-8); ours is the one asked.
    mapped.data.barcode = code
    (outcome,) = upsert_by_barcode(principal=principal, items=[mapped.data], source=SOURCE)
    if outcome.status == REFUSED:
        raise InvalidLookup(outcome.message, code=outcome.code, extra={"barcode": code})
    product = Product.objects.get(pk=outcome.product_id)
    return LookupResult(product, created=outcome.status == "created")


def product_for_unknown_barcode(*, principal: Principal, barcode: str) -> Product | None:
    """For imports meeting a barcode the catalog lacks: the product Open Food Facts knows
    for it, created pending review; None when they do not know it, cannot be asked right
    now (not configured, rate limit, unreachable) or the barcode is not a GTIN."""
    try:
        return lookup_barcode(principal=principal, barcode=barcode).product
    except DomainError as exc:
        logger.info("no Open Food Facts product for %s: %s", barcode, exc.code)
        return None
