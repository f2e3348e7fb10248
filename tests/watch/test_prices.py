"""Price strings as real shops write them: the amount as a Decimal and the ISO currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shelfwatch.watch.adapters.base import ParsedPrice, currency_code, parse_price, to_price

D = Decimal

# (what the shop wrote, the amount, the currency); None: no price at all, never zero.
VISIBLE = [
    ("Rs. 1,299", D("1299.00"), "INR"),
    ("₹1,299.00", D("1299.00"), "INR"),
    ("INR 1,299", D("1299.00"), "INR"),
    ("Rs.99", D("99.00"), "INR"),  # not 0.99: the abbreviation's dot is no decimal point
    ("Rs.1,299.00", D("1299.00"), "INR"),
    ("Rs 99/-", D("99.00"), "INR"),
    ("Rs. 99.00/-", D("99.00"), "INR"),  # "/-": Indian "and no paise", not a minus
    ("₹ 1,29,999", D("129999.00"), "INR"),  # lakh grouping
    ("₹1,29,999.50", D("129999.50"), "INR"),
    ("Price: Rs 1,29,999.00", D("129999.00"), "INR"),
    ("MRP: ₹450.00 Inclusive of all taxes", D("450.00"), "INR"),
    ("₹१,२९९", D("1299.00"), "INR"),  # Devanagari digits
    ("१२९९.५०", D("1299.50"), ""),
    ("₹1,299.00 \u2013 ₹1,499.00", D("1299.00"), "INR"),  # a range: its lowest amount
    ("₹1,499.00 \u2013 ₹1,299.00", D("1299.00"), "INR"),
    ("€10 to €20", D("10.00"), "EUR"),
    ("1299-1499", D("1299.00"), ""),
    ("1.299,00 €", D("1299.00"), "EUR"),
    ("€1.299", D("1299.00"), "EUR"),  # visible text: the dot groups thousands
    ("€ 12,50", D("12.50"), "EUR"),
    ("1.299,00 EUR", D("1299.00"), "EUR"),
    ("$1,299.99", D("1299.99"), "USD"),
    ("US$ 12.00", D("12.00"), "USD"),
    ("12.99 $", D("12.99"), "USD"),
    ("£3.50", D("3.50"), "GBP"),
    ("1 299,50 zł", D("1299.50"), "PLN"),
    ("CHF 1'299.00", D("1299.00"), "CHF"),
    ("Fr. 12.50", D("12.50"), "CHF"),
    ("R$ 1.299,90", D("1299.90"), "BRL"),
    ("¥1,299", D("1299.00"), "JPY"),
    # "kr" is the Swedish, Norwegian, Danish and Icelandic crown alike: no currency claimed.
    ("12.345,67 kr", D("12345.67"), ""),
    ("1299", D("1299.00"), ""),
    ("1,299", D("1299.00"), ""),
    ('"1299.00"', D("1299.00"), ""),  # a number inside a JSON string, quotes and all
    ("₹0", D("0.00"), "INR"),  # a stated zero is a price
    ("Call for price", None, ""),
    ("Free", None, ""),  # price-parser reads it as 0: a page without digits states no price
    ("-5", None, ""),
    ("-₹5.00", None, ""),
    ("Rs. -5", None, ""),
    ("1e30", None, ""),
    ("99999999999999", None, ""),  # more than the 14-digit price column holds
]


@pytest.mark.parametrize(("text", "amount", "currency"), VISIBLE)
def test_visible_price_strings(text: str, amount: Decimal | None, currency: str) -> None:
    parsed = parse_price(text)
    assert parsed.amount == amount
    assert parsed.currency == currency
    if amount is not None:
        assert parsed.amount.as_tuple().exponent == -2  # always to the cent


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        (1299, D("1299.00")),
        (12.5, D("12.50")),
        (D("1299.005"), D("1299.00")),
        (0, D("0.00")),
        (-5, None),
        (1e30, None),
        (float("nan"), None),
        (float("inf"), None),
        (True, None),  # a JSON boolean is no price
        (None, None),
    ],
)
def test_json_numbers(value: object, amount: Decimal | None) -> None:
    assert parse_price(value) == ParsedPrice(amount)
    assert to_price(value) == amount


@pytest.mark.parametrize(
    ("text", "structured", "amount"),
    [
        # schema.org: "Use '.' to indicate a decimal point"; so in markup "1.299" is 1.299.
        ("1.299", True, D("1.30")),
        ("1.299", False, D("1299.00")),
        ("12.345", True, D("12.34")),
        ("1299.00", True, D("1299.00")),
        ("1299", True, D("1299.00")),
        (" 450.5 ", True, D("450.50")),
        ("1E3", True, D("1000.00")),
        ("1e30", True, None),
        # Markup that is not a plain number is still read as shops write it.
        ("1,299.00", True, D("1299.00")),
        ("1.299,00", True, D("1299.00")),
        ("Rs. 1,299", True, D("1299.00")),
        ("-1299", True, None),
    ],
)
def test_structured_values(text: str, structured: bool, amount: Decimal | None) -> None:
    assert parse_price(text, structured=structured).amount == amount


@pytest.mark.parametrize(
    ("sign", "code"),
    [
        ("₹", "INR"),
        ("Rs.", "INR"),
        ("rs", "INR"),
        ("inr", "INR"),
        ("€", "EUR"),
        ("zł", "PLN"),
        ("R$", "BRL"),
        ("CHF", "CHF"),
        ("kr", ""),
        ("", ""),
        (None, ""),
        ("dollars", ""),
    ],
)
def test_currency_codes(sign: str | None, code: str) -> None:
    assert currency_code(sign) == code
