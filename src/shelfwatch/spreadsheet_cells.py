"""Cells of the CSV files we hand out, made safe to open in a spreadsheet program.

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-`, `@` (or a
tab or carriage return before one) as a formula, which can fetch URLs or run commands
(CSV injection). Text other people typed, such as product names, search words or the
cells of an uploaded file, gets a leading apostrophe; plain numbers such as `-5` stay as
they are, so a file fixed and uploaded again still reads them as numbers.
"""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d,]*(\.\d+)?")


def inert_cell(value: object) -> object:
    """`value`, with a leading apostrophe when a spreadsheet would run it as a formula."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value
