"""The feeds HTTP API: access, cached reads, conditional requests, formats, cursors, refresh."""

from __future__ import annotations

import gzip
import json

import pytest

from shelfwatch.feeds.models import Dataset, RefreshRun
from shelfwatch.feeds.storage import snapshot_path
from tests.feeds.conftest import refresh_now

pytestmark = pytest.mark.django_db

URL = "/api/v1/feeds/inventory"


@pytest.fixture
def inventory(make_dataset, stocked_store):
    dataset = make_dataset("inventory")
    refresh_now(dataset)
    return Dataset.objects.select_related("current_snapshot").get(pk=dataset.pk)


def body_of(response) -> bytes:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return gzip.decompress(content) if response.get("Content-Encoding") == "gzip" else content


def test_health_needs_no_key(client, make_dataset):
    make_dataset("inventory")
    response = client.get("/api/v1/feeds/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "datasets": 1}


def test_missing_or_wrong_key_is_401_problem(client, inventory):
    assert client.get(URL).status_code == 401
    response = client.get(URL, headers={"X-API-Key": "sw_nothing_here"})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_credentials"


def test_a_key_without_the_scope_gets_403_whether_or_not_the_dataset_exists(feed_client, inventory):
    caller = feed_client("orders")  # a key for another dataset
    existing = caller.get(URL)
    missing = caller.get("/api/v1/feeds/no-such-feed")
    assert existing.status_code == missing.status_code == 403
    assert existing.json()["code"] == missing.json()["code"] == "dataset_forbidden"
    # The same answer apart from the name it was asked about: nothing tells the two apart.
    strip = lambda body: {k: v for k, v in body.items() if k != "instance"}  # noqa: E731
    assert strip(existing.json()) == {**strip(missing.json()), "detail": existing.json()["detail"]}
    assert existing.json()["detail"].replace("inventory", "X") == missing.json()["detail"].replace(
        "no-such-feed", "X"
    )


def test_an_allowed_key_for_a_missing_dataset_gets_404(feed_client, inventory):
    response = feed_client("gone").get("/api/v1/feeds/gone")
    assert response.status_code == 404 and response.json()["code"] == "dataset_not_found"


def test_no_snapshot_yet_is_503_problem(feed_client, make_dataset):
    make_dataset("inventory")
    response = feed_client("inventory").get(URL)
    assert response.status_code == 503
    assert response.json()["code"] == "no_snapshot" and response["Retry-After"]


def test_the_envelope_as_the_seed_serves_it(feed_client, inventory):
    response = feed_client("inventory").get(URL)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    document = json.loads(body_of(response))
    assert document["status"] == "success" and document["count"] == 3
    assert len(document["data"]) == 3
    assert response["ETag"] == f'"{inventory.current_snapshot.etag}"'
    assert int(response["Content-Length"]) == inventory.current_snapshot.raw_bytes


def test_gzip_clients_get_the_stored_bytes_unchanged(feed_client, inventory):
    response = feed_client("inventory").get(URL, **{"Accept-Encoding": "br, gzip;q=0.8"})
    assert response["Content-Encoding"] == "gzip"
    sent = b"".join(response.streaming_content)
    snapshot = inventory.current_snapshot
    assert sent == snapshot_path("inventory", snapshot.file_name).read_bytes()
    assert response["ETag"] == f'"{snapshot.etag}-gzip"'
    assert "Accept-Encoding" in response["Vary"]
    # One copy per encoding in a shared cache, not one per reader's browser language too.
    assert "Accept-Language" not in response["Vary"]
    refused = feed_client("inventory").get(URL, **{"Accept-Encoding": "gzip;q=0"})
    assert refused.get("Content-Encoding") is None


def test_if_none_match_gives_304_and_a_tag_of_another_dataset_does_not(
    feed_client, inventory, make_dataset
):
    other = make_dataset("other")
    refresh_now(other)  # the same rows, so only the name tells the tags apart
    caller = feed_client("inventory", "other")
    etag = caller.get(URL)["ETag"]
    assert caller.get(URL, **{"If-None-Match": etag}).status_code == 304
    assert caller.get(URL, **{"If-None-Match": f'W/{etag}, "x"'}).status_code == 304
    other_etag = caller.get("/api/v1/feeds/other")["ETag"]
    assert other_etag != etag
    response = caller.get(URL, **{"If-None-Match": other_etag})
    assert response.status_code == 200 and json.loads(body_of(response))["count"] == 3


def test_a_repeated_304_costs_one_query_and_a_new_snapshot_is_seen_at_once(
    feed_client, inventory, settings
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.AUTH_CACHE_SECONDS = 60
    caller = feed_client("inventory")
    etag = caller.get(URL)["ETag"]
    assert caller.get(URL, **{"If-None-Match": etag}).status_code == 304
    with CaptureQueriesContext(connection) as queries:
        assert caller.get(URL, **{"If-None-Match": etag}).status_code == 304
    assert len(queries) == 1  # the dataset row, compared with the one this process kept

    refresh_now(inventory)  # the same records, a new snapshot: the tag may stay the same
    Dataset.objects.filter(pk=inventory.pk).update(description="changed behind the ORM")
    response = caller.get(URL)
    assert response.status_code == 200
    assert response["X-Feed-Count"] == "3"
    current = Dataset.objects.select_related("current_snapshot").get(pk=inventory.pk)
    assert current.current_snapshot_id != inventory.current_snapshot_id
    status = caller.get(f"{URL}/status").json()
    assert status["snapshot"]["finished_at"] == current.current_snapshot.finished_at.isoformat()
    assert status["description"] == "changed behind the ORM"


def test_ndjson_and_field_selection(feed_client, inventory):
    caller = feed_client("inventory")
    response = caller.get(URL + "?format=ndjson&fields=id,quantity")
    assert response["Content-Type"] == "application/x-ndjson"
    lines = body_of(response).decode().splitlines()
    assert [set(json.loads(line)) for line in lines] == [{"id", "quantity"}] * 3
    compressed = caller.get(URL + "?fields=quantity", **{"Accept-Encoding": "gzip"})
    document = json.loads(body_of(compressed))
    assert document["count"] == 3 and document["data"][0] == {"quantity": 5}
    assert compressed["ETag"] != caller.get(URL)["ETag"]


def test_bad_format_or_fields_are_400_problems(feed_client, inventory):
    caller = feed_client("inventory")
    assert caller.get(URL + "?format=xml").json()["code"] == "invalid_format"
    assert caller.get(URL + "?fields=,,").json()["code"] == "invalid_fields"


def test_since_returns_only_records_changed_after_the_cursor(feed_client, inventory):
    from shelfwatch.inventory.models import StockItem

    caller = feed_client("inventory")
    cursor = json.loads(body_of(caller.get(URL)))["cursor"]
    assert cursor
    empty = json.loads(body_of(caller.get(URL + f"?since={cursor}")))
    assert empty["count"] == 0 and empty["data"] == []
    changed = StockItem.objects.order_by("id").first()
    changed.quantity = 99
    changed.save()
    refresh_now(inventory)
    document = json.loads(body_of(caller.get(URL + f"?since={cursor}")))
    assert [row["id"] for row in document["data"]] == [changed.pk]
    assert document["cursor"] != cursor


def test_malformed_or_foreign_cursors_are_400_with_their_own_code(
    feed_client, inventory, make_dataset
):
    from shelfwatch.http.cursors import encode_cursor

    caller = feed_client("inventory")
    for bad in ("not-a-cursor", "e30", encode_cursor("other", "2020-01-01")):
        response = caller.get(URL + f"?since={bad}")
        assert response.status_code == 400, bad
        assert response.json()["code"] == "invalid_cursor"
    # Nothing changed: the feed still serves the last snapshot.
    assert caller.get(URL).status_code == 200


def test_refresh_true_answers_from_cache_and_starts_one_refresh(feed_client, inventory):
    caller = feed_client("inventory")
    response = caller.get(URL + "?refresh=true")
    assert response.status_code == 200 and json.loads(body_of(response))["count"] == 3
    assert response["X-Feed-Refresh"] == "triggered"
    assert caller.get(URL + "?refresh=true")["X-Feed-Refresh"] == "already in progress"
    assert RefreshRun.objects.filter(dataset=inventory, trigger="api").count() == 1


def test_a_read_only_key_asking_for_a_refresh_is_refused_and_nothing_is_rebuilt(
    feed_client, inventory
):
    caller = feed_client("inventory", scopes=("read",))
    runs = RefreshRun.objects.filter(dataset=inventory).count()
    response = caller.get(URL + "?refresh=true")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "refresh_not_allowed"
    assert RefreshRun.objects.filter(dataset=inventory).count() == runs
    # Reading stays open to it.
    assert caller.get(URL).status_code == 200
    assert caller.get(URL + "?refresh=false").status_code == 200


def test_post_refresh_is_202_once_then_already_in_progress(feed_client, inventory):
    caller = feed_client("inventory")
    first = caller.post(URL + "/refresh")
    assert first.status_code == 202 and first.json()["status"] == "triggered"
    second = caller.post(URL + "/refresh")
    assert second.status_code == 202 and second.json() == {
        "status": "already in progress",
        "run": None,
    }
    read_only = feed_client("inventory", scopes=("read",)).post(URL + "/refresh")
    assert read_only.status_code == 403


def test_status_reports_snapshot_last_refresh_and_running(feed_client, inventory, settings):
    caller = feed_client("inventory")
    status = caller.get(URL + "/status").json()
    assert status["snapshot"]["count"] == 3 and status["snapshot"]["age_seconds"] >= 0
    assert status["snapshot"]["bytes"] == inventory.current_snapshot.raw_bytes
    assert status["last_refresh"]["status"] == "succeeded"
    assert status["refreshing"] is False and status["refresh_every_seconds"] == 3600
    caller.post(URL + "/refresh")
    running = caller.get(URL + "/status").json()
    assert running["refreshing"] is True
    assert running["current_refresh"]["status"] == "queued"


def test_a_failed_refresh_shows_in_status_while_the_old_snapshot_is_served(
    feed_client, inventory, settings
):
    settings.FEEDS_MAX_RECORDS = 1
    refresh_now(inventory)
    caller = feed_client("inventory")
    status = caller.get(URL + "/status").json()
    assert status["last_refresh"]["status"] == "failed"
    assert status["last_refresh"]["error_code"] == "row_limit_exceeded"
    assert json.loads(body_of(caller.get(URL)))["count"] == 3


def test_owner_and_admin_read_without_a_feed_scope(client, callers, make_dataset, stocked_store):
    from shelfwatch.accounts.models import StoreMembership

    staff = callers["users"]["staff_a"]
    StoreMembership.objects.filter(user=staff).update(role="owner")
    make_dataset("mine", config={"table": "inventory", "store_id": stocked_store.pk}, owner=staff)
    assert callers["staff_a"].get("/api/v1/feeds/mine/status").status_code == 200
    assert callers["admin"].get("/api/v1/feeds/mine/status").status_code == 200
    assert callers["customer"].get("/api/v1/feeds/mine/status").status_code == 403


def test_grant_read_adds_the_dataset_scope(client, make_dataset, make_user):
    from shelfwatch.accounts.api_keys import create_api_key
    from shelfwatch.feeds.datasets import grant_read

    dataset = make_dataset("inventory")
    created = create_api_key(user=make_user("c@example.com"), name="c", scopes=["read"])
    headers = {"X-API-Key": created.raw}
    assert client.get(URL + "/status", headers=headers).status_code == 403
    grant_read(api_key=created.key, dataset=dataset)
    assert client.get(URL + "/status", headers=headers).status_code == 200


def test_stream_requests_reaching_django_are_sent_elsewhere(feed_client, inventory):
    response = feed_client("inventory").get(URL + "?stream=true")
    assert response.status_code == 421 and response.json()["code"] == "stream_misrouted"


def test_a_caller_without_access_is_refused_even_with_the_current_etag(
    feed_client, inventory, make_dataset
):
    etag = feed_client("inventory").get(URL, **{"Accept-Encoding": "gzip"})["ETag"]
    conditional = {"If-None-Match": etag, "Accept-Encoding": "gzip"}
    stranger = feed_client("orders").get(URL, **conditional)  # a key for another dataset
    assert stranger.status_code == 403
    assert stranger["Content-Type"] == "application/problem+json"
    assert stranger.json()["code"] == "dataset_forbidden"
    assert feed_client("inventory").get(URL, **conditional).status_code == 304


def test_a_304_carries_the_tag_and_caching_rules_and_a_refresh_with_new_records_ends_it(
    feed_client, inventory
):
    from shelfwatch.inventory.models import StockItem
    from shelfwatch.inventory.stock import set_quantity

    caller = feed_client("inventory")
    etag = caller.get(URL)["ETag"]
    not_modified = caller.get(URL, **{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert not_modified["Cache-Control"] == "private, no-cache"
    assert "X-API-Key" in not_modified["Vary"]

    item = StockItem.objects.order_by("pk").first()
    set_quantity(item=item, quantity=item.quantity + 10)
    refresh_now(inventory)
    response = caller.get(URL, **{"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert caller.get(URL, **{"If-None-Match": response["ETag"]}).status_code == 304
