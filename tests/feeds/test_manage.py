"""Managing datasets through the API and the CLI: create, list, change, delete."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from shelfwatch.accounts.models import ApiKey
from shelfwatch.feeds.models import Dataset, RefreshRun, RefreshStatus
from shelfwatch.feeds.refresh import dispatch_due, run_refresh
from shelfwatch.feeds.storage import dataset_dir
from tests.feeds.conftest import refresh_now

pytestmark = pytest.mark.django_db

FEEDS = "/api/v1/feeds"


def test_an_admin_creates_a_dataset_and_its_first_refresh_starts_at_once(callers, stocked_store):
    created = callers["admin"].post(
        FEEDS,
        {
            "name": "stock",
            "source": {"kind": "internal", "table": "inventory"},
            "description": "every store's stock",
            "refresh_every_seconds": 900,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "stock" and body["refresh_every_seconds"] == 900
    assert body["refreshing"] is True and body["current_refresh"]["status"] == "queued"
    dataset = Dataset.objects.get(name="stock")
    assert dataset.owner == callers["users"]["admin"]
    run = RefreshRun.objects.get(dataset=dataset)
    assert run_refresh(run.pk).status == RefreshStatus.SUCCEEDED
    status = callers["admin"].get(FEEDS + "/stock/status").json()
    assert status["snapshot"]["count"] == 3 and status["refreshing"] is False


def test_store_staff_create_datasets_over_their_own_store_only(callers, stocked_store, store_b):
    staff = callers["staff_a"]
    mine = staff.post(
        FEEDS,
        {
            "name": "my-stock",
            "source": {"kind": "internal", "table": "inventory", "store_id": stocked_store.pk},
        },
    )
    assert mine.status_code == 201, mine.content
    assert Dataset.objects.get(name="my-stock").owner == callers["users"]["staff_a"]

    other = staff.post(
        FEEDS,
        {
            "name": "their-stock",
            "source": {"kind": "internal", "table": "inventory", "store_id": store_b.pk},
        },
    )
    assert other.status_code == 422 and other.json()["code"] == "invalid_source"
    everything = staff.post(
        FEEDS, {"name": "all-stock", "source": {"kind": "internal", "table": "inventory"}}
    )
    assert everything.status_code == 422 and "admin owner" in everything.json()["detail"]
    external = staff.post(
        FEEDS,
        {
            "name": "shop-db",
            "source": {"kind": "sql", "url": "sqlite:///x.db", "query": "SELECT 1"},
        },
    )
    assert external.status_code == 403 and external.json()["code"] == "source_admin_only"
    assert callers["anon"].post(FEEDS, {"name": "x", "source": {}}).status_code == 401
    assert set(Dataset.objects.values_list("name", flat=True)) == {"my-stock"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"name": "Bad Name", "source": {"kind": "internal", "table": "inventory"}},
            422,
            "invalid_dataset",
        ),
        ({"name": "ok", "source": {"kind": "ftp"}}, 422, "invalid_source"),
        ({"name": "ok", "source": {"kind": "internal", "table": "users"}}, 422, "invalid_source"),
        (
            {
                "name": "ok",
                "source": {"kind": "internal", "table": "inventory"},
                "refresh_every_seconds": 5,
            },
            422,
            "invalid_refresh_interval",
        ),
        (
            {"name": "inventory", "source": {"kind": "internal", "table": "products"}},
            409,
            "dataset_exists",
        ),
    ],
)
def test_bad_dataset_definitions_are_refused_and_change_nothing(
    callers, make_dataset, body, status, code
):
    make_dataset("inventory")
    response = callers["admin"].post(FEEDS, body)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert list(Dataset.objects.values_list("name", "source_config")) == [
        ("inventory", {"table": "inventory", "store_id": None})
    ]
    assert not RefreshRun.objects.exists()


def test_the_list_holds_what_the_caller_may_read(client, callers, make_dataset, feed_client):
    make_dataset("inventory")
    make_dataset("products", config={"table": "products"})
    listed = feed_client("products", scopes=("read",)).get(FEEDS).json()["datasets"]
    assert [entry["name"] for entry in listed] == ["products"]
    assert listed[0]["snapshot"] is None and listed[0]["active"] is True
    everything = callers["admin"].get(FEEDS).json()["datasets"]
    assert [entry["name"] for entry in everything] == ["inventory", "products"]
    assert callers["customer"].get(FEEDS).json() == {"datasets": []}
    assert client.get(FEEDS).status_code == 401


def test_the_owner_changes_the_schedule_and_pauses_it(callers, make_dataset, feed_client):
    dataset = make_dataset("inventory", owner=callers["users"]["admin"])
    reader = feed_client("inventory")  # may read and write, but does not own it
    refused = reader.patch(FEEDS + "/inventory", {"active": False})
    assert refused.status_code == 403 and refused.json()["code"] == "dataset_owner_required"

    changed = callers["admin"].patch(
        FEEDS + "/inventory", {"refresh_every_seconds": 7200, "active": False, "description": "d"}
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["refresh_every_seconds"] == 7200 and changed.json()["active"] is False
    dataset.refresh_from_db()
    assert dataset.description == "d" and not dataset.is_active
    assert dispatch_due() == 0  # due since creation, but paused
    bad = callers["admin"].patch(FEEDS + "/inventory", {"refresh_every_seconds": 0})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_refresh_interval"

    callers["admin"].patch(FEEDS + "/inventory", {"active": True})
    Dataset.objects.filter(pk=dataset.pk).update(next_refresh_at=dataset.created_at)
    assert dispatch_due() == 1


def test_deleting_removes_snapshots_and_the_scope_keys_held(
    client, callers, make_dataset, reader_key, stocked_store, django_capture_on_commit_callbacks
):
    dataset = make_dataset("inventory")
    refresh_now(dataset)
    assert any(dataset_dir("inventory").iterdir())
    raw = reader_key("inventory", scopes=("read", "write"))
    key = ApiKey.objects.get(scopes__icontains='"feeds:inventory"')

    owner_only = client.delete(FEEDS + "/inventory", headers={"X-API-Key": raw})
    assert owner_only.status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        deleted = callers["admin"].delete(FEEDS + "/inventory")
    assert deleted.status_code == 204
    assert not Dataset.objects.exists() and not RefreshRun.objects.exists()
    assert not dataset_dir("inventory").exists()
    key.refresh_from_db()
    assert "feeds:inventory" not in key.scopes and "read" in key.scopes

    # A new dataset under the same name is not readable with the old grant.
    make_dataset("inventory")
    again = client.get(FEEDS + "/inventory/status", headers={"X-API-Key": raw})
    assert again.status_code == 403


def test_a_dataset_being_refreshed_is_not_deleted(callers, make_dataset):
    make_dataset("inventory")
    assert callers["admin"].post(FEEDS + "/inventory/refresh").status_code == 202
    refused = callers["admin"].delete(FEEDS + "/inventory")
    assert refused.status_code == 409 and refused.json()["code"] == "refresh_in_progress"
    assert Dataset.objects.filter(name="inventory").exists()


def test_the_command_creates_and_deletes(make_user, stocked_store, capsys):
    make_user("ops@example.com", admin=True)

    def create(name: str, config: str, owner: str = "ops@example.com", *extra: str) -> None:
        call_command(
            "feeds", "create", name, "--source", "internal", "--config", config, "--owner", owner,
            *extra,
        )  # fmt: skip

    create("orders-feed", '{"table": "inventory"}', "ops@example.com", "--every", "600")
    assert "created orders-feed" in capsys.readouterr().out
    dataset = Dataset.objects.get(name="orders-feed")
    assert dataset.refresh_every.total_seconds() == 600
    with pytest.raises(CommandError, match="dataset_exists"):
        create("orders-feed", '{"table": "products"}')
    with pytest.raises(CommandError, match="not JSON"):
        create("x", "{")
    with pytest.raises(CommandError, match="no user"):
        create("x", '{"table": "products"}', "nobody@example.com")
    call_command("feeds", "delete", "orders-feed")
    assert "deleted orders-feed" in capsys.readouterr().out
    assert not Dataset.objects.exists()
