"""Refreshing datasets from internal tables into stored snapshots."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shelfwatch.feeds.models import Dataset, RefreshRun, Snapshot
from shelfwatch.feeds.refresh import claim_refresh, dispatch_due, run_refresh
from shelfwatch.feeds.storage import dataset_dir, snapshot_path
from tests.feeds.conftest import refresh_now

pytestmark = pytest.mark.django_db


def stored_document(dataset: Dataset) -> dict:
    dataset.refresh_from_db()
    snapshot = dataset.current_snapshot
    with gzip.open(snapshot_path(dataset.name, snapshot.file_name), "rb") as stored:
        return json.loads(stored.read())


def test_inventory_refresh_writes_a_gzip_snapshot_with_its_metadata(make_dataset, stocked_store):
    dataset = make_dataset("inventory", config={"table": "inventory", "store_id": stocked_store.pk})
    run = refresh_now(dataset)

    assert run.status == "succeeded" and run.records == 3
    document = stored_document(dataset)
    assert document["status"] == "success" and document["count"] == 3
    assert list(document)[:3] == ["status", "count", "cursor"]
    assert [row["product_name"] for row in document["data"]] == ["Loaf 0", "Loaf 1", "Loaf 2"]
    # Money leaves as exact decimal strings, never floats.
    assert document["data"][1]["selling_price"] == "3.50"
    snapshot = dataset.current_snapshot
    path = snapshot_path(dataset.name, snapshot.file_name)
    assert snapshot.record_count == 3
    assert snapshot.stored_bytes == path.stat().st_size
    assert snapshot.raw_bytes == len(gzip.decompress(path.read_bytes()))
    assert len(snapshot.etag) == 32 and snapshot.finished_at >= snapshot.started_at
    # Nothing temporary is left next to the published file.
    assert [p.name for p in dataset_dir(dataset.name).iterdir()] == [snapshot.file_name]


def test_same_data_gives_the_same_etag_and_changed_data_a_new_one(make_dataset, stocked_store):
    from shelfwatch.inventory.models import StockItem

    dataset = make_dataset("inventory")
    refresh_now(dataset)
    first = Dataset.objects.get(pk=dataset.pk).current_snapshot.etag
    refresh_now(dataset)
    assert Dataset.objects.get(pk=dataset.pk).current_snapshot.etag == first
    StockItem.objects.filter(store=stocked_store).update(quantity=0)
    refresh_now(dataset)
    assert Dataset.objects.get(pk=dataset.pk).current_snapshot.etag != first


def test_a_store_dataset_holds_only_that_stores_rows(make_dataset, stocked_store, store_b):
    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem

    other = Product.objects.create(name="Hill honey")
    StockItem.objects.create(store=store_b, product=other, quantity=1)
    dataset = make_dataset("a-only", config={"table": "inventory", "store_id": stocked_store.pk})
    refresh_now(dataset)
    rows = stored_document(dataset)["data"]
    assert {row["store_id"] for row in rows} == {stocked_store.pk}
    products = make_dataset(
        "a-products", config={"table": "products", "store_id": stocked_store.pk}
    )
    refresh_now(products)
    assert "Hill honey" not in {row["name"] for row in stored_document(products)["data"]}


def test_an_owner_who_left_the_store_gets_a_failed_refresh_not_its_data(
    make_dataset, make_user, stocked_store
):
    from shelfwatch.accounts.models import StoreMembership

    owner = make_user("owner@example.com")
    membership = StoreMembership.objects.create(user=owner, store=stocked_store, role="owner")
    dataset = make_dataset(
        "mine", config={"table": "inventory", "store_id": stocked_store.pk}, owner=owner
    )
    assert refresh_now(dataset).status == "succeeded"
    membership.delete()
    run = refresh_now(dataset)
    assert run.status == "failed" and run.error_code == "source_forbidden"
    assert Dataset.objects.get(pk=dataset.pk).current_snapshot.record_count == 3


def test_global_and_notification_datasets_need_an_admin_owner(make_dataset, make_user, store_a):
    from shelfwatch.feeds.datasets import InvalidDataset

    customer = make_user("someone@example.com")
    with pytest.raises(InvalidDataset, match="admin owner"):
        make_dataset("all-stock", owner=customer)
    with pytest.raises(InvalidDataset, match="cannot manage"):
        make_dataset("b", config={"table": "inventory", "store_id": store_a.pk}, owner=customer)
    with pytest.raises(InvalidDataset, match="not kept per store"):
        make_dataset("n", config={"table": "notifications", "store_id": store_a.pk})
    with pytest.raises(InvalidDataset):
        make_dataset("Bad Name!")
    assert not Dataset.objects.exists()


def test_notifications_log_leaves_out_addresses(make_dataset, admin_user):
    from shelfwatch.notify.models import Contact, Notification

    contact = Contact.objects.create(user=admin_user, channel="email", address="x@example.com")
    Notification.objects.create(
        contact=contact, channel="email", template="back_in_stock", idempotency_key="k1"
    )
    dataset = make_dataset("notifications", config={"table": "notifications"})
    refresh_now(dataset)
    [row] = stored_document(dataset)["data"]
    assert row["template"] == "back_in_stock" and row["contact_id"] == contact.pk
    assert "x@example.com" not in json.dumps(row)


def test_orders_come_with_their_lines(make_dataset, stocked_store, make_user):
    from shelfwatch.inventory.models import StockItem
    from shelfwatch.shop.models import Order, OrderLine

    buyer = make_user("buyer@example.com")
    item = StockItem.objects.filter(store=stocked_store).select_related("product").first()
    order = Order.objects.create(
        store=stocked_store,
        user=buyer,
        currency="USD",
        subtotal=Decimal("5.00"),
        total=Decimal("5.00"),
    )
    OrderLine.objects.create(
        order=order,
        stock_item=item,
        product=item.product,
        product_name=item.product.name,
        quantity=2,
        unit_price=Decimal("2.50"),
        line_total=Decimal("5.00"),
    )
    Order.objects.create(
        store=stocked_store, currency="USD", subtotal=Decimal("0"), total=Decimal("0")
    )
    dataset = make_dataset("orders", config={"table": "orders", "store_id": stocked_store.pk})
    refresh_now(dataset)
    first, second = stored_document(dataset)["data"]
    assert first["total"] == "5.00" and second["lines"] == []
    assert first["lines"] == [
        {
            "product_id": item.product_id,
            "product_name": item.product.name,
            "quantity": 2,
            "unit_price": "2.50",
            "line_total": "5.00",
        }
    ]


def test_a_failed_refresh_keeps_the_last_good_snapshot_and_says_why(
    make_dataset, stocked_store, settings
):
    dataset = make_dataset("inventory")
    good = refresh_now(dataset)
    settings.FEEDS_MAX_RECORDS = 2  # the source now "returns too many rows"
    run = refresh_now(dataset)
    assert run.status == "failed" and run.error_code == "row_limit_exceeded"
    assert "more than 2" in run.error
    dataset.refresh_from_db()
    assert dataset.current_snapshot_id == good.snapshot_id
    assert [p.name for p in dataset_dir("inventory").iterdir()] == [good.snapshot.file_name]
    assert not dataset.lease_token  # the lease was released


def test_single_flight_one_claim_until_the_run_ends(make_dataset, stocked_store):
    dataset = make_dataset("inventory")
    run = claim_refresh(dataset=dataset, trigger="api")
    assert run is not None
    assert claim_refresh(dataset=dataset, trigger="api") is None
    run_refresh(run.pk)
    assert claim_refresh(dataset=dataset, trigger="api") is not None


def test_an_expired_lease_is_taken_over_and_the_dead_run_marked(make_dataset, stocked_store):
    from django.utils import timezone

    dataset = make_dataset("inventory")
    dead = claim_refresh(dataset=dataset, trigger="api")
    Dataset.objects.filter(pk=dataset.pk).update(lease_until=timezone.now())
    fresh = claim_refresh(dataset=dataset, trigger="api")
    assert fresh is not None
    dead.refresh_from_db()
    assert dead.status == "failed" and dead.error_code == "abandoned"
    # The dead run cannot come back and publish under the new lease.
    assert run_refresh(dead.pk).status == "failed"
    assert run_refresh(fresh.pk).status == "succeeded"


def test_old_snapshots_are_pruned(make_dataset, stocked_store, settings):
    settings.FEEDS_KEEP_SNAPSHOTS = 2
    dataset = make_dataset("inventory")
    for _ in range(4):
        refresh_now(dataset)
    snapshots = list(Snapshot.objects.filter(dataset=dataset))
    assert len(snapshots) == 2
    on_disk = sorted(p.name for p in dataset_dir("inventory").iterdir())
    assert on_disk == sorted(s.file_name for s in snapshots)


def test_progress_is_reported_while_records_stream(make_dataset, stocked_store, settings):
    settings.FEEDS_PROGRESS_EVERY = 1
    dataset = make_dataset("inventory")
    run = claim_refresh(dataset=dataset, trigger="command")
    seen = []
    run_refresh(run.pk, progress=lambda current: seen.append((current.status, current.records)))
    assert seen[:3] == [("running", 1), ("running", 2), ("running", 3)]
    assert seen[-1] == ("succeeded", 3)


def test_the_dispatcher_starts_due_datasets_once(make_dataset, stocked_store):
    from datetime import timedelta

    from django.utils import timezone

    due = make_dataset("inventory")
    later = make_dataset("later")
    Dataset.objects.filter(pk=later.pk).update(next_refresh_at=timezone.now() + timedelta(hours=1))
    assert dispatch_due() == 1
    assert dispatch_due() == 0  # leased, and next due an hour from now
    assert RefreshRun.objects.filter(dataset=due).count() == 1
    assert not RefreshRun.objects.filter(dataset=later).exists()
    due.refresh_from_db()
    assert due.next_refresh_at > timezone.now() + timedelta(minutes=59)


def test_the_command_refreshes_with_progress(make_dataset, stocked_store, capsys, settings):
    settings.FEEDS_PROGRESS_EVERY = 2
    make_dataset("inventory")
    call_command("feeds", "refresh", "inventory")
    out = capsys.readouterr().out
    assert "inventory: running records 2" in out
    assert "inventory: 3 records" in out
    with pytest.raises(CommandError, match="no dataset"):
        call_command("feeds", "refresh", "nope")


def test_one_periodic_dispatcher_job_serves_every_dataset():
    from django.utils.module_loading import import_string

    from shelfwatch.config.periodic import PERIODIC_JOBS

    jobs = [job for job in PERIODIC_JOBS if job.task.startswith("shelfwatch.feeds.")]
    assert [job.name for job in jobs] == ["dispatch-feed-refreshes"]
    assert import_string(jobs[0].task).name == "dispatch_due_refreshes"


def test_the_command_grants_a_key_and_prints_status(make_dataset, make_user, capsys):
    from shelfwatch.accounts.api_keys import create_api_key

    make_dataset("inventory")
    created = create_api_key(user=make_user("k@example.com"), name="k", scopes=["read"])
    call_command("feeds", "grant", "inventory", created.key.prefix)
    created.key.refresh_from_db()
    assert "feeds:inventory" in created.key.scopes
    call_command("feeds", "status", "inventory")
    assert '"snapshot": null' in capsys.readouterr().out
    with pytest.raises(CommandError, match="no API key"):
        call_command("feeds", "grant", "inventory", "nope")
