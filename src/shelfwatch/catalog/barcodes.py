"""GTIN barcodes (EAN-8, UPC-A, EAN-13, GTIN-14): check digits and the stored form.

Every length is a GTIN padded with leading zeros, so one code has one stored form: 13
digits whenever it fits (EAN-8, UPC-A and EAN-13 alike), 14 for a GTIN-14 whose indicator
digit is not zero. Lookups normalise the same way, so a UPC-A scanned as 12 digits finds
the product stored from its EAN-13 spelling.
"""

from __future__ import annotations

import re

GTIN_LENGTHS = (8, 12, 13, 14)
_SEPARATORS = re.compile(r"[\s-]")


class InvalidBarcode(ValueError):
    """Not a GTIN: wrong length, not digits, or a wrong check digit."""


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for `body` (the code without its last digit)."""
    # Weights alternate 3, 1, ... starting from the digit next to the check digit.
    total = 3 * sum(map(int, body[::-2])) + sum(map(int, body[-2::-2]))
    return (10 - total % 10) % 10


def normalize_barcode(raw: str) -> str:
    """The stored form of a GTIN given in any of its lengths; raises InvalidBarcode."""
    # Most codes come as plain digits: the separators need looking for only otherwise.
    code = raw if raw and raw.isdigit() else _SEPARATORS.sub("", raw or "")
    if not code.isascii() or not code.isdigit():
        raise InvalidBarcode("a barcode has only digits")
    if len(code) not in GTIN_LENGTHS:
        raise InvalidBarcode(f"a barcode has 8, 12, 13 or 14 digits, not {len(code)}")
    if check_digit(code[:-1]) != int(code[-1]):
        raise InvalidBarcode(f"check digit of {code} should be {check_digit(code[:-1])}")
    padded = code.zfill(14)
    return padded[1:] if padded[0] == "0" else padded


def is_valid_barcode(raw: str) -> bool:
    """True if `normalize_barcode` accepts `raw`; never raises."""
    try:
        normalize_barcode(raw)
    except InvalidBarcode:
        return False
    return True


def barcode_prefixes(digits: str) -> list[str]:
    """Stored-form prefixes that a typed run of digits may begin (for prefix search):
    as typed, and with the zero that padding a UPC-A to 13 digits adds."""
    if not digits.isascii() or not digits.isdigit():
        return []
    return [digits, "0" + digits] if len(digits) < 13 else [digits]
