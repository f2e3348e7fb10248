"""Which column holds what: the fields an import reads and the header names people use.

Headers are compared case- and space-insensitively ("Product Name", "product_name" and
"PRODUCT  NAME" are one); the uploader may override the guess column by column.
"""

from __future__ import annotations

import re

from shelfwatch.errors import Invalid

FIELDS = (
    "name",
    "quantity",
    "selling_price",
    "barcode",
    "sku",
    "brand",
    "category",
    "unit",
    "net_quantity",
    "cost_price",
    "reorder_level",
    "supplier",
    "location",
)
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "product name", "item", "item name", "product", "description"),
    "quantity": ("qty", "quantity", "stock", "closing stock", "stock qty", "on hand"),
    "selling_price": ("mrp", "price", "selling price", "rate", "sale price", "sp"),
    "barcode": ("barcode", "ean", "gtin", "upc", "ean13", "ean 13", "bar code"),
    "sku": ("sku", "item code", "sku code", "product code", "code"),
    "brand": ("brand", "brand name", "make"),
    "category": ("category", "category name", "group", "department"),
    "unit": ("unit", "uom", "units"),
    "net_quantity": ("net quantity", "net qty", "net weight", "size", "pack size", "weight"),
    "cost_price": ("cost price", "cost", "purchase price", "cp"),
    "reorder_level": ("reorder level", "reorder", "reorder point", "min stock", "minimum stock"),
    "supplier": ("supplier", "vendor", "supplier name"),
    "location": ("location", "shelf", "rack", "bin"),
}
_BY_ALIAS = {alias: field for field, aliases in ALIASES.items() for alias in aliases}
_SEPARATORS = re.compile(r"[\s_\-.]+")


class InvalidMapping(Invalid):
    code = "invalid_mapping"


def header_key(header: str) -> str:
    """The form headers are compared in: casefolded, separators as single spaces."""
    return _SEPARATORS.sub(" ", header.replace("\ufeff", "")).strip().casefold()


def guess_mapping(header: list[str]) -> dict[str, str]:
    """{column header: field} for the headers that name a known field (the first column
    naming a field wins)."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in header:
        field = _BY_ALIAS.get(header_key(column))
        if field and field not in taken and column not in mapping:
            mapping[column] = field
            taken.add(field)
    return mapping


def apply_overrides(
    header: list[str], guessed: dict[str, str], overrides: dict[str, str] | None
) -> dict[str, str]:
    """The mapping with the uploader's `overrides` ({column: field, or "" to ignore it});
    a column is named as in the header or in its compared form."""
    mapping = dict(guessed)
    by_key = {header_key(column): column for column in header}
    for raw_column, raw_field in (overrides or {}).items():
        column = raw_column if raw_column in header else by_key.get(header_key(raw_column))
        if column is None:
            raise InvalidMapping(
                f"the file has no column {raw_column!r}; its columns are {', '.join(header)}",
                code="unknown_column",
            )
        field = (raw_field or "").strip()
        if field and field not in FIELDS:
            field = _BY_ALIAS.get(header_key(field), field)
        if field and field not in FIELDS:
            raise InvalidMapping(
                f"{raw_field!r} is not a field; use one of {', '.join(FIELDS)}",
                code="unknown_field",
            )
        # A field comes from one column: naming it moves it here.
        mapping = {c: f for c, f in mapping.items() if f != field and c != column}
        if field:
            mapping[column] = field
    return mapping


def check_mapping(mapping: dict[str, str]) -> None:
    """Refuse a mapping that cannot identify any product."""
    fields = set(mapping.values())
    if not fields & {"name", "barcode", "sku"}:
        raise InvalidMapping(
            "no column names the products: map one to name, barcode or sku",
            code="no_identifying_column",
        )
