"""Customers who viewed this also viewed: pairs of products one visitor viewed on one day,
from the analytics app's raw views, scored so that what everyone views does not win, and
served as the other lists are (in stock only, the shopper's store first)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db.models import F

from shelfwatch.analytics.visitors import today
from shelfwatch.recommend.models import AlsoViewed
from shelfwatch.recommend.refresh import VIEW_DAYS, refresh_also_viewed
from shelfwatch.recommend.selectors import also_viewed
from shelfwatch.recommend.together import RAW_COUNTS
from shelfwatch.recommend.viewed import MAX_SESSION, VIEWED_SCORING, co_views
from tests.conftest import Caller
from tests.recommend.test_pages import card_ids, section, shop_at


def listed(product) -> list[int]:
    return list(
        AlsoViewed.objects.filter(product=product)
        .order_by("rank")
        .values_list("other_id", flat=True)
    )


def ids(picks) -> list[int]:
    return [pick.product.pk for pick in picks]


def test_products_one_visitor_viewed_on_one_day_list_each_other(grocery):
    g = grocery
    g.viewed(["bread", "jam"], visitor="a")
    g.viewed(["bread", "jam", "bread"], visitor="b", days_ago=3)

    refresh_also_viewed()

    assert listed(g["bread"]) == [g["jam"].pk]
    assert listed(g["jam"]) == [g["bread"].pk]
    assert not AlsoViewed.objects.filter(product_id=F("other_id")).exists()


def test_views_pair_only_within_one_visitor_and_one_day(grocery):
    g = grocery
    for days_ago in (1, 2):
        # The same visitor id on two days (ids never repeat across days, but if they did),
        # and two visitors on one day: no session holds both products.
        g.viewed(["bread"], visitor="a", days_ago=days_ago)
        g.viewed(["jam"], visitor="a", days_ago=days_ago + 1)
        g.viewed(["turmeric"], visitor="b", days_ago=days_ago)
        g.viewed(["chilli"], visitor="c", days_ago=days_ago)

    assert refresh_also_viewed() == 0


def test_bot_views_and_views_without_a_visitor_id_are_left_out(grocery):
    g = grocery
    for days_ago in range(4):
        g.viewed(["bread", "jam"], visitor="", days_ago=days_ago)
        g.viewed(["turmeric", "chilli"], visitor="crawler", days_ago=days_ago, is_bot=True)

    assert refresh_also_viewed() == 0


def test_a_pair_viewed_in_one_session_only_is_not_enough(grocery):
    g = grocery
    g.viewed(["bread", "jam"], visitor="a")
    g.viewed(["bread", "jam", "curd"], visitor="b")

    refresh_also_viewed()

    assert VIEWED_SCORING.min_support == 2
    assert listed(g["bread"]) == [g["jam"].pk]
    assert listed(g["curd"]) == []


def test_views_older_than_the_window_do_not_count(grocery):
    g = grocery
    g.viewed(["bread", "jam"], visitor="a", days_ago=VIEW_DAYS - 1)
    g.viewed(["bread", "jam"], visitor="b", days_ago=VIEW_DAYS)
    g.viewed(["turmeric", "chilli"], visitor="c", days_ago=VIEW_DAYS)
    g.viewed(["turmeric", "chilli"], visitor="d", days_ago=VIEW_DAYS + 3)

    refresh_also_viewed()

    assert listed(g["turmeric"]) == []
    assert listed(g["bread"]) == []  # one session inside the window is under min_support


def test_a_session_viewing_too_many_products_is_left_out_whole(grocery):
    from shelfwatch.analytics.models import Visit

    g = grocery
    g.viewed(["bread", "jam"], visitor="a")
    g.viewed(["bread", "jam"], visitor="b")
    g.viewed(["curd"], visitor="a")
    # A browser-like crawler: the same products plus hundreds of others, under one id.
    Visit.objects.bulk_create(
        Visit(day=today(), store_id=g.here.pk, product_id=10_000 + n, visitor="x")
        for n in range(MAX_SESSION)
    )
    g.viewed(["bread", "curd"], visitor="x")

    refresh_also_viewed()

    assert g["curd"].pk not in listed(g["bread"])
    assert listed(g["bread"])[0] == g["jam"].pk


def test_a_product_viewed_by_everyone_ranks_below_the_ones_viewed_with_this_one(grocery):
    g = grocery
    # Shoppers browse one aisle at a time: two or three products of one category per
    # visit, and the best seller on the home page (milk) is viewed in nearly every visit.
    aisles = {
        "bakery": ["bread", "jam", "rusk"],
        "spices": ["turmeric", "haldi", "chilli"],
        "dairy": ["butter", "curd"],
    }
    rng = random.Random(7)
    for visit in range(300):
        aisle = aisles[rng.choice(sorted(aisles))]
        names = rng.sample(aisle, rng.randint(2, len(aisle)))
        if rng.random() < 0.9:
            names.append("milk")
        g.viewed(names, visitor=f"v{visit}", days_ago=visit % VIEW_DAYS)

    refresh_also_viewed()

    for aisle in aisles.values():
        for name in aisle:
            ranked = listed(g[name])
            mates = {g[other].pk for other in aisle if other != name}
            assert set(ranked[: len(mates)]) == mates, name
            assert ranked.index(g["milk"].pk) == len(mates), name
    # The raw pair counts would have ranked milk first for most of them: the division by
    # popularity is what puts the aisle first.
    day = today()
    product_ids, co = co_views(first_day=day - timedelta(days=VIEW_DAYS - 1), last_day=day)
    index = {pid: i for i, pid in enumerate(product_ids)}
    milk_first = [
        name
        for aisle in aisles.values()
        for name in aisle
        if product_ids[co.companions(index[g[name].pk], RAW_COUNTS, 1)[0][0]] == g["milk"].pk
    ]
    assert len(milk_first) >= 6


def test_a_refresh_replaces_the_old_lists(grocery):
    from shelfwatch.analytics.models import Visit

    g = grocery
    for visitor in "ab":
        g.viewed(["bread", "jam"], visitor=visitor)
    refresh_also_viewed()
    assert listed(g["bread"]) == [g["jam"].pk]

    Visit.objects.all().delete()
    for visitor in "cd":
        g.viewed(["bread", "curd"], visitor=visitor)
    assert refresh_also_viewed() == 2

    assert listed(g["bread"]) == [g["curd"].pk]
    assert listed(g["jam"]) == []


def test_a_product_nobody_may_see_is_never_listed(grocery):
    g = grocery
    for visitor in "ab":
        g.viewed(["bread", "jam", "pending"], visitor=visitor)

    refresh_also_viewed()

    assert listed(g["bread"]) == [g["jam"].pk]
    assert listed(g["pending"]) == []


@pytest.fixture
def viewed(grocery):
    g = grocery
    for visitor in "abc":
        g.viewed(["bread", "jam", "butter", "rusk"], visitor=f"bakery-{visitor}")
        g.viewed(["turmeric", "chilli"], visitor=f"spices-{visitor}")
    refresh_also_viewed()
    return g


def test_also_viewed_lists_in_stock_here_first_and_never_what_no_open_store_has(viewed):
    g = viewed

    here = also_viewed(g["bread"], store=g.here)
    anywhere = also_viewed(g["bread"], store=None)

    # Butter is out of stock here (in stock there), rusk everywhere open.
    assert ids(here) == [g["jam"].pk, g["butter"].pk]
    assert [p.in_stock_here for p in here] == [True, False]
    assert set(ids(anywhere)) == {g["jam"].pk, g["butter"].pk}
    assert all(pick.reason == "also_viewed" for pick in here)
    assert g["rusk"].pk in listed(g["bread"])  # in the table, never served


def test_the_api_returns_the_also_viewed_list(client, viewed):
    g = viewed

    body = (
        Caller(client)
        .get(f"/api/v1/products/{g['bread'].pk}/recommendations?store={g.here.pk}")
        .json()
    )

    assert [p["id"] for p in body["also_viewed"]] == [g["jam"].pk, g["butter"].pk]
    jam, butter = body["also_viewed"]
    assert jam["reason"] == "also_viewed" and jam["price"] == "50.00" and jam["in_stock_here"]
    assert butter["in_stock_here"] is False and butter["price"] is None
    assert (
        Caller(client).get(f"/api/v1/products/{g['milk'].pk}/recommendations").json()["also_viewed"]
        == []
    )


def test_the_product_page_shows_the_row_only_when_it_has_something(client, viewed):
    g = viewed
    shop_at(client, g.here)

    html = client.get(f"/products/{g['turmeric'].pk}").content.decode()
    row = section(html, "also-viewed")
    assert "Customers who viewed this also viewed" in row
    assert card_ids(row) == [g["chilli"].pk]

    # Bread's partners here: jam only (butter is out of stock at this store).
    assert card_ids(
        section(client.get(f"/products/{g['bread'].pk}").content.decode(), "also-viewed")
    ) == [g["jam"].pk]
    assert 'id="also-viewed"' not in client.get(f"/products/{g['milk'].pk}").content.decode()
