"""Reading a plain whole number out of text that came from outside (a query string, a form
field, a header, a spreadsheet cell).

str.isdigit alone is not enough: it passes "²" and "٣" (Arabic-Indic three), which int()
refuses or reads as a digit nobody typed, so a bare isdigit check turns a stray character
into a 500. And int() of a very long digit string is slow or refused outright, so every
caller names how many digits its column or setting can hold.
"""

from __future__ import annotations


def plain_whole_number(text: str, *, max_digits: int) -> int | None:
    """`text` as a non-negative int when it is only ASCII digits, 1 to `max_digits` of them;
    None otherwise. No sign, no spaces, no separators: callers strip first if they allow
    surrounding whitespace. Leading zeros are fine ("007" is 7)."""
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
