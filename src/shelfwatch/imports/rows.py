"""One row of an import, read into typed values with messages a shop owner understands.

Prices go through the parser the watcher uses (`shelfwatch.prices`), sizes ("500 g",
"0.5 kg") through the catalog's quantity parser, barcodes through the catalog's GTIN check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from shelfwatch.catalog.barcodes import InvalidBarcode, normalize_barcode
from shelfwatch.catalog.normalize import parse_quantity, to_canonical
from shelfwatch.inventory.models import StockItem
from shelfwatch.prices import parse_price
from shelfwatch.whole_numbers import plain_whole_number

MAX_QUANTITY = 2**31 - 1
_PRICE = StockItem._meta.get_field("selling_price")
# The largest price the price columns hold (12 digits, 2 after the point).
MAX_PRICE = Decimal(10) ** (_PRICE.max_digits - _PRICE.decimal_places) - Decimal("0.01")
_TEXT_LIMITS = {
    "name": 300,
    "brand": 120,
    "category": 120,
    "sku": StockItem._meta.get_field("sku").max_length,
    "supplier": StockItem._meta.get_field("supplier").max_length,
    "location": StockItem._meta.get_field("location").max_length,
}


class RowProblem(ValueError):
    """A row cannot be imported: which column, and why (said for a person)."""

    def __init__(self, message: str, *, column: str = "", code: str = "invalid_value") -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.code = code


@dataclass
class RowData:
    """A row's values, checked; None (or "") where the file says nothing."""

    name: str = ""
    brand: str = ""
    category: str = ""
    barcode: str | None = None
    sku: str = ""
    quantity: int | None = None
    selling_price: Decimal | None = None
    cost_price: Decimal | None = None
    net_quantity: Decimal | None = None
    net_unit: str = ""
    reorder_level: int | None = None
    supplier: str = ""
    location: str = ""

    def details(self) -> dict:
        """The stock item details the row sets (prices, levels, shelf), leaving out blanks."""
        out: dict = {}
        for name in ("selling_price", "cost_price", "reorder_level"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        for name in ("supplier", "location", "sku"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


# The clean cells most files hold: read at once, giving what the general readers give.
_PLAIN_PRICE = re.compile(r"\d{1,9}(?:\.\d{1,2})?")
_CENTS = Decimal("0.01")


def _whole_number(raw: str, column: str, what: str) -> int:
    plain = plain_whole_number(raw, max_digits=9)
    if plain is not None:
        return plain  # under MAX_QUANTITY and not negative: nothing to check
    text = raw.replace(",", "").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowProblem(f"{what} should be a whole number, not {raw!r}", column=column) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise RowProblem(f"{what} should be a whole number, not {raw!r}", column=column)
    if number < 0:
        raise RowProblem(
            f"{what} cannot be negative ({raw})", column=column, code="negative_quantity"
        )
    if number > MAX_QUANTITY:
        raise RowProblem(f"{what} {raw} is too large", column=column)
    return int(number)


# Prices read so far, by their cell's text: a file repeats a few thousand prices over its
# rows, and reading "Rs. 1,299" costs far more than a look-up (a Decimal is immutable, so
# one may be shared). Emptied when full, so it stays small whatever is read.
_PRICES: dict[str, Decimal] = {}
_PRICES_KEPT = 20_000


def _price(raw: str, column: str, what: str) -> Decimal:
    amount = _PRICES.get(raw)
    if amount is None:
        amount = _read_price(raw, column, what)
        if len(_PRICES) >= _PRICES_KEPT:
            _PRICES.clear()
        _PRICES[raw] = amount
    return amount


def _read_price(raw: str, column: str, what: str) -> Decimal:
    if _PLAIN_PRICE.fullmatch(raw):
        return Decimal(raw).quantize(_CENTS)  # as parse_price reads it, and in range
    text = raw.strip()
    if text.startswith(("-", "\u2212")):
        raise RowProblem(f"{what} cannot be negative ({raw})", column=column, code="invalid_price")
    amount = parse_price(text).amount
    if amount is None:
        raise RowProblem(
            f"{what} {raw!r} is not a price such as 1299 or Rs. 1,299",
            column=column,
            code="invalid_price",
        )
    if amount > MAX_PRICE:
        raise RowProblem(f"{what} {raw} is too large", column=column, code="invalid_price")
    return amount


def _size(raw_amount: str, raw_unit: str, columns: dict[str, str]) -> tuple[Decimal, str] | None:
    amount_text, unit_text = raw_amount.strip(), raw_unit.strip()
    if not amount_text:
        return None
    size, problem = _read_size(amount_text, unit_text)
    if problem:
        column = columns.get("net_quantity", "")
        code = "invalid_size"
        if problem == "bad_size":
            column = column or columns.get("unit", "")
            message = f"the size {amount_text} {unit_text} is not a size such as 500 g or 1 l"
        elif problem == "no_unit":
            message = f"the size {amount_text!r} needs a unit, such as 500 g, 1 l or 6 pcs"
        else:
            message, code = f"the size {amount_text!r} is out of range", "invalid_value"
        raise RowProblem(message, column=column, code=code)
    return size


# A stock export repeats a few dozen pack sizes over thousands of rows: each text is read
# once. Bounded, so a file of all-different sizes cannot grow it.
@lru_cache(maxsize=4096)
def _read_size(amount_text: str, unit_text: str) -> tuple[tuple[Decimal, str] | None, str]:
    """The size as (amount, canonical unit), or None and what is wrong with it."""
    if unit_text:
        try:
            quantity = to_canonical(Decimal(amount_text.replace(",", "")), unit_text)
        except (InvalidOperation, ValueError):
            return None, "bad_size"
    else:
        quantity = parse_quantity(amount_text)
        if quantity is None:
            return None, "no_unit"
    if quantity.amount <= 0 or quantity.amount >= Decimal("1e9"):
        return None, "out_of_range"
    return (quantity.amount.quantize(Decimal("0.001")), quantity.unit), ""


def read_row(cells: list[str], header: list[str], mapping: dict[str, str]) -> RowData:
    """The row's values by field; RowProblem naming the first bad column."""
    if len(cells) != len(header):
        raise RowProblem(
            f"this line has {len(cells)} values but the header has {len(header)} columns; "
            "check for a missing or extra delimiter",
            code="ragged_row",
        )
    values: dict[str, str] = {}
    columns: dict[str, str] = {}
    for column, cell in zip(header, cells, strict=True):
        field = mapping.get(column)
        if field:
            values[field] = cell.strip()
            columns[field] = column
    data = RowData()
    for field, limit in _TEXT_LIMITS.items():
        text = values.get(field, "")
        if len(text) > limit:
            raise RowProblem(
                f"{field.replace('_', ' ')} has more than {limit} characters",
                column=columns[field],
                code="too_long",
            )
        setattr(data, field, text)
    if values.get("barcode"):
        try:
            data.barcode = normalize_barcode(values["barcode"])
        except InvalidBarcode as exc:
            raise RowProblem(
                f"the barcode {values['barcode']!r} is not valid: {exc}",
                column=columns["barcode"],
                code="invalid_barcode",
            ) from None
    if values.get("quantity"):
        data.quantity = _whole_number(values["quantity"], columns["quantity"], "the quantity")
    if values.get("reorder_level"):
        data.reorder_level = _whole_number(
            values["reorder_level"], columns["reorder_level"], "the reorder level"
        )
    for field, what in (("selling_price", "the price"), ("cost_price", "the cost price")):
        if values.get(field):
            setattr(data, field, _price(values[field], columns[field], what))
    size = _size(values.get("net_quantity", ""), values.get("unit", ""), columns)
    if size is not None:
        data.net_quantity, data.net_unit = size
    if not (data.name or data.barcode or data.sku):
        raise RowProblem(
            "the row has no product name, barcode or SKU", code="no_product", column=""
        )
    return data
