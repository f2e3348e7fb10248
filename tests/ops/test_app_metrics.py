"""The work behind the requests, counted where Prometheus scrapes it: task wait and run
times, notification sends per channel and outcome, polls per source kind, import rows per
source and outcome (tests/imports/test_import_metrics.py), and the stream clients."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from shelfwatch.events.hub import Hub
from shelfwatch.events.topics import TopicSelection
from shelfwatch.notify.delivery import deliver_due
from shelfwatch.notify.models import Contact
from shelfwatch.notify.outbox import enqueue
from tests.fakes.shopify import ShopifyShop
from tests.watch.conftest import make_source, poll_due

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_task_run_is_timed_from_when_it_was_due_and_by_how_it_ended(settings):
    from tests.ops.periodic_fixtures import fast_tick

    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "notify"],
        }
    }
    waits = value("shelfwatch_task_wait_seconds_count", queue="default")
    runs = value("shelfwatch_task_run_seconds_count", task="fast_tick", status="successful")
    fast_tick.enqueue()
    assert value("shelfwatch_task_wait_seconds_count", queue="default") == waits + 1
    assert (
        value("shelfwatch_task_run_seconds_count", task="fast_tick", status="successful")
        == runs + 1
    )


def test_notification_sends_are_counted_per_channel_and_outcome():
    contact = Contact.objects.create(
        channel="email", address="asha@example.com", verified_at=timezone.now()
    )
    before = value("shelfwatch_notification_sends_total", channel="email", outcome="sent")
    for n in range(3):
        enqueue(
            contact=contact,
            template="verify_code",
            context={"code": "123456", "minutes": 10},
            urgent=True,
            idempotency_key=f"metrics-{n}",
        )
    assert deliver_due().sent == 3
    after = value("shelfwatch_notification_sends_total", channel="email", outcome="sent")
    assert after == before + 3


@pytest.mark.usefixtures("loopback_allowed")
def test_polls_are_counted_per_source_kind_and_result():
    with ShopifyShop() as shop:
        shop.add("Amul Whey Protein 1 kg", "2399.00", handle="whey", available=True)
        ok = value("shelfwatch_polls_total", kind="shopify", result="ok")
        make_source(name="Shop", kind="shopify", base_url=shop.base_url)
        poll_due()
        assert value("shelfwatch_polls_total", kind="shopify", result="ok") == ok + 1


def test_stream_clients_are_a_gauge_that_follows_connections():
    hub = Hub()
    first = hub.subscribe(TopicSelection(frozenset({"product:1"})))
    hub.subscribe(TopicSelection(frozenset({"product:2"})))
    assert value("shelfwatch_sse_clients") == 2
    hub.unsubscribe(first)
    hub.unsubscribe(first)  # twice: still one client gone
    assert value("shelfwatch_sse_clients") == 1


def test_the_grafana_dashboard_asks_only_for_metrics_we_export(client):
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    asked = {
        re.sub(r"_(bucket|count|sum|total)$", "", name)
        for expr in exprs
        for name in re.findall(r"shelfwatch_[a-z_]+", expr)
    }
    exposition = client.get("/metrics").content.decode()
    exported = {family.name for family in text_string_to_metric_families(exposition)}
    assert asked and asked <= exported, asked - exported
    # Every panel of the service's own metrics is there: none of ours goes unshown.
    ours = {
        name
        for name in exported
        if name.startswith("shelfwatch_") and not name.endswith("_created")
    }
    assert ours <= asked, ours - asked
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
