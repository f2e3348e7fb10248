"""Creating and editing catalog products.

Every write goes through here so the barcode is normalised, duplicates are refused, the
search text and quality score follow the change, and an event records it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.barcodes import InvalidBarcode, normalize_barcode
from shelfwatch.catalog.matching import find_candidates, likely_duplicates
from shelfwatch.catalog.models import (
    LANGUAGE_REGION_RE,
    UNITS,
    Category,
    Product,
    RegionalName,
    VerificationStatus,
)
from shelfwatch.catalog.quality import refresh_quality_score, score_new
from shelfwatch.errors import Conflict, Invalid
from shelfwatch.events.publishing import NewEvent, emit, emit_batch
from shelfwatch.fast_insert import insert_all

MAX_NAMES_PER_LANGUAGE = 10
EDITABLE_FIELDS = frozenset(
    {"name", "brand", "category_id", "barcode", "net_quantity", "net_unit", "description"}
    | {"attributes", "regional_names"}
)


class InvalidProduct(Invalid):
    code = "invalid_product"


def _clean_barcode(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalize_barcode(raw)
    except InvalidBarcode as exc:
        raise InvalidProduct(str(exc), code="invalid_barcode") from None


def _clean_quantity(amount: Decimal | None, unit: str) -> tuple[Decimal | None, str]:
    unit = (unit or "").strip().lower()
    if unit and unit not in UNITS:
        raise InvalidProduct(
            f"unknown unit {unit!r}; use one of {', '.join(UNITS)}", code="unknown_unit"
        )
    if amount is None:
        if unit:
            raise InvalidProduct("a unit needs a net quantity", code="invalid_quantity")
        return None, ""
    if amount <= 0:
        raise InvalidProduct("the net quantity must be above zero", code="invalid_quantity")
    if not unit:
        raise InvalidProduct("a net quantity needs a unit", code="unknown_unit")
    return amount, unit


def _clean_category(category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise InvalidProduct(f"no category {category_id}", code="category_not_found")
    if category.children.exists():
        raise InvalidProduct(
            f"'{category.name}' has subcategories; choose one of them", code="category_not_leaf"
        )
    return category


def clean_regional_names(names: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """Validated `{language-region: [names]}`; raises InvalidProduct naming the bad entry."""
    cleaned: dict[str, list[str]] = {}
    for language, values in (names or {}).items():
        if not re.fullmatch(LANGUAGE_REGION_RE, language or ""):
            raise InvalidProduct(
                f"{language!r} is not a language-region code such as hi-IN or ta-IN",
                code="invalid_language_code",
            )
        unique = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
        if not unique or len(unique) > MAX_NAMES_PER_LANGUAGE:
            raise InvalidProduct(
                f"{language} needs 1 to {MAX_NAMES_PER_LANGUAGE} names",
                code="invalid_regional_name",
            )
        if any(len(v) > 300 for v in unique):
            raise InvalidProduct(
                "a regional name has at most 300 characters", code="invalid_regional_name"
            )
        cleaned[language] = unique
    return cleaned


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 300:
        raise InvalidProduct("a product needs a name of 1 to 300 characters", code="invalid_name")
    return name


def build_search_text(product: Product, regional: dict[str, list[str]] | None = None) -> str:
    """What the full-text index holds for `product`: every name it may be searched by."""
    if regional is None:
        names = list(product.regional_names.values_list("name", flat=True))
    else:
        names = [name for values in regional.values() for name in values]
    parts = [product.name, product.brand, *names, product.barcode or ""]
    return " ".join(part for part in parts if part)


def _ensure_barcode_free(barcode: str | None, *, exclude: int | None = None) -> None:
    if barcode is None:
        return
    holder = Product.objects.filter(barcode=barcode).exclude(pk=exclude).first()
    if holder is not None:
        raise Conflict(
            f"barcode {barcode} already belongs to product {holder.pk}",
            code="duplicate_barcode",
            extra={"existing_product_id": holder.pk},
        )


def _write_regional_names(product: Product, regional: dict[str, list[str]]) -> None:
    RegionalName.objects.filter(product=product).delete()
    RegionalName.objects.bulk_create(
        [
            RegionalName(product=product, language=language, name=name)
            for language, names in regional.items()
            for name in names
        ]
    )


def _product_news(kind: str, product: Product, principal: Principal) -> NewEvent:
    topics = [f"user:{principal.user.pk}"]
    if product.status == VerificationStatus.VERIFIED:
        topics.append(f"product:{product.pk}")
    return NewEvent(
        type=f"catalog.product_{kind}",
        payload={"product_id": product.pk, "name": product.name, "status": product.status},
        topics=topics,
    )


def _product_event(kind: str, product: Product, principal: Principal) -> None:
    news = _product_news(kind, product, principal)
    emit(type=news.type, payload=news.payload, topics=news.topics)


@dataclass
class NewProduct:
    """A product checked and ready to insert, with its regional names."""

    product: Product
    regional: dict[str, list[str]]


def prepare_product(
    *,
    principal: Principal,
    name: str,
    brand: str = "",
    category_id: int | None = None,
    barcode: str | None = None,
    net_quantity: Decimal | None = None,
    net_unit: str = "",
    description: str = "",
    attributes: dict[str, Any] | None = None,
    regional_names: dict[str, list[str]] | None = None,
) -> NewProduct:
    """Check a product's fields without writing anything; raises InvalidProduct naming the
    first bad one. The barcode is normalised but not looked up."""
    product = Product(
        name=_clean_name(name),
        brand=(brand or "").strip()[:120],
        category=_clean_category(category_id),
        barcode=_clean_barcode(barcode),
        description=(description or "").strip(),
        attributes=attributes or {},
        created_by=principal.user,
        status=VerificationStatus.VERIFIED if principal.is_admin else VerificationStatus.PENDING,
    )
    product.net_quantity, product.net_unit = _clean_quantity(net_quantity, net_unit)
    regional = clean_regional_names(regional_names)
    product.search_text = build_search_text(product, regional)
    return NewProduct(product=product, regional=regional)


def create_product(
    *,
    principal: Principal,
    name: str,
    brand: str = "",
    category_id: int | None = None,
    barcode: str | None = None,
    net_quantity: Decimal | None = None,
    net_unit: str = "",
    description: str = "",
    attributes: dict[str, Any] | None = None,
    regional_names: dict[str, list[str]] | None = None,
    confirm_new: bool = False,
) -> Product:
    """Create a product: verified when an admin creates it, pending review otherwise.

    Refused with the holder's id when the barcode exists; refused with the candidates when
    the matcher finds a likely duplicate, unless `confirm_new` says it is not one.
    """
    new = prepare_product(
        principal=principal,
        name=name,
        brand=brand,
        category_id=category_id,
        barcode=barcode,
        net_quantity=net_quantity,
        net_unit=net_unit,
        description=description,
        attributes=attributes,
        regional_names=regional_names,
    )
    product, regional = new.product, new.regional
    _ensure_barcode_free(product.barcode)
    if not confirm_new:
        duplicates = likely_duplicates(
            find_candidates(
                principal=principal,
                name=product.name,
                brand=product.brand,
                net_quantity=product.net_quantity,
                net_unit=product.net_unit,
                regional_names=[n for values in regional.values() for n in values],
            )
        )
        if duplicates:
            hidden = product.status == VerificationStatus.PENDING
            raise Conflict(
                "the catalog already has products like this one; add one of them to your "
                "store, or send confirm_new=true if it really is a different product"
                + (
                    " (it then stays pending, hidden from other stores and customers, until "
                    "an admin has reviewed it)"
                    if hidden
                    else ""
                ),
                code="possible_duplicate",
                extra={
                    "candidates": [c.as_dict() for c in duplicates],
                    "status_if_created": product.status,
                },
            )
    try:
        with transaction.atomic():
            product.save()
            _write_regional_names(product, regional)
            refresh_quality_score(product)
            _product_event("created", product, principal)
    except IntegrityError:
        # Two creators raced for one barcode; the loser hears who won.
        _ensure_barcode_free(product.barcode)
        raise
    return product


def create_products(*, principal: Principal, products: list[NewProduct]) -> list[Product]:
    """Insert prepared products together, for bulk imports: one INSERT for the products,
    one for their regional names, one for their events.

    The caller has asked the matcher and checked that the barcodes are free; a barcode
    taken meanwhile raises IntegrityError, and the caller's transaction decides what stays.
    """
    rows = [new.product for new in products]
    for new in products:
        new.product.quality_score = score_new(new.product, has_regional_name=bool(new.regional))
    with transaction.atomic():
        insert_all(rows)
        insert_all(
            [
                RegionalName(product=new.product, language=language, name=name)
                for new in products
                for language, names in new.regional.items()
                for name in names
            ]
        )
        emit_batch([_product_news("created", product, principal) for product in rows])
    return rows


def update_product(*, principal: Principal, product: Product, changes: dict[str, Any]) -> Product:
    """Apply `changes` (a subset of EDITABLE_FIELDS) with the same checks as creation."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise InvalidProduct(f"cannot change {', '.join(sorted(unknown))}", code="invalid_field")
    if "name" in changes:
        product.name = _clean_name(changes["name"])
    if "brand" in changes:
        product.brand = (changes["brand"] or "").strip()[:120]
    if "category_id" in changes:
        product.category = _clean_category(changes["category_id"])
    if "barcode" in changes:
        product.barcode = _clean_barcode(changes["barcode"])
        _ensure_barcode_free(product.barcode, exclude=product.pk)
    if "net_quantity" in changes or "net_unit" in changes:
        product.net_quantity, product.net_unit = _clean_quantity(
            changes.get("net_quantity", product.net_quantity),
            changes.get("net_unit", product.net_unit),
        )
    if "description" in changes:
        product.description = (changes["description"] or "").strip()
    if "attributes" in changes:
        product.attributes = changes["attributes"] or {}
    regional = None
    if "regional_names" in changes:
        regional = clean_regional_names(changes["regional_names"])
    with transaction.atomic():
        if regional is not None:
            _write_regional_names(product, regional)
        product.search_text = build_search_text(product, regional)
        product.save()
        refresh_quality_score(product)
        _product_event("updated", product, principal)
    return product
