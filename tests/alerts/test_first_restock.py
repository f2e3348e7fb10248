"""Whoever subscribes while an item is out hears of its next return, whatever came before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shelfwatch.watch.models import Source, WatchedItem
from tests.alerts.test_alerts_flow import alerts_for, run_consumers, subscribe_by_api
from tests.fakes.shopify import ShopifyShop
from tests.watch.conftest import last_event_id, make_source, poll_again, poll_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]

IN, OUT, LONG_OUT = "in", "out", "long-out"


@pytest.fixture(autouse=True)
def minimum_out(settings):
    settings.WATCH_RESTOCK_MIN_OUT_SECONDS = 600


def live_through(shop: ShopifyShop, source: Source, history: list[str]) -> None:
    """Poll the shop through `history`: in stock, out briefly, or out long enough that the
    next return starts a new restock episode."""
    for step in history:
        shop.set_available("whey", step == IN)
        poll_again(source)
        if step == LONG_OUT:
            WatchedItem.objects.filter(source=source).update(
                out_since=timezone.now() - timedelta(seconds=601)
            )


def watched_with_history(shop: ShopifyShop, first_seen: str, history: list[str]) -> WatchedItem:
    shop.add("Amul Whey Protein 1 kg", "2399.00", handle="whey", available=first_seen == IN)
    source = make_source(name="Shop", kind="shopify", base_url=shop.base_url)
    poll_due()
    live_through(shop, source, history)
    return source.items.get()


@pytest.mark.parametrize(
    ("first_seen", "history"),
    [
        pytest.param(OUT, [], id="first-seen-out"),
        pytest.param(IN, [OUT], id="first-seen-in-then-out-briefly"),
        pytest.param(IN, [LONG_OUT], id="first-seen-in-then-out-long"),
        pytest.param(OUT, [IN, LONG_OUT, IN, LONG_OUT, IN, OUT], id="out-for-several-episodes"),
        pytest.param(IN, [LONG_OUT, IN, OUT], id="subscribed-during-a-flap"),
        pytest.param(OUT, [IN, OUT], id="first-seen-out-then-a-first-return"),
    ],
)
@pytest.mark.parametrize("comes_back", ["briefly", "after-long"])
def test_subscribing_while_out_hears_of_the_next_return(client, first_seen, history, comes_back):
    with ShopifyShop() as shop:
        item = watched_with_history(shop, first_seen, history)
        assert item.available is False
        contact, _ = subscribe_by_api(client, item)
        if comes_back == "after-long":
            WatchedItem.objects.filter(pk=item.pk).update(
                out_since=timezone.now() - timedelta(seconds=601)
            )
        before = last_event_id()
        live_through(shop, item.source, [IN])
        run_consumers(before)
        assert alerts_for(contact) == ["watch.back_in_stock"]
        # Flapping afterwards, inside the same restock, tells them nothing more.
        live_through(shop, item.source, [OUT, IN])
        run_consumers(before)
        assert alerts_for(contact) == ["watch.back_in_stock"]


def test_subscribing_while_in_stock_waits_for_a_real_restock(client):
    with ShopifyShop() as shop:
        item = watched_with_history(shop, IN, [])
        contact, _ = subscribe_by_api(client, item)
        before = last_event_id()
        live_through(shop, item.source, [OUT, IN])  # a flap: still the same restock
        run_consumers(before)
        assert alerts_for(contact) == []
        live_through(shop, item.source, [LONG_OUT, IN])
        run_consumers(before)
        assert alerts_for(contact) == ["watch.back_in_stock"]


def test_asking_again_while_out_rearms_an_alert_already_sent(client):
    with ShopifyShop() as shop:
        item = watched_with_history(shop, OUT, [])
        contact, _ = subscribe_by_api(client, item)
        before = last_event_id()
        live_through(shop, item.source, [IN, OUT])
        run_consumers(before)
        assert alerts_for(contact) == ["watch.back_in_stock"]
        from shelfwatch.alerts.models import Subscription
        from shelfwatch.alerts.subscriptions import subscribe

        Subscription.objects.update(quiet_until=None)  # the cooldown has passed
        subscribe(contact=contact, item=WatchedItem.objects.get(pk=item.pk))
        live_through(shop, item.source, [IN])
        run_consumers(before)
        assert alerts_for(contact) == ["watch.back_in_stock", "watch.back_in_stock"]
