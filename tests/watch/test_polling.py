"""Polling fake shops end to end: baseline, transitions as events, flaps, health, pacing."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shelfwatch.watch.models import Observation, Source, SourceStatus, WatchedItem
from tests.fakes.jsonld_pages import JsonLdShop
from tests.fakes.shopify import ShopifyShop
from tests.fakes.storehippo import StoreHippoShop
from tests.watch.conftest import event_types, last_event_id, make_source, poll_again, poll_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


@pytest.fixture
def shopify():
    with ShopifyShop() as shop:
        shop.add("Amul Whey Protein 1 kg", "2399.00", handle="whey", available=True)
        shop.add("Amul High Protein Milk 250 ml", "60.00", handle="milk", available=False)
        yield shop


def item(source: Source, name_part: str) -> WatchedItem:
    return source.items.get(name__icontains=name_part)


def test_first_poll_records_the_baseline_and_alerts_nobody(shopify):
    source = make_source(name="Shop", kind="shopify", base_url=shopify.base_url)
    before = last_event_id()
    [outcome] = poll_due()
    assert outcome.ok, outcome.code
    source.refresh_from_db()
    assert source.status == SourceStatus.OK and source.baseline_done
    assert source.items.count() == 2
    assert item(source, "whey").available is True
    assert item(source, "whey").price == Decimal("2399.00")
    assert item(source, "milk").available is False
    assert event_types(before) == []


def test_restock_price_drop_new_and_gone_become_events(shopify):
    source = make_source(name="Shop", kind="shopify", base_url=shopify.base_url)
    poll_due()
    before = last_event_id()
    shopify.set_available("milk", True)
    shopify.set_price("whey", "1999.00")
    shopify.add("Amul Protein Lassi", "40.00", handle="lassi")
    poll_again(source)
    types = event_types(before)
    assert sorted(types) == ["watch.back_in_stock", "watch.new_product", "watch.price_changed"]
    from shelfwatch.events.models import Event

    change = Event.objects.get(type="watch.price_changed", pk__gt=before)
    assert change.payload["old_price"] == "2399.00" and change.payload["new_price"] == "1999.00"
    assert change.payload["percent"] == pytest.approx(-16.67)
    assert f"watched:{item(source, 'whey').pk}" in change.topics
    before = last_event_id()
    shopify.remove("lassi")
    shopify.set_available("whey", False)
    poll_again(source)
    assert sorted(event_types(before)) == ["watch.gone", "watch.out_of_stock"]
    assert item(source, "lassi").is_gone
    assert Observation.objects.filter(item=item(source, "whey")).count() == 3  # first, price, out


def test_a_flap_inside_the_minimum_time_stays_in_its_episode(shopify, settings):
    settings.WATCH_RESTOCK_MIN_OUT_SECONDS = 600
    source = make_source(name="Shop", kind="shopify", base_url=shopify.base_url)
    poll_due()
    shopify.set_available("milk", True)
    poll_again(source)
    first = item(source, "milk").episode
    assert first == 1  # out since before we looked: a real restock
    shopify.set_available("milk", False)
    poll_again(source)
    shopify.set_available("milk", True)
    before = last_event_id()
    poll_again(source)
    from shelfwatch.events.models import Event

    flap = Event.objects.get(type="watch.back_in_stock", pk__gt=before)
    assert flap.payload["new_episode"] is False and flap.payload["episode"] == first
    # Out long enough: the next return starts a new episode.
    shopify.set_available("milk", False)
    poll_again(source)
    WatchedItem.objects.filter(pk=item(source, "milk").pk).update(
        out_since=timezone.now() - timedelta(seconds=601)
    )
    shopify.set_available("milk", True)
    poll_again(source)
    assert item(source, "milk").episode == first + 1


def test_unchanged_listing_is_a_conditional_request_and_changes_nothing(shopify):
    source = make_source(name="Shop", kind="shopify", base_url=shopify.base_url)
    poll_due()
    before = last_event_id()
    outcome = poll_again(source)
    assert outcome.ok and outcome.not_modified == 1
    assert shopify.last_request("/products.json").headers.get("if-none-match")
    assert event_types(before) == []
    assert source.items.filter(is_gone=False).count() == 2


def test_errors_back_off_and_show_in_health(shopify):
    source = make_source(name="Shop", kind="shopify", base_url=shopify.base_url)
    poll_due()
    shopify.fail_next(5, status=500)
    started = timezone.now()
    outcome = poll_again(source)
    assert not outcome.ok and outcome.code == "http_500"
    source.refresh_from_db()
    assert source.status == SourceStatus.FAILING and source.consecutive_failures == 1
    assert "500" in source.last_error
    first_wait = source.next_run_at - started
    poll_again(source)
    source.refresh_from_db()
    assert source.consecutive_failures == 2
    assert source.next_run_at - timezone.now() > first_wait * 1.5  # doubled, less jitter
    assert source.items.filter(is_gone=False).count() == 2  # a failure never marks items gone


def test_rate_limit_honours_retry_after(shopify):
    source = make_source(name="Shop", kind="shopify", base_url=shopify.base_url)
    source.poll_interval = 30
    source.save()
    shopify.rate_limit_next(1, retry_after=900)
    outcome = poll_again(source)
    assert outcome.code == "rate_limited"
    source.refresh_from_db()
    assert source.next_run_at - timezone.now() > timedelta(seconds=850)


def test_oversized_and_slow_responses_fail_cleanly(shopify, settings):
    settings.WATCH_MAX_RESPONSE_BYTES = 50_000
    settings.WATCH_FETCH_TIMEOUT = 1.0
    source = make_source(name="Shop", kind="shopify", base_url=shopify.base_url)
    shopify.oversized_next(1, 200_000)
    assert poll_again(source).code == "response_too_large"
    shopify.slow_next(1, 3)
    assert poll_again(source).code == "fetch_timeout"
    assert poll_again(source).ok


def test_requests_to_one_host_keep_the_minimum_interval():
    with JsonLdShop() as shop:
        for n in range(4):
            shop.add(f"Ghee {n} 1 L", f"{600 + n}.00", handle=f"ghee-{n}")
        urls = [shop.product_url(f"ghee-{n}") for n in range(4)]
        make_source(
            name="Pages",
            kind="jsonld",
            base_url=shop.base_url,
            settings={"urls": urls},
            min_interval_ms=200,
        )
        [outcome] = poll_due()
        assert outcome.ok, outcome.code
        times = sorted(r.time for r in shop.log() if r.path.startswith("/p"))
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # Measured where the shop sees them: arrival jitters a little around 200 ms.
        assert len(times) == 4 and min(gaps) >= 0.15


def test_a_leased_host_is_not_polled_twice(shopify):
    make_source(name="Shop", kind="shopify", base_url=shopify.base_url)
    from shelfwatch.watch import poller

    token, hosts = poller.claim_due_hosts()
    assert hosts
    assert poller.claim_due_hosts() == ("", [])  # still leased: nobody else gets it
    poller.poll_hosts(hosts, token, threads=1)
    Source.objects.update(next_run_at=timezone.now())
    assert poller.claim_due_hosts()[1] == hosts  # released after the poll


def test_storehippo_session_steps_and_empty_data_is_an_error():
    with StoreHippoShop(tid_check="hash") as shop:
        shop.add("Amul High Protein Buttermilk", 25, available=True, quantity=10)
        shop.add("Amul Whey Protein", 2400, available=False, quantity=7)
        source = make_source(
            name="Amul",
            kind="storehippo",
            base_url=shop.base_url,
            settings={"pincode": "302001", "category": "protein"},
        )
        [outcome] = poll_due()
        assert outcome.ok, Source.objects.get(pk=source.pk).last_error
        whey = item(source, "whey")
        assert whey.available is False and whey.quantity == 7  # counted, yet not for sale
        # The kept session expires: the adapter sets it up again by itself.
        shop.expire_sessions()
        assert poll_again(source).ok
        # A shop that lists nothing for a set-up session is failing, not sold out.
        shop.empty_next(10)
        outcome = poll_again(source)
        assert outcome.code == "session_not_set_up"
        assert item(source, "buttermilk").available is True


def test_jsonld_page_with_several_prices_needs_configuration():
    with JsonLdShop() as shop:
        shop.add("Ghee 1 L", "650.00", handle="ghee")
        shop.set_mode("ghee", "ambiguous")
        source = make_source(
            name="Pages",
            kind="jsonld",
            base_url=shop.base_url,
            settings={"urls": [shop.product_url("ghee")]},
        )
        assert poll_again(source).code == "needs_configuration"
        source.refresh_from_db()
        assert source.status == SourceStatus.NEEDS_CONFIGURATION
        source.refresh_from_db()
        assert "several prices" in source.last_error
        Source.objects.filter(pk=source.pk).update(
            settings={"urls": [shop.product_url("ghee")], "price_selector": "div.prices"}
        )
        assert poll_again(source).code == "needs_configuration"
        source.refresh_from_db()
        assert "(650.00, 812.00)" in source.last_error  # related products left out
        # The product's own price and its MRP remain: the lowest of those is the price.
        Source.objects.filter(pk=source.pk).update(
            settings={
                "urls": [shop.product_url("ghee")],
                "price_selector": "div.prices",
                "price_choice": "lowest",
            }
        )
        assert poll_again(source).ok
        assert item(source, "ghee").price == Decimal("650.00")


def test_a_new_cdn_version_of_the_same_picture_is_not_an_update(shopify):
    from shelfwatch.watch.adapters.base import ItemState
    from shelfwatch.watch.changes import apply_states

    source = make_source(name="Shop", kind="shopify", base_url=shopify.base_url)
    poll_due()
    source.refresh_from_db()  # the baseline is recorded
    whey = item(source, "whey")
    before = last_event_id()

    def seen(image_url: str) -> None:
        state = ItemState(
            external_id=whey.external_id,
            name=whey.name,
            available=True,
            price=whey.price,
            url=whey.url,
            image_url=image_url,
        )
        apply_states(source=source, states=[state], complete=False)

    seen("https://cdn.example/whey.jpg?v=1")
    seen("https://cdn.example/whey.jpg?v=2")
    assert event_types(before) == ["watch.product_updated"]  # the first picture only
    seen("https://cdn.example/whey-new-pack.jpg?v=2")
    assert event_types(before) == ["watch.product_updated", "watch.product_updated"]
