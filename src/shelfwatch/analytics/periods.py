"""Whole weeks and months inside a range of days: the pieces a long range is read in.

A range is cut into the calendar months it holds whole, then the Monday-to-Sunday weeks it
holds whole, and the days left at its edges; only weeks and months whose roll-up exists
are used, any other stretch is read day by day. So a year is at most 12 months plus a few
weeks and days, whatever the catalog's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from shelfwatch.analytics.models import Span
from shelfwatch.analytics.ranges import DayRange


@dataclass(frozen=True)
class Piece:
    span: str  # a Span value
    first: date


def bounds(span: str, day: date) -> tuple[date, date]:
    """The first and last day of the week or month (or the day) that holds `day`."""
    if span == Span.WEEK:
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    if span == Span.MONTH:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    return day, day


def cut(days: DayRange, built: Iterable[tuple[str, date]]) -> list[Piece]:
    """The range as its built months, then built weeks between them, then single days, in
    date order (a week is never taken where it would break a built month)."""
    ready = {(str(span), first) for span, first in built}
    pieces: list[Piece] = []
    gap_start = days.first
    day = days.first
    while day <= days.last:
        first, last = bounds(Span.MONTH, day)
        if first == day and last <= days.last and (str(Span.MONTH), first) in ready:
            pieces += _weeks_and_days(gap_start, day - timedelta(days=1), ready)
            pieces.append(Piece(Span.MONTH, first))
            day = gap_start = last + timedelta(days=1)
        else:
            day += timedelta(days=1)
    return pieces + _weeks_and_days(gap_start, days.last, ready)


def _weeks_and_days(start: date, end: date, ready: set[tuple[str, date]]) -> list[Piece]:
    pieces: list[Piece] = []
    day = start
    while day <= end:
        first, last = bounds(Span.WEEK, day)
        if first == day and last <= end and (str(Span.WEEK), first) in ready:
            pieces.append(Piece(Span.WEEK, first))
            day = last + timedelta(days=1)
        else:
            pieces.append(Piece(Span.DAY, day))
            day += timedelta(days=1)
    return pieces
