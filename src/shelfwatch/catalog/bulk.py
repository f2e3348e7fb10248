"""Writing many products at once, keyed by barcode: imports from product databases.

A batch costs a handful of statements whatever its size: one read of the products already
holding its barcodes (with their regional names and images), one INSERT of the new
products, one UPDATE of the changed ones, and one DELETE and one INSERT of regional names.
The rules are `products.create_product`'s: barcodes in their stored form, names, sizes and
regional names checked alike, the search text rebuilt (the full-text index follows it
through triggers on both databases), the quality score stored, and one
`catalog.product_created` or `catalog.product_updated` event per product.

Unlike a form, a bulk write takes the barcode as the product's identity (GS1 gives every
trade item its own), so it does not consult the matcher. New products are pending review
whoever runs the import: their data comes from outside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import (
    Category,
    Product,
    ProductImage,
    RegionalName,
    VerificationStatus,
)
from shelfwatch.catalog.products import (
    InvalidProduct,
    NewProduct,
    _clean_barcode,
    _clean_name,
    _clean_quantity,
    _product_event,
    build_search_text,
    clean_regional_names,
    create_products,
)
from shelfwatch.catalog.quality import assess_known

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
REFUSED = "refused"
# The net quantity column holds 12 digits, 3 of them after the point.
MAX_NET_QUANTITY = Decimal(10) ** 9
_FIELDS = ("name", "brand", "category_id", "net_quantity", "net_unit", "description")


@dataclass
class ProductData:
    """One product as a source describes it; blank fields say nothing about it."""

    barcode: str
    name: str
    brand: str = ""
    category_id: int | None = None
    net_quantity: Decimal | None = None
    net_unit: str = ""
    description: str = ""
    regional_names: dict[str, list[str]] = field(default_factory=dict)
    # Blocks of the source's own (`{"openfoodfacts": {...}}`): each key given replaces its
    # value on the product, other keys stay.
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class BulkOutcome:
    """What became of one item: created, updated, unchanged or refused (with a code)."""

    status: str
    product_id: int | None = None
    code: str = ""
    message: str = ""


def upsert_by_barcode(
    *, principal: Principal, items: Sequence[ProductData], source: str
) -> list[BulkOutcome]:
    """Create or update one product per barcode; the outcomes in the order of `items`.

    A product this `source` created and that is still pending takes every field given; any
    other product (verified, or made by a person) only has its blanks filled, never its
    name or status changed. Rejected and merged products are refused.
    """
    outcomes: list[BulkOutcome | None] = [None] * len(items)
    cleaned: dict[str, tuple[int, ProductData]] = {}
    for index, item in enumerate(items):
        try:
            clean = _clean(item)
        except InvalidProduct as exc:
            outcomes[index] = BulkOutcome(REFUSED, code=exc.code, message=exc.detail)
            continue
        earlier = cleaned.get(clean.barcode)
        if earlier is not None:
            outcomes[earlier[0]] = BulkOutcome(
                REFUSED,
                code="repeated_barcode",
                message=f"a later record has the barcode {clean.barcode} too; it was used",
            )
        cleaned[clean.barcode] = (index, clean)
    _refuse_non_leaves(cleaned, outcomes)
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                written = _write(principal, list(cleaned.values()), source)
            break
        except IntegrityError:
            # Someone created one of these barcodes between our read and our write: read
            # again, and that product is updated like any other.
            if attempt == 2:
                raise
    for index, outcome in written.items():
        outcomes[index] = outcome
    return [outcome or BulkOutcome(REFUSED, code="not_written") for outcome in outcomes]


def _scrub(value: Any) -> Any:
    # Neither database stores NUL in text or JSON, nor a lone surrogate (which JSON's
    # "\ud800" escapes can make); sources do contain both.
    if isinstance(value, str):
        if not value.isascii():
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _clean(item: ProductData) -> ProductData:
    """`item` with every value in its stored form; InvalidProduct naming what is wrong."""
    barcode = _clean_barcode(_scrub(item.barcode or ""))
    if barcode is None:
        raise InvalidProduct("a product needs a barcode here", code="barcode_required")
    amount, unit = _clean_quantity(item.net_quantity, item.net_unit)
    if amount is not None:
        amount = amount.quantize(Decimal("0.001"))
        if not 0 < amount < MAX_NET_QUANTITY:
            raise InvalidProduct("the net quantity is out of range", code="invalid_quantity")
    regional = clean_regional_names(_scrub(item.regional_names))
    return replace(
        item,
        barcode=barcode,
        name=_clean_name(_scrub(item.name)),
        brand=_scrub(item.brand or "").strip()[:120],
        net_quantity=amount,
        net_unit=unit,
        description=_scrub(item.description or "").strip(),
        regional_names=regional,
        attributes=_scrub(dict(item.attributes)),
    )


def _refuse_non_leaves(
    cleaned: dict[str, tuple[int, ProductData]], outcomes: list[BulkOutcome | None]
) -> None:
    wanted = {data.category_id for _, data in cleaned.values() if data.category_id is not None}
    leaves = set(
        Category.objects.filter(pk__in=wanted, children__isnull=True).values_list("pk", flat=True)
    )
    for barcode, (index, data) in list(cleaned.items()):
        if data.category_id is not None and data.category_id not in leaves:
            outcomes[index] = BulkOutcome(
                REFUSED,
                code="category_not_leaf",
                message=f"category {data.category_id} is not a leaf of the category tree",
            )
            del cleaned[barcode]


@dataclass
class _Known:
    """What a batch reads once about the products already holding its barcodes."""

    products: dict[str, Product]
    names: dict[int, dict[str, list[str]]]
    with_images: set[int]
    non_leaves: set[int]

    @classmethod
    def read(cls, barcodes: list[str]) -> _Known:
        products = {p.barcode: p for p in Product.objects.filter(barcode__in=barcodes)}
        ids = [p.pk for p in products.values()]
        names: dict[int, dict[str, list[str]]] = {}
        rows = RegionalName.objects.filter(product__in=ids).order_by("language", "id")
        for product_id, language, name in rows.values_list("product_id", "language", "name"):
            names.setdefault(product_id, {}).setdefault(language, []).append(name)
        images = ProductImage.objects.filter(product__in=ids).values_list("product_id", flat=True)
        categories = {p.category_id for p in products.values() if p.category_id}
        non_leaves = Category.objects.filter(pk__in=categories, children__isnull=False)
        return cls(products, names, set(images), set(non_leaves.values_list("pk", flat=True)))


def _write(
    principal: Principal, items: list[tuple[int, ProductData]], source: str
) -> dict[int, BulkOutcome]:
    known = _Known.read([data.barcode for _, data in items])
    outcomes: dict[int, BulkOutcome] = {}
    created: list[tuple[int, Product, dict[str, list[str]]]] = []
    updated: list[tuple[int, Product, dict[str, list[str]] | None]] = []
    for index, data in items:
        product = known.products.get(data.barcode)
        if product is None:
            created.append((index, _new_product(principal, data, source), data.regional_names))
            continue
        if product.merged_into_id is not None or product.status == VerificationStatus.REJECTED:
            outcomes[index] = BulkOutcome(
                REFUSED,
                product.pk,
                "product_rejected",
                f"the catalog rejected product {product.pk} with this barcode",
            )
            continue
        current = known.names.get(product.pk, {})
        owned = (
            product.attributes.get("source") == source
            and product.status == VerificationStatus.PENDING
        )
        changed, names = _apply(product, data, current, replace_all=owned)
        if not changed:
            outcomes[index] = BulkOutcome(UNCHANGED, product.pk)
            continue
        final = names if names is not None else current
        product.search_text = build_search_text(product, final)
        product.quality_score = _score(
            product, known, has_names=bool(final), has_image=product.pk in known.with_images
        )
        product.updated_at = timezone.now()
        updated.append((index, product, names))

    create_products(
        principal=principal,
        products=[NewProduct(product=product, regional=names) for _, product, names in created],
    )
    renamed = [product.pk for _, product, names in updated if names is not None]
    RegionalName.objects.filter(product__in=renamed).delete()
    RegionalName.objects.bulk_create(
        [
            RegionalName(product=product, language=language, name=name)
            for _, product, names in updated
            for language, values in (names or {}).items()
            for name in values
        ]
    )
    fields = [*_FIELDS, "attributes", "search_text", "quality_score", "updated_at"]
    Product.objects.bulk_update([product for _, product, _ in updated], fields, batch_size=500)
    for index, product, _ in created:
        outcomes[index] = BulkOutcome(CREATED, product.pk)
    for index, product, _ in updated:
        _product_event("updated", product, principal)
        outcomes[index] = BulkOutcome(UPDATED, product.pk)
    return outcomes


def _new_product(principal: Principal, data: ProductData, source: str) -> Product:
    product = Product(
        name=data.name,
        brand=data.brand,
        category_id=data.category_id,
        barcode=data.barcode,
        net_quantity=data.net_quantity,
        net_unit=data.net_unit,
        description=data.description,
        attributes={**data.attributes, "source": source},
        created_by=principal.user,
        status=VerificationStatus.PENDING,
    )
    product.search_text = build_search_text(product, data.regional_names)
    return product


def _score(product: Product, known: _Known, *, has_names: bool, has_image: bool) -> int:
    return assess_known(
        product,
        has_image=has_image,
        has_regional_name=has_names,
        category_is_leaf=product.category_id not in known.non_leaves,
    ).score


def _apply(
    product: Product, data: ProductData, current: dict[str, list[str]], *, replace_all: bool
) -> tuple[bool, dict[str, list[str]] | None]:
    """Bring `product` to `data` (all of it, or its blanks only); whether anything changed,
    and the regional names to store when they change (None: keep them)."""
    before = [getattr(product, name) for name in _FIELDS]
    attributes_before = dict(product.attributes)
    if replace_all:
        for name in _FIELDS:
            setattr(product, name, getattr(data, name))
        names = data.regional_names
    else:
        # A blank (or a missing size) is filled; whatever a person wrote stays.
        for name in ("brand", "category_id", "description"):
            if not getattr(product, name) and getattr(data, name):
                setattr(product, name, getattr(data, name))
        if product.net_quantity is None and data.net_quantity is not None:
            product.net_quantity, product.net_unit = data.net_quantity, data.net_unit
        names = {**data.regional_names, **current}  # the languages it lacks are added
    product.attributes = {**product.attributes, **data.attributes}
    after = [getattr(product, name) for name in _FIELDS]
    names_changed = names != current
    changed = before != after or product.attributes != attributes_before or names_changed
    return changed, (names if names_changed else None)
