"""Ranges read in whole months and weeks (`ProductSpan`) plus their edge days give exactly
what summing every day gives, for any range, at one store or every store, whether the kept
lists prove the ranking or everything is summed."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from shelfwatch.analytics import leaders, periods, selectors
from shelfwatch.analytics.models import ProductDay, ProductSpan, Span
from shelfwatch.analytics.ranges import DayRange
from shelfwatch.analytics.spans import rebuild_spans
from shelfwatch.catalog.models import Product
from shelfwatch.fast_insert import insert_all
from tests.analytics.test_leaders import brute_force

pytestmark = pytest.mark.django_db

FIRST = date(2026, 1, 26)  # a Monday, a week before February
LENGTH = 80  # into mid-April: whole months, weeks across month ends, loose days


def roll(day: date) -> None:
    """What the daily roll-up does after writing a day's ProductDay rows."""
    leaders.keep_leaders(day=day)
    rebuild_spans(day=day, final=True)


def fill(products, stores, *, seed: int, skew: bool) -> random.Random:
    rng = random.Random(seed)
    for offset in range(LENGTH):
        day = FIRST + timedelta(days=offset)
        rows = []
        for store in [*stores, None]:
            favourites = rng.sample(products, 5)
            for product_id in rng.sample(products, rng.randint(10, len(products))):
                views = rng.randint(0, 4)
                if skew and product_id in favourites:
                    views += rng.randint(50, 90)
                rows.append(
                    ProductDay(
                        store=store,
                        product_id=product_id,
                        day=day,
                        views=views,
                        bot_views=rng.randint(0, 3),
                        visitors=rng.randint(0, views) if views else 0,
                    )
                )
        ProductDay.objects.bulk_create(rows)
        roll(day)
    return rng


@pytest.fixture
def catalog():
    products = [Product(name=f"Product {n}", status="verified") for n in range(40)]
    insert_all(products)
    return [p.pk for p in products]


def random_ranges(rng: random.Random, count: int) -> list[DayRange]:
    ranges = [DayRange(first=FIRST, last=FIRST + timedelta(days=LENGTH - 1))]
    for _ in range(count):
        start = FIRST + timedelta(days=rng.randint(-3, LENGTH - 1))
        ranges.append(DayRange(first=start, last=start + timedelta(days=rng.randint(0, 70))))
    return ranges


@pytest.mark.parametrize("skew", [True, False], ids=["skewed", "flat"])
def test_top_products_over_any_range_equal_summing_every_day(
    monkeypatch, catalog, store_a, store_b, skew
):
    monkeypatch.setattr(leaders, "KEEP", 6)
    monkeypatch.setattr(leaders, "KEEP_SPAN", 12)
    rng = fill(catalog, [store_a, store_b], seed=11 if skew else 12, skew=skew)
    assert ProductSpan.objects.filter(span=Span.MONTH).exists()
    proved = 0
    for days in random_ranges(rng, 25):
        for store in (store_a, None):
            expected = brute_force(store, days)
            for limit in (1, 5, 50):
                rows, by_lists = leaders.top(store=store, days=days, limit=limit)
                assert rows == expected[:limit], (days, store, limit)
                proved += by_lists
            shown = selectors.top_products(store=store, days=days, limit=5)
            assert [r["product_id"] for r in shown] == [r["product_id"] for r in expected[:5]]
    if skew:
        assert proved  # the kept lists did the work at least some of the time


def test_a_day_rolled_up_again_after_its_month_was_built_changes_the_month(
    catalog, store_a, store_b
):
    fill(catalog, [store_a], seed=3, skew=True)
    february = DayRange(first=date(2026, 2, 1), last=date(2026, 2, 28))
    assert [p.span for p in leaders.pieces_of(february)] == [Span.MONTH]
    day = date(2026, 2, 10)
    row = ProductDay.objects.filter(day=day, store=store_a).first()
    ProductDay.objects.filter(pk=row.pk).update(views=row.views + 1000)
    ProductDay.objects.create(store=store_b, product_id=row.product_id, day=day, views=7)
    roll(day)
    for store in (store_a, store_b, None):
        assert (
            leaders.top(store=store, days=february, limit=3)[0] == brute_force(store, february)[:3]
        )
    assert leaders.top(store=store_a, days=february, limit=1)[0][0]["product_id"] == row.product_id


def test_a_span_is_not_built_before_its_last_day_is_final(catalog, store_a):
    from datetime import UTC, datetime

    from shelfwatch.analytics.rollup import roll_up_day

    day = date(2026, 3, 31)  # a Tuesday, the last day of March
    ProductDay.objects.create(store=store_a, product_id=catalog[0], day=day, views=3)
    assert rebuild_spans(day=day, final=False) == {}
    # The roll-up of the day while it is still going builds nothing.
    assert roll_up_day(day=day, now=datetime(2026, 3, 31, 20, tzinfo=UTC))["product_months"] == 0
    ProductDay.objects.create(store=store_a, product_id=catalog[0], day=day, views=3)
    assert rebuild_spans(day=day, final=True) == {"month": 1}
    march = DayRange(first=date(2026, 3, 1), last=day)
    assert [p.span for p in leaders.pieces_of(march)] == [Span.MONTH]


def test_ranges_are_cut_into_whole_months_weeks_and_days_covering_each_day_once() -> None:
    rng = random.Random(5)
    built = []
    for offset in range(-40, 500):
        day = date(2026, 1, 1) + timedelta(days=offset)
        built += [(Span.WEEK, day), (Span.MONTH, day)]  # only real starts are ever used
    for _ in range(300):
        start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
        days = DayRange(first=start, last=start + timedelta(days=rng.randint(0, 120)))
        covered = []
        for piece in periods.cut(days, built):
            first, last = periods.bounds(piece.span, piece.first)
            assert first == piece.first
            covered += DayRange(first=first, last=last).days
        assert covered == days.days
    year = DayRange(first=date(2026, 1, 1), last=date(2026, 12, 31))
    assert [p.span for p in periods.cut(year, built)] == [Span.MONTH] * 12
    # From a Monday: the week running into October gives way to the whole month.
    autumn = DayRange(first=date(2026, 9, 7), last=date(2026, 12, 5))
    spans = [p.span for p in periods.cut(autumn, built)]
    assert spans == [Span.WEEK] * 3 + [Span.DAY] * 3 + [Span.MONTH] * 2 + [Span.DAY] * 5
