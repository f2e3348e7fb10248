"""Reading recommendations: in stock at the shopper's store first, out of stock never, from
the precomputed lists in one or two queries; "for you" from the shopper's own orders."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shelfwatch.catalog.models import Product
from shelfwatch.errors import NotFound
from shelfwatch.inventory.models import StockItem
from shelfwatch.recommend.refresh import refresh_all
from shelfwatch.recommend.selectors import (
    OWN_ORDERS,
    add_these_too,
    bought_together,
    for_you,
    similar_products,
    store_for,
)


def ids(picks) -> list[int]:
    return [pick.product.pk for pick in picks]


@pytest.fixture
def history(grocery):
    for _ in range(3):
        grocery.order(["bread", "jam", "rusk"])
        grocery.order(["bread", "butter"])
        grocery.order(["bread", "milk", "curd"])
        grocery.order(["turmeric", "chilli"])
    refresh_all()
    return grocery


def test_partners_in_stock_here_come_first_then_those_in_stock_elsewhere(history):
    g = history

    picks = bought_together(g["bread"], store=g.here)

    # Butter is out of stock here but in stock there: listed, after everything in stock here.
    assert ids(picks)[-1] == g["butter"].pk
    assert set(ids(picks)) == {g["jam"].pk, g["milk"].pk, g["curd"].pk, g["butter"].pk}
    assert [p.in_stock_here for p in picks] == [True, True, True, False]
    assert picks[0].stock.store_id == g.here.pk


def test_a_product_out_of_stock_at_every_open_store_is_never_recommended(history):
    g = history

    # Rusk went with bread and jam every time, but only a closed store has any.
    assert g["rusk"].pk not in ids(bought_together(g["bread"], store=g.here))
    assert g["rusk"].pk not in ids(bought_together(g["jam"], store=None))
    assert g["rusk"].pk not in ids(add_these_too([g["bread"].pk], store=None))


def test_without_a_store_everything_in_stock_somewhere_is_listed_by_rank(history):
    g = history

    picks = bought_together(g["bread"], store=None)

    assert set(ids(picks)) == {g["jam"].pk, g["milk"].pk, g["curd"].pk, g["butter"].pk}
    assert all(pick.stock is None for pick in picks)


def test_similar_products_keep_the_list_order_after_stock_here_and_the_limit(history):
    g = history

    # Catch haldi is the closest (the same Hindi name) but only the other store has it.
    assert ids(similar_products(g["turmeric"], store=None))[0] == g["haldi"].pk
    assert ids(similar_products(g["turmeric"], store=g.here)) == [g["chilli"].pk, g["haldi"].pk]
    assert ids(similar_products(g["turmeric"], store=g.here, limit=1)) == [g["chilli"].pk]


def test_add_these_too_combines_the_basket_and_never_repeats_it(history):
    g = history

    picks = add_these_too([g["bread"].pk, g["jam"].pk], store=g.here)

    assert g["bread"].pk not in ids(picks) and g["jam"].pk not in ids(picks)
    assert set(ids(picks)) == {g["milk"].pk, g["curd"].pk, g["butter"].pk}
    assert add_these_too([], store=g.here) == []


def test_a_product_read_takes_one_indexed_query_and_one_for_the_stores_prices(
    history, django_assert_max_num_queries
):
    g = history

    with django_assert_max_num_queries(2):
        picks = bought_together(g["bread"], store=g.here)
    assert len(picks) == 4


def test_for_you_puts_what_the_shopper_buys_again_first_then_its_partners(history, make_user):
    g = history
    shopper = make_user("regular@example.com")
    for days in (3, 10, 17):
        g.order(["milk", "turmeric"], user=shopper, days_ago=days)
    g.order(["bread"], user=shopper, days_ago=40)

    picks = for_you(shopper, store=g.here)

    assert ids(picks)[:2] == [g["milk"].pk, g["turmeric"].pk]
    assert {p.reason for p in picks[:2]} == {"bought_before"}
    partners = {p.product.pk for p in picks if p.reason == "together"}
    assert g["chilli"].pk in partners  # bought with turmeric by others
    assert g["rusk"].pk not in ids(picks)


def test_for_you_reads_only_the_shoppers_own_orders(history, make_user):
    g = history
    shopper = make_user("new@example.com")
    other = make_user("other@example.com")
    g.order(["jam"], user=other)

    assert for_you(shopper, store=g.here) == []
    g.order(["curd"], user=shopper, status="cancelled")
    assert for_you(shopper, store=g.here) == []


def test_an_unknown_or_closed_store_is_not_found(history):
    assert store_for(None) is None
    assert store_for(history.here.pk) == history.here
    for store_id in (history.closed.pk, 999_999):
        with pytest.raises(NotFound) as error:
            store_for(store_id)
        assert error.value.code == "store_not_found"


def test_for_you_reads_only_the_shoppers_latest_orders(history, make_user):
    g = history
    shopper = make_user("long-time@example.com")
    g.order(["jam"], user=shopper, days_ago=100)
    for day in range(1, OWN_ORDERS + 1):
        g.order(["milk"], user=shopper, days_ago=day)

    rebought = [p.product.pk for p in for_you(shopper, store=g.here) if p.reason == "bought_before"]

    assert rebought == [g["milk"].pk]


def test_for_you_takes_three_queries_with_a_store_and_two_without(
    history, make_user, django_assert_num_queries
):
    g = history
    shopper = make_user("counted@example.com")
    for days in (3, 10, 17):
        g.order(["milk", "turmeric", "butter", "pending"], user=shopper, days_ago=days)
    g.order(["bread", "rusk"], user=shopper, days_ago=40)

    # The order lines with their products and stock flags; the partners; the store's stock.
    with django_assert_num_queries(3):
        here = for_you(shopper, store=g.here)
    with django_assert_num_queries(2):
        anywhere = for_you(shopper, store=None)

    # In stock here first; out of stock everywhere (rusk) and not public (pending) never.
    flags = [p.in_stock_here for p in here]
    assert flags == sorted(flags, reverse=True) and flags[0] and not flags[-1]
    assert g["butter"].pk in ids(here) and here[ids(here).index(g["butter"].pk)].stock is None
    for picks in (here, anywhere):
        assert g["rusk"].pk not in ids(picks) and g["pending"].pk not in ids(picks)
    rebought = {g[name].pk for name in ("milk", "turmeric", "butter")}
    assert set(ids(anywhere)[:3]) == rebought
    assert {p.reason for p in anywhere[:3]} == {"bought_before"}


def test_a_pick_carries_the_products_name_size_and_the_stores_price(history):
    g = history
    jam = g["jam"]
    jam.net_quantity = Decimal("0.5")
    jam.net_unit = "kg"
    jam.save(update_fields=["net_quantity", "net_unit"])

    pick = next(p for p in bought_together(g["bread"], store=g.here) if p.product.pk == jam.pk)

    stored = Product.objects.get(pk=jam.pk)
    assert (pick.product.name, pick.product.brand) == (stored.name, stored.brand)
    assert pick.product.net_quantity == Decimal("0.500") and pick.product.net_unit == "kg"
    assert str(pick.product.net_quantity) == str(stored.net_quantity)
    price = StockItem.objects.get(store=g.here, product=jam).selling_price
    assert isinstance(pick.stock.selling_price, Decimal) and pick.stock.selling_price == price
