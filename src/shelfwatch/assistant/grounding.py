"""Every figure an answer states must come from the conversation's tool results.

A figure is a date or a number (a price, a quantity, an order number, points). Both sides
are normalised before they are compared: "₹1,299.00", "1299" and "१२९९" are all 1299;
"2026-12-06", "06/12/2026", "6 Dec 2026" and "December 6, 2026" are one date (a
day/month order that is ambiguous passes if either reading matches). A date's parts also
count as numbers, so "placed on the 6th" is grounded by 2026-12-06.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = [
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4}|\d{2})\b"),
    re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<y>\d{4})\b", re.I),
    re.compile(r"\b" + _MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})\b", re.I),
]
# Digits with thousands separators (Western or Indian grouping) and decimals.
_NUMBER = re.compile(r"(?<![\w.])\d(?:[\d,]*\d)?(?:\.\d+)?")


@dataclass
class Figures:
    numbers: set[Decimal] = field(default_factory=set)
    dates: set[date] = field(default_factory=set)


def _decimal(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", "")).normalize()
    except InvalidOperation:
        return None


def _year(raw: str) -> int:
    value = int(raw)
    return value + 2000 if value < 100 else value


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _dates(text: str) -> tuple[list[list[date]], str]:
    """Each date found (its possible readings) and the text with the dates blanked out."""
    found: list[list[date]] = []

    def take(match: re.Match) -> str:
        parts = match.groupdict()
        year = _year(parts["y"])
        readings: list[date | None]
        if parts.get("a") is not None:
            a, b = int(parts["a"]), int(parts["b"])
            readings = [_safe_date(year, b, a), _safe_date(year, a, b)]
        else:
            month = _MONTHS[parts["mon"].lower()] if parts.get("mon") else int(parts["m"])
            readings = [_safe_date(year, month, int(parts["d"]))]
        kept = [reading for reading in readings if reading is not None]
        if not kept:
            return match.group(0)  # not a date after all: its digits stay numbers
        found.append(kept)
        return " "

    for pattern in _DATE_PATTERNS:
        text = pattern.sub(take, text)
    return found, text


def figures_in(text: str) -> tuple[list[list[date]], list[Decimal]]:
    """The dates (each as its possible readings) and the numbers stated in `text`."""
    text = text.translate(_DEVANAGARI_DIGITS)
    dates, rest = _dates(text)
    numbers = [n for n in (_decimal(raw) for raw in _NUMBER.findall(rest)) if n is not None]
    return dates, numbers


def _leaves(data: Any) -> Iterable[Any]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _leaves(value)
    elif isinstance(data, list | tuple):
        for value in data:
            yield from _leaves(value)
    else:
        yield data


def known_figures(results: Iterable[Any]) -> Figures:
    """Every number and date the tool results hold (in values, strings and text alike)."""
    known = Figures()
    for result in results:
        for leaf in _leaves(result):
            if isinstance(leaf, bool) or leaf is None:
                continue
            if isinstance(leaf, int | float | Decimal):
                known.numbers.add(Decimal(str(leaf)).normalize())
                continue
            dates, numbers = figures_in(str(leaf))
            known.numbers.update(numbers)
            for readings in dates:
                for reading in readings:
                    known.dates.add(reading)
                    known.numbers.update(
                        Decimal(part) for part in (reading.year, reading.month, reading.day)
                    )
    return known


def ungrounded(text: str, known: Figures) -> list[str]:
    """The figures of `text` that the tool results do not hold (empty: the text is grounded)."""
    dates, numbers = figures_in(text)
    missing = [
        readings[0].isoformat()
        for readings in dates
        if not any(reading in known.dates for reading in readings)
    ]
    missing += [f"{number:f}" for number in numbers if number not in known.numbers]
    return missing
