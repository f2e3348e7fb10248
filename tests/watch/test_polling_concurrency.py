"""Polling at the host's pace, side by side: concurrency caps, the lease, failing pages."""

from __future__ import annotations

import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from shelfwatch.watch import poller
from shelfwatch.watch.models import Host, Source, SourceStatus
from tests.fakes.jsonld_pages import JsonLdShop
from tests.watch.conftest import event_types, last_event_id, make_source, poll_again, poll_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


def pages_shop(shop: JsonLdShop, count: int) -> list[str]:
    for n in range(count):
        shop.add(f"Ghee {n} 1 L", f"{600 + n}.00", handle=f"ghee-{n}")
    return [shop.product_url(f"ghee-{n}") for n in range(count)]


def limit_host(source: Source, *, concurrency: int, interval_ms: int = 0) -> None:
    Host.objects.filter(pk=source.host_id).update(
        max_concurrency=concurrency, min_interval_ms=interval_ms
    )


def test_a_slow_shop_is_read_with_as_many_requests_in_flight_as_its_host_allows():
    with JsonLdShop() as shop:
        urls = pages_shop(shop, 20)
        source = make_source(
            name="Pages", kind="jsonld", base_url=shop.base_url, settings={"urls": urls}
        )
        limit_host(source, concurrency=5)
        shop.slow_next(20, 0.2, path="/p/")
        started = time.monotonic()
        [outcome] = poll_due()
        elapsed = time.monotonic() - started
        assert outcome.ok, outcome.code
        assert source.items.count() == 20
        assert shop.max_concurrency() == 5  # never more than the host allows
        assert elapsed < 20 * 0.2 / 2  # one page after another would take 4 s


def test_many_sources_on_one_host_share_its_cap():
    with JsonLdShop() as shop:
        urls = pages_shop(shop, 12)
        sources = [
            make_source(name=f"Page {n}", kind="jsonld", base_url=url) for n, url in enumerate(urls)
        ]
        limit_host(sources[0], concurrency=3)
        shop.slow_next(12, 0.15, path="/p/")
        outcomes = poll_due()
        assert sorted(o.source_id for o in outcomes if o.ok) == sorted(s.pk for s in sources)
        assert shop.max_concurrency() == 3
        assert Source.objects.filter(status=SourceStatus.OK).count() == 12


@pytest.mark.django_db(transaction=True)
def test_a_poll_longer_than_its_lease_keeps_the_host_and_fetches_each_page_once(settings):
    settings.WATCH_HOST_LEASE_SECONDS = 2
    with JsonLdShop() as shop:
        urls = pages_shop(shop, 30)
        source = make_source(
            name="Pages", kind="jsonld", base_url=shop.base_url, settings={"urls": urls}
        )
        limit_host(source, concurrency=1)
        shop.slow_next(30, 0.15, path="/p/")  # 4.5 s, more than twice the lease
        first_done = threading.Event()
        second_polls: list[int] = []

        token, hosts = poller.claim_due_hosts()  # the first worker has the host
        assert hosts == [source.host_id]

        def first_worker() -> None:
            try:
                poller.poll_hosts(hosts, token, threads=1)
            finally:
                connections.close_all()
                first_done.set()

        def second_worker() -> None:
            # Another worker asks for due hosts all the while.
            try:
                while not first_done.is_set():
                    token, hosts = poller.claim_due_hosts()
                    if hosts:
                        second_polls.extend(o.source_id for o in poller.poll_hosts(hosts, token))
                    time.sleep(0.05)
            finally:
                connections.close_all()

        started = timezone.now()
        threads = [threading.Thread(target=first_worker), threading.Thread(target=second_worker)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        fetched = Counter(record.path for record in shop.log("/p/"))
        assert second_polls == []
        assert sorted(fetched) == sorted(f"/p/ghee-{n}" for n in range(30))
        assert set(fetched.values()) == {1}
        source.refresh_from_db()
        assert source.status == SourceStatus.OK and source.items.count() == 30
        # Timed from the end of the poll, not its start.
        assert (source.last_polled_at - started).total_seconds() >= 4
        assert source.next_run_at > source.last_polled_at


def test_a_failing_page_marks_that_page_and_the_others_still_count(callers):
    with JsonLdShop() as shop:
        urls = pages_shop(shop, 3)
        source = make_source(
            name="Pages", kind="jsonld", base_url=shop.base_url, settings={"urls": urls}
        )
        poll_due()
        before = last_event_id()
        shop.set_price("ghee-1", "550.00")
        shop.fail_next(1, status=500, path="/p/ghee-0")
        outcome = poll_again(source)
        assert outcome.ok
        assert event_types(before) == ["watch.price_changed"]
        source.refresh_from_db()
        assert source.status == SourceStatus.PARTIAL
        assert source.items.get(external_id=urls[1]).price == Decimal("550.00")
        kept = source.items.get(external_id=urls[0])
        assert not kept.is_gone and kept.price == Decimal("600.00")
        health = callers["admin"].get(f"/api/v1/sources/{source.pk}").json()["health"]
        assert health["status"] == "partial"
        assert health["failing_pages"] == [
            {"url": urls[0], "code": "http_500", "message": f"{urls[0]} answered 500"}
        ]
        # The page recovers: the source is healthy again and says nothing is failing.
        assert poll_again(source).ok
        source.refresh_from_db()
        assert source.status == SourceStatus.OK and source.page_errors == {}


def test_every_page_failing_fails_the_source():
    with JsonLdShop() as shop:
        urls = pages_shop(shop, 2)
        source = make_source(
            name="Pages", kind="jsonld", base_url=shop.base_url, settings={"urls": urls}
        )
        poll_due()
        shop.fail_next(10, status=503, path="/p/")
        outcome = poll_again(source)
        assert not outcome.ok and outcome.code == "http_503"
        source.refresh_from_db()
        assert source.status == SourceStatus.FAILING
        assert source.items.filter(is_gone=False).count() == 2
