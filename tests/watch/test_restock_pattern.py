"""Restock patterns: episodes from (time, available) states, and what may be claimed."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

from django.utils import translation

from shelfwatch.watch.restock_pattern import (
    Episode,
    describe,
    describe_in_languages,
    out_of_stock_episodes,
    part_of_day,
    restock_pattern,
    rounded_time,
)

IST = zoneinfo.ZoneInfo("Asia/Kolkata")


def at(day: int, hour: int = 12, tz=IST) -> datetime:
    """A time in December 2026 (1 December is a Tuesday)."""
    return datetime(2026, 12, day, hour, 0, tzinfo=tz)


def cycles(outs_and_backs: list[tuple[datetime, datetime]]) -> list[tuple[datetime, bool]]:
    states = [(outs_and_backs[0][0] - timedelta(days=1), True)]
    for out, back in outs_and_backs:
        states += [(out, False), (back, True)]
    return states


def test_an_item_going_out_and_back_makes_one_complete_episode():
    states = [(at(1), True), (at(2), False), (at(4), True)]
    assert out_of_stock_episodes(states) == [Episode(at(2), at(4))]


def test_an_item_first_seen_out_of_stock_starts_no_episode():
    states = [(at(1), False), (at(3), True), (at(5), False)]
    assert out_of_stock_episodes(states) == [Episode(at(5), None)]


def test_unknown_availability_and_repeated_states_change_nothing():
    states = [(at(1), True), (at(2), None), (at(3), False), (at(4), False), (at(5), True)]
    assert out_of_stock_episodes(states) == [Episode(at(3), at(5))]


def test_a_blip_shorter_than_the_minimum_is_no_episode():
    states = [(at(1), True), (at(2, 10), False), (at(2, 11), True)]
    assert out_of_stock_episodes(states, min_out=timedelta(hours=2)) == []
    assert len(out_of_stock_episodes(states, min_out=timedelta(minutes=15))) == 1


def test_fewer_than_three_restocks_make_no_claim():
    episodes = out_of_stock_episodes(cycles([(at(1), at(3)), (at(8), at(10))]))
    assert restock_pattern(episodes, tz=IST) is None
    assert describe(None) == ""
    assert describe_in_languages(None) == {}


def test_a_running_episode_is_not_counted_as_a_restock():
    episodes = out_of_stock_episodes(cycles([(at(1), at(3)), (at(8), at(10))]))
    episodes.append(Episode(at(20), None))
    assert restock_pattern(episodes, tz=IST) is None


def test_comebacks_on_tuesday_mornings_are_named_with_the_typical_time():
    # 1, 8, 15, 22 December 2026 are Tuesdays; back at 9:00 in Kolkata each time.
    backs = [at(1, 9), at(8, 9), at(15, 9), at(22, 9)]
    outs = [back - timedelta(days=days) for back, days in zip(backs, (2, 3, 3, 4), strict=True)]
    pattern = restock_pattern(
        out_of_stock_episodes(cycles(list(zip(outs, backs, strict=True)))), tz=IST
    )
    assert pattern is not None
    assert (pattern.restocks, pattern.weekday, pattern.part_of_day) == (4, 1, "morning")
    assert pattern.typical_out == timedelta(days=3)
    with translation.override("en"):
        assert describe(pattern) == (
            "Usually back within 3 days (4 restocks seen), most often on Tuesday mornings."
        )


def test_the_weekday_and_part_of_day_are_read_in_the_shops_time_zone():
    # 02:00 UTC on a Tuesday is 07:30 on Tuesday in Kolkata, but Monday evening in New York.
    backs = [datetime(2026, 12, d, 2, 0, tzinfo=UTC) for d in (1, 8, 15)]
    episodes = [Episode(back - timedelta(hours=5), back) for back in backs]
    in_india = restock_pattern(episodes, tz=IST)
    in_new_york = restock_pattern(episodes, tz=zoneinfo.ZoneInfo("America/New_York"))
    assert (in_india.weekday, in_india.part_of_day) == (1, "morning")
    assert (in_new_york.weekday, in_new_york.part_of_day) == (0, "night")


def test_comebacks_spread_over_the_week_give_only_the_typical_time():
    backs = [at(1, 9), at(3, 15), at(5, 19), at(10, 23), at(12, 10)]
    episodes = [Episode(back - timedelta(hours=6), back) for back in backs]
    pattern = restock_pattern(episodes, tz=IST)
    assert pattern.weekday is None and pattern.part_of_day is None
    with translation.override("en"):
        assert describe(pattern) == "Usually back within 6 hours (5 restocks seen)."


def test_the_sentence_is_made_in_each_alert_language_with_localised_weekdays():
    backs = [at(1, 9), at(8, 9), at(15, 9)]
    pattern = restock_pattern([Episode(b - timedelta(days=2), b) for b in backs], tz=IST)
    sentences = describe_in_languages(pattern)
    assert set(sentences) == {"en", "hi"}
    assert "Tuesday" in sentences["en"]
    assert "मंगलवार" in sentences["hi"] and "Tuesday" not in sentences["hi"]


def test_parts_of_the_day_and_rounding():
    assert [part_of_day(h) for h in (4, 5, 11, 12, 16, 17, 20, 21)] == [
        "night",
        "morning",
        "morning",
        "afternoon",
        "afternoon",
        "evening",
        "evening",
        "night",
    ]
    assert rounded_time(timedelta(minutes=20)) == (1, "hours")
    assert rounded_time(timedelta(hours=30)) == (30, "hours")
    assert rounded_time(timedelta(hours=60)) == (3, "days")
