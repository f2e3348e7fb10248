"""When an item tends to come back: its out-of-stock episodes and, from three complete ones
on, the typical time out and the weekday and part of day most comebacks fall on.

The functions here are pure over a list of (time, available) states, oldest first; the
selector at the bottom reads those states of one item. Fewer than three complete episodes
make no claim at all: a pattern from one or two restocks would mislead shoppers.
"""

from __future__ import annotations

import statistics
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from django.conf import settings
from django.utils import timezone, translation
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shelfwatch.watch.changes import restock_min_out
from shelfwatch.watch.models import WatchedItem

MIN_EPISODES = 3
CLEAR_SHARE = 0.5  # a weekday and part of day named only with at least this share of comebacks
PATTERN_WINDOW = timedelta(days=365)
PATTERN_ROWS = 5000  # the newest states read for a pattern; years of hourly flapping at most
LANGUAGES = ("en", "hi")

State = tuple[datetime, bool | None]


@dataclass(frozen=True)
class Episode:
    """One spell out of stock; `came_back` is None while it lasts."""

    went_out: datetime
    came_back: datetime | None

    @property
    def duration(self) -> timedelta | None:
        return None if self.came_back is None else self.came_back - self.went_out


@dataclass(frozen=True)
class RestockPattern:
    """What complete episodes show: how many, the median time out, and, when clear, the
    weekday (0 = Monday) and part of day of the comebacks."""

    restocks: int
    typical_out: timedelta
    weekday: int | None = None
    part_of_day: str | None = None


def out_of_stock_episodes(
    states: Iterable[State], *, min_out: timedelta = timedelta(0)
) -> list[Episode]:
    """The spells out of stock in `states` (oldest first). An item first seen out of stock
    starts no episode (when it went out is unknown); unknown availability changes nothing;
    a spell shorter than `min_out` is a blip, not an episode."""
    episodes: list[Episode] = []
    available: bool | None = None
    went_out: datetime | None = None
    for at, now_available in states:
        if now_available is None or now_available == available:
            continue
        if now_available is False and available is True:
            went_out = at
        elif now_available is True and went_out is not None:
            if at - went_out >= min_out:
                episodes.append(Episode(went_out, at))
            went_out = None
        available = now_available
    if went_out is not None:
        episodes.append(Episode(went_out, None))
    return episodes


def part_of_day(hour: int) -> str:
    """morning 5-12, afternoon 12-17, evening 17-21, night 21-5 (local hours)."""
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 21:
        return "evening"
    return "night"


def restock_pattern(
    episodes: Sequence[Episode],
    *,
    tz: tzinfo,
    min_episodes: int = MIN_EPISODES,
    clear_share: float = CLEAR_SHARE,
) -> RestockPattern | None:
    """The pattern of the complete `episodes`, or None with fewer than `min_episodes`."""
    complete = [e for e in episodes if e.came_back is not None]
    if len(complete) < min_episodes:
        return None
    typical = timedelta(seconds=statistics.median(e.duration.total_seconds() for e in complete))
    slots = Counter(
        (local.weekday(), part_of_day(local.hour))
        for local in (e.came_back.astimezone(tz) for e in complete)
    )
    (weekday, part), count = slots.most_common(1)[0]
    if count >= 2 and count / len(complete) >= clear_share:
        return RestockPattern(len(complete), typical, weekday, part)
    return RestockPattern(len(complete), typical)


def rounded_time(duration: timedelta) -> tuple[int, str]:
    """`duration` as (n, "hours") under two days, else (n, "days"), halves rounded up;
    never below 1."""
    hours = duration.total_seconds() / 3600
    if hours < 47.5:
        return max(1, int(hours + 0.5)), "hours"
    return max(1, int(hours / 24 + 0.5)), "days"


def _time_words(duration: timedelta) -> str:
    n, unit = rounded_time(duration)
    if unit == "hours":
        return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}
    return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}


def _when_words(weekday: int, part: str) -> str:
    day = str(WEEKDAYS[weekday])
    phrases = {
        "morning": _("%(weekday)s mornings"),
        "afternoon": _("%(weekday)s afternoons"),
        "evening": _("%(weekday)s evenings"),
        "night": _("%(weekday)s nights"),
    }
    return phrases[part] % {"weekday": day}


def describe(pattern: RestockPattern | None) -> str:
    """The pattern in one sentence in the active language; "" for no pattern."""
    if pattern is None:
        return ""
    values = {"time": _time_words(pattern.typical_out), "count": pattern.restocks}
    if pattern.weekday is None or pattern.part_of_day is None:
        return (
            ngettext(
                "Usually back within %(time)s (%(count)d restock seen).",
                "Usually back within %(time)s (%(count)d restocks seen).",
                pattern.restocks,
            )
            % values
        )
    values["when"] = _when_words(pattern.weekday, pattern.part_of_day)
    return (
        ngettext(
            "Usually back within %(time)s (%(count)d restock seen), most often on %(when)s.",
            "Usually back within %(time)s (%(count)d restocks seen), most often on %(when)s.",
            pattern.restocks,
        )
        % values
    )


def describe_in_languages(pattern: RestockPattern | None) -> dict[str, str]:
    """The sentence in every alert language, for contexts captured once for everyone."""
    if pattern is None:
        return {}
    sentences = {}
    for language in LANGUAGES:
        with translation.override(language):
            sentences[language] = describe(pattern)
    return sentences


# Selector -------------------------------------------------------------------------------


def item_time_zone(item: WatchedItem) -> tzinfo:
    """The time zone of the item's store (internal sources), of the source's `timezone`
    setting when valid, else the site's TIME_ZONE."""
    source = item.source
    names = []
    if source.store_id:
        names.append(source.store.timezone)
    names.append(str((source.settings or {}).get("timezone") or ""))
    for name in names:
        if name:
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def item_states(item: WatchedItem, *, since: datetime) -> list[State]:
    """The item's (time, available) states since `since`, oldest first; one query."""
    rows = (
        item.observations.filter(observed_at__gte=since)
        .order_by("-observed_at", "-id")
        .values_list("observed_at", "available")[:PATTERN_ROWS]
    )
    return list(reversed(rows))


def item_restock_pattern(
    item: WatchedItem, *, now: datetime | None = None
) -> RestockPattern | None:
    """The restock pattern of the item over the last year, or None."""
    now = now or timezone.now()
    states = item_states(item, since=now - PATTERN_WINDOW)
    episodes = out_of_stock_episodes(states, min_out=restock_min_out())
    return restock_pattern(episodes, tz=item_time_zone(item))
