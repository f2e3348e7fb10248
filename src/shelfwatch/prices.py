"""Reading prices as people and shops write them ("Rs. 1,299", "₹1,299.00", "1.299,00 €").

Pure functions with no Django imports: the watcher's shop adapters and spreadsheet imports
read prices through the same parser, so a price means the same wherever it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from price_parser import Price

# The price column holds 14 digits, 2 after the point: anything larger is not a price.
MAX_PRICE = Decimal("999999999999.99")
_PLAIN_NUMBER = re.compile(r"^\s*\d{1,15}(?:\.\d+)?(?:[eE][+-]?\d{1,4})?\s*$")
_SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")
# "Rs.99": price-parser reads the abbreviation's dot as a decimal point (0.99).
_DOTTED_ABBREVIATION = re.compile(r"\b(Rs|INR|Rp|Kr|Dhs?)\.(?=\s*\d)", re.IGNORECASE)
CURRENCY_SIGNS = {
    "₹": "INR",
    "RS": "INR",
    "RS.": "INR",
    "र": "INR",
    "रु": "INR",
    "€": "EUR",
    "$": "USD",
    "US$": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "R$": "BRL",
    "£": "GBP",
    "ZŁ": "PLN",
    "¥": "JPY",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₱": "PHP",
    "฿": "THB",
    "₫": "VND",
    "₦": "NGN",
    "KČ": "CZK",
    "FT": "HUF",
    "LEI": "RON",
    "RP": "IDR",
    "RM": "MYR",
    "S$": "SGD",
    "HK$": "HKD",
    "AED": "AED",
    "FR.": "CHF",
    "SFR.": "CHF",
    "DH": "AED",
    "DHS": "AED",
}


@dataclass(frozen=True)
class ParsedPrice:
    """A price read from a shop: the amount (None when there is none) and its currency
    as an ISO 4217 code ("" when the text does not say, or says it ambiguously)."""

    amount: Decimal | None
    currency: str = ""


def currency_code(sign: str | None) -> str:
    """The ISO 4217 code of a currency sign or code as shops write it; "" if unknown."""
    text = (sign or "").strip().upper()
    if not text:
        return ""
    if text in CURRENCY_SIGNS:
        return CURRENCY_SIGNS[text]
    if len(text) == 3 and text.isascii() and text.isalpha():
        return text
    return ""


def _bounded(amount: Decimal | None) -> Decimal | None:
    if amount is None or not amount.is_finite() or not Decimal(0) <= amount <= MAX_PRICE:
        return None
    return amount.quantize(Decimal("0.01"))


# A minus right before the amount, or before a sign glued to it ("-5", "-₹5", "Rs. -5"),
# but not a dash between words and the amount ("Price - ₹450") nor a trailing "/-".
_NEGATIVE = re.compile(r"[-\u2212](?:[^\w\s]{1,3}|[A-Za-z]{1,3}\.?)?\s?$")
# "₹1,299 - ₹1,499" (or an en dash), "€10 to €20": a range is two amounts around a dash or "to".
_RANGE = re.compile(r"(?<=\d)\s*(?:[-\u2013\u2014]|\bto\b)\s*(?=\D{0,4}\d)", re.IGNORECASE)


def _parse_text(text: str) -> ParsedPrice:
    if not re.search(r"\d", text):
        return ParsedPrice(None)  # "Free", "Call for price": price-parser would say 0
    if _NEGATIVE.search(re.match(r"\D*", text).group()):
        return ParsedPrice(None)
    text = _DOTTED_ABBREVIATION.sub(lambda m: f"{m.group(1)}. ", text)
    parsed = Price.fromstring(text)
    return ParsedPrice(_bounded(parsed.amount), currency_code(parsed.currency))


def parse_price(value: Any, *, structured: bool = False) -> ParsedPrice:
    """A price from a JSON number or a string as shops write it ("Rs. 1,299", "1.299,00 €",
    "₹1,299.00", "$1,299.99"), read by price-parser; a range gives its lowest amount.

    `structured`: the value comes from machine-readable markup (JSON-LD, microdata, a JSON
    API), where a plain "1.299" has a decimal point, as schema.org prescribes. Text without
    digits, negative or out-of-range amounts give no amount, never zero.
    """
    if value is None or isinstance(value, bool):
        return ParsedPrice(None)
    if isinstance(value, (int, float, Decimal)):
        try:
            return ParsedPrice(_bounded(Decimal(str(value))))
        except InvalidOperation:
            return ParsedPrice(None)
    text = str(value)[:200]
    if (structured or _SCIENTIFIC.search(text)) and _PLAIN_NUMBER.match(text):
        return ParsedPrice(_bounded(Decimal(text.strip())))
    parts = _RANGE.split(text, maxsplit=1)
    if len(parts) == 2:
        ends = [_parse_text(part) for part in parts]
        amounts = [end for end in ends if end.amount is not None]
        if len(amounts) == 2:
            low = min(amounts, key=lambda end: end.amount)
            return ParsedPrice(low.amount, low.currency or ends[0].currency or ends[1].currency)
    return _parse_text(text)


def to_price(value: Any, *, structured: bool = False) -> Decimal | None:
    """The amount of `parse_price(value)`; None when there is none."""
    return parse_price(value, structured=structured).amount
