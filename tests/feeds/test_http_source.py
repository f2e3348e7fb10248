"""CSV and JSON sources over HTTP, fetched through the guarded client from a real server."""

from __future__ import annotations

import gzip
import json

import pytest

from shelfwatch.feeds.models import Dataset
from shelfwatch.feeds.storage import snapshot_path
from tests.fakes.feed_files import FeedFiles
from tests.feeds.conftest import refresh_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def host():
    with FeedFiles() as files:
        yield files


def records_of(dataset: Dataset) -> list[dict]:
    dataset.refresh_from_db()
    snapshot = dataset.current_snapshot
    with gzip.open(snapshot_path(dataset.name, snapshot.file_name)) as stored:
        return json.load(stored)["data"]


def test_csv_rows_become_records(make_dataset, host, loopback_allowed):
    host.put(
        "/stock.csv", '\ufeffsku,qty,name\nA1,5,"Rye, dark"\nB2,0,Spelt\n', content_type="text/csv"
    )
    dataset = make_dataset("stock", kind="http_csv", config={"url": host.url("/stock.csv")})
    assert refresh_now(dataset).status == "succeeded"
    assert records_of(dataset) == [
        {"sku": "A1", "qty": "5", "name": "Rye, dark"},
        {"sku": "B2", "qty": "0", "name": "Spelt"},
    ]


def test_json_records_at_a_path_with_a_change_cursor(make_dataset, host, loopback_allowed):
    host.put_json(
        "/api/items",
        {"meta": {}, "result": {"items": [{"id": 1, "at": 10}, {"id": 2, "at": 30}, 7]}},
    )
    dataset = make_dataset(
        "items",
        kind="http_json",
        config={
            "url": host.url("/api/items"),
            "records_path": "result.items",
            "cursor_field": "at",
        },
    )
    refresh_now(dataset)
    assert records_of(dataset) == [{"id": 1, "at": 10}, {"id": 2, "at": 30}, {"value": 7}]
    assert dataset.current_snapshot.cursor


def test_loopback_is_refused_without_the_allow_list(make_dataset, host):
    host.put_json("/x", [{"a": 1}])
    dataset = make_dataset("x", kind="http_json", config={"url": host.url("/x")})
    run = refresh_now(dataset)
    assert run.status == "failed" and run.error_code == "source_unreachable"
    assert "address_not_allowed" in run.error
    assert host.calls() == []


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda host: None, "source_failed"),  # 404
        (
            lambda host: host.put("/data", "{not json", content_type="application/json"),
            "source_failed",
        ),
        (lambda host: host.put_json("/data", {"rows": 1}), "source_failed"),
        (lambda host: (host.put_json("/data", []), host.slow_next(1, 3.0)), "source_timeout"),
    ],
)
def test_bad_remote_files_fail_clearly_and_keep_the_snapshot(
    make_dataset, host, loopback_allowed, setup, code
):
    host.put_json("/good", [{"a": 1}])
    dataset = make_dataset(
        "remote", kind="http_json", config={"url": host.url("/good"), "timeout_seconds": 1}
    )
    refresh_now(dataset)
    Dataset.objects.filter(pk=dataset.pk).update(
        source_config={**dataset.source_config, "url": host.url("/data")}
    )
    setup(host)
    run = refresh_now(dataset)
    assert run.status == "failed" and run.error_code == code, run.error
    assert records_of(dataset) == [{"a": 1}]


def test_a_file_over_the_size_cap_is_refused(make_dataset, host, loopback_allowed):
    host.put_json("/big", [{"n": i} for i in range(1000)])
    dataset = make_dataset(
        "big", kind="http_json", config={"url": host.url("/big"), "max_bytes": 1000}
    )
    run = refresh_now(dataset)
    assert run.error_code == "source_unreachable" and "response_too_large" in run.error


def test_non_http_urls_are_refused_when_the_dataset_is_made(make_dataset):
    from shelfwatch.feeds.datasets import InvalidDataset

    with pytest.raises(InvalidDataset):
        make_dataset("f", kind="http_csv", config={"url": "file:///etc/passwd"})


def test_since_on_a_source_without_a_change_field_is_a_400(
    make_dataset, host, loopback_allowed, feed_client
):
    from shelfwatch.http.cursors import encode_cursor

    host.put_json("/plain", [{"a": 1}])
    dataset = make_dataset("plain", kind="http_json", config={"url": host.url("/plain")})
    refresh_now(dataset)
    cursor = encode_cursor("plain", 1)
    response = feed_client("plain").get(f"/api/v1/feeds/plain?since={cursor}")
    assert response.status_code == 400 and response.json()["code"] == "since_unsupported"


def test_csv_records_arrive_while_the_file_is_still_downloading(
    make_dataset, host, loopback_allowed
):
    from shelfwatch.feeds import sources

    head = '\ufeffsku,note\r\nA1,"two\r\nlines"\r\n'
    host.put(
        "/big.csv", head + "".join(f"S{n},x\r\n" for n in range(5000)), content_type="text/csv"
    )
    gate = host.hold("/big.csv", after=len(head.encode()) + 3)  # the BOM and the first row
    # The server holds the rest for 10 s, past this timeout: a client that waited for the
    # whole body would fail here with a timeout.
    dataset = make_dataset(
        "big", kind="http_csv", config={"url": host.url("/big.csv"), "timeout_seconds": 4}
    )
    records = sources.open_records(dataset, limit=10_000)
    try:
        assert next(records) == {"sku": "A1", "note": "two\r\nlines"}
        gate.set()
        rest = list(records)
    finally:
        gate.set()
        records.close()
    assert len(rest) == 5000 and rest[-1] == {"sku": "S4999", "note": "x"}


def test_json_lines_are_read_line_by_line_and_a_bad_line_is_named(
    make_dataset, host, loopback_allowed
):
    host.put("/rows.jsonl", '{"id": 1}\n\n{"id": 2}\n3\n', content_type="application/x-ndjson")
    dataset = make_dataset(
        "rows", kind="http_json", config={"url": host.url("/rows.jsonl"), "lines": True}
    )
    assert refresh_now(dataset).status == "succeeded"
    assert records_of(dataset) == [{"id": 1}, {"id": 2}, {"value": 3}]

    host.put("/rows.jsonl", '{"id": 1}\n{"id": \n', content_type="application/x-ndjson")
    run = refresh_now(dataset)
    assert run.status == "failed" and run.error_code == "bad_record"
    assert run.error.startswith("line 2 is not JSON")
    assert records_of(dataset) == [{"id": 1}, {"id": 2}, {"value": 3}]


def test_json_lines_settings_are_checked(make_dataset):
    from shelfwatch.feeds.datasets import InvalidDataset

    with pytest.raises(InvalidDataset, match="true or false"):
        make_dataset("f", kind="http_json", config={"url": "https://x.example/", "lines": "yes"})
    with pytest.raises(InvalidDataset, match="not JSON Lines"):
        make_dataset(
            "f",
            kind="http_json",
            config={"url": "https://x.example/", "lines": True, "records_path": "a"},
        )


def test_a_json_list_is_read_item_by_item_while_it_downloads(make_dataset, host, loopback_allowed):
    from shelfwatch.feeds import sources

    first = '[{"sku": "A1", "qty": 5},'
    host.put_json("/items", [{"sku": "A1", "qty": 5}] + [{"sku": f"S{n}"} for n in range(3000)])
    gate = host.hold("/items", after=len(first) + 1)
    dataset = make_dataset(
        "items", kind="http_json", config={"url": host.url("/items"), "timeout_seconds": 4}
    )
    records = sources.open_records(dataset, limit=10_000)
    try:
        # The server holds the rest past the timeout: only a streaming reader gets here.
        assert next(records) == {"sku": "A1", "qty": 5}
        gate.set()
        rest = list(records)
    finally:
        gate.set()
        records.close()
    assert len(rest) == 3000 and rest[-1] == {"sku": "S2999"}
