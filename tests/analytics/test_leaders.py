"""Ranking products over a range from each day's kept lists gives exactly the answer of
summing every product's days, and says when it cannot."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from shelfwatch.analytics import leaders, selectors
from shelfwatch.analytics.models import ProductDay, TopProductCutoff, TopProductDay
from shelfwatch.analytics.ranges import DayRange
from shelfwatch.catalog.models import Product
from shelfwatch.fast_insert import insert_all

pytestmark = pytest.mark.django_db


def brute_force(store, days: DayRange) -> list[dict]:
    """Every product's days summed one by one in Python: the answer to match."""
    rows = ProductDay.objects.filter(day__gte=days.first, day__lte=days.last)
    rows = rows.filter(store__isnull=False) if store is None else rows.filter(store=store)
    totals: dict[int, list[int]] = {}
    for product_id, views, bot_views, visitors in rows.values_list(
        "product_id", "views", "bot_views", "visitors"
    ):
        figures = totals.setdefault(product_id, [0, 0, 0])
        figures[0] += views
        figures[1] += bot_views
        figures[2] += visitors
    order = sorted(totals, key=lambda p: (-totals[p][0], p))
    return [
        {"product_id": p, "views": v, "bot_views": b, "visitors": u}
        for p in order
        for v, b, u in [totals[p]]
    ]


FIRST = date(2026, 3, 1)
DAYS = DayRange(first=FIRST, last=FIRST + timedelta(days=9))


@pytest.fixture
def catalog():
    products = [Product(name=f"Product {n}", status="verified") for n in range(60)]
    insert_all(products)
    return [p.pk for p in products]


def fill(products, stores, *, skew: bool, seed: int = 7) -> None:
    """Ten days of product views at each store, skewed (a few lead) or flat."""
    rng = random.Random(seed)
    rows = []
    for offset in range(10):
        day = FIRST + timedelta(days=offset)
        for store in stores:
            for rank, product_id in enumerate(products):
                views = int(400 / (rank + 1)) + rng.randint(0, 3) if skew else rng.randint(0, 3)
                if views or rng.random() < 0.1:
                    rows.append(
                        ProductDay(
                            store=store,
                            product_id=product_id,
                            day=day,
                            views=views,
                            bot_views=rng.randint(0, 2),
                            visitors=views // 2,
                        )
                    )
        ProductDay.objects.bulk_create(rows)
        rows = []
        leaders.keep_leaders(day=day)


@pytest.mark.parametrize("scope", ["store_a", "all"])
@pytest.mark.parametrize("limit", [1, 5, 10])
def test_ranking_from_kept_lists_equals_summing_everything(
    monkeypatch, catalog, store_a, store_b, scope, limit
):
    monkeypatch.setattr(leaders, "KEEP", 12)
    fill(catalog, [store_a, store_b], skew=True)
    store = store_a if scope == "store_a" else None
    fast = leaders.ranked(store=store, days=DAYS, limit=limit)
    assert fast is not None
    assert fast == brute_force(store, DAYS)[:limit]


def test_flat_traffic_cannot_be_proved_and_falls_back_to_summing(monkeypatch, catalog, store_a):
    monkeypatch.setattr(leaders, "KEEP", 5)
    fill(catalog, [store_a], skew=False)
    assert leaders.ranked(store=store_a, days=DAYS, limit=5) is None
    top = selectors.top_products(store=store_a, days=DAYS, limit=5)
    expected = brute_force(store_a, DAYS)[:5]
    assert [(r["product_id"], r["views"]) for r in top] == [
        (r["product_id"], r["views"]) for r in expected
    ]


def test_days_rolled_up_before_the_lists_existed_fall_back(monkeypatch, catalog, store_a):
    monkeypatch.setattr(leaders, "KEEP", 12)
    fill(catalog, [store_a], skew=True)
    TopProductCutoff.objects.filter(span="day", day=FIRST, store__isnull=True).delete()
    assert leaders.ranked(store=store_a, days=DAYS, limit=3) is None
    assert len(selectors.top_products(store=store_a, days=DAYS, limit=3)) == 3


def test_keeping_a_day_twice_replaces_its_lists(monkeypatch, catalog, store_a):
    monkeypatch.setattr(leaders, "KEEP", 4)
    fill(catalog, [store_a], skew=True)
    before = TopProductDay.objects.filter(day=FIRST).count()
    leaders.keep_leaders(day=FIRST)
    assert TopProductDay.objects.filter(day=FIRST).count() == before == 8  # store + all
    cutoff = TopProductCutoff.objects.get(day=FIRST, store=store_a).views
    fifth = (
        ProductDay.objects.filter(day=FIRST, store=store_a)
        .order_by("-views", "product_id")
        .values_list("views", flat=True)[4]
    )
    assert cutoff == fifth


def test_the_roll_up_keeps_the_lists(store_a, shelf):
    from shelfwatch.analytics.models import Visit
    from shelfwatch.analytics.rollup import roll_up_day

    loaf, chai = shelf
    Visit.objects.bulk_create(
        [
            Visit(day=FIRST, store_id=store_a.pk, product_id=loaf.pk, visitor=f"v{n}")
            for n in range(3)
        ]
        + [Visit(day=FIRST, store_id=store_a.pk, product_id=chai.pk, visitor="v")]
    )
    written = roll_up_day(day=FIRST)
    assert written["top_product_days"] == 4  # two products, at the store and in all
    assert set(TopProductDay.objects.filter(store=store_a).values_list("product_id", "views")) == {
        (loaf.pk, 3),
        (chai.pk, 1),
    }
    assert TopProductCutoff.objects.get(day=FIRST, store__isnull=True).views == 0
