"""Feed sources are parsed strictly: a malformed row fails the refresh with its line number
and the last good snapshot stays; `"on_bad_rows": "skip"` skips and counts bad rows instead.
NaN and Infinity never reach a client. Every refresh runs the real path against a file
server on loopback."""

from __future__ import annotations

import gzip
import json
import math

import pytest

from shelfwatch.feeds.models import Dataset
from shelfwatch.feeds.status import dataset_status
from shelfwatch.feeds.storage import snapshot_path
from tests.fakes.feed_files import FeedFiles
from tests.feeds.conftest import refresh_now

pytestmark = pytest.mark.django_db

GOOD_CSV = "sku,qty,name\nA1,5,Rye\nB2,0,Spelt\n"
GOOD_RECORDS = [
    {"sku": "A1", "qty": "5", "name": "Rye"},
    {"sku": "B2", "qty": "0", "name": "Spelt"},
]


@pytest.fixture
def host(loopback_allowed):
    with FeedFiles() as files:
        yield files


def stored_body(dataset: Dataset) -> bytes:
    dataset.refresh_from_db()
    snapshot = dataset.current_snapshot
    with gzip.open(snapshot_path(dataset.name, snapshot.file_name)) as stored:
        return stored.read()


def records_of(dataset: Dataset) -> list[dict]:
    return json.loads(stored_body(dataset))["data"]


def csv_dataset(make_dataset, host, body: bytes | str, **config):
    host.put("/stock.csv", GOOD_CSV, content_type="text/csv")
    dataset = make_dataset(
        "stock", kind="http_csv", config={"url": host.url("/stock.csv"), **config}
    )
    assert refresh_now(dataset).status == "succeeded"
    host.put("/stock.csv", body, content_type="text/csv")
    return dataset


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'sku,qty,name\nA1,5,Rye\nB2,0,"Spelt\nC3,1,Oat\nD4,2,Barley\n',
            "CSV line 3: a quoted field opened in this row never closes",
        ),
        ("sku,qty,name\nA1,5,Rye\nB2,0,Spelt,extra\nC3,1,Oat\n", "CSV line 3: 4 fields"),
        ("sku,qty,name\nA1,5,Rye\nB2,0\n", "CSV line 3: 2 fields where the header has 3"),
        ('sku,qty,name\nA1,5,Rye\nB2,0,"Sp"elt\n', "CSV line 3: "),
        (b"sku,qty,name\nA1,5,Rye\nB2,0,Sp\xe9lt\nC3,1,Oat\n", "line 3 is not UTF-8"),
    ],
)
def test_a_malformed_csv_row_fails_the_refresh_naming_its_line(make_dataset, host, body, message):
    dataset = csv_dataset(make_dataset, host, body)
    run = refresh_now(dataset)
    assert (run.status, run.error_code) == ("failed", "bad_record")
    assert run.error.startswith(message), run.error
    assert records_of(dataset) == GOOD_RECORDS  # the last good snapshot is still served


def test_invalid_utf8_split_across_chunks_names_its_line(make_dataset, host):
    # A long file arrives in several chunks; the bad byte is far from the start.
    rows = "".join(f"S{n},1,Loaf\n" for n in range(3000))
    body = ("sku,qty,name\n" + rows).encode() + b"Z9,1,\xff\xfe\n"
    dataset = csv_dataset(make_dataset, host, body)
    run = refresh_now(dataset)
    assert run.error_code == "bad_record" and run.error.startswith("line 3002 is not UTF-8")


def test_skipping_bad_rows_keeps_the_good_ones_and_counts_the_rest(make_dataset, host):
    body = (
        b"sku,qty,name\nA1,5,Rye\nB2,0,Spelt,extra\nC3,1\nD4,\xff,Oat\n"
        b'E5,2,"Barley ""pearl"""\nF6,3,"Sp"elt\nG7,4,Wheat\n'
    )
    dataset = csv_dataset(make_dataset, host, body, on_bad_rows="skip")
    run = refresh_now(dataset)
    assert run.status == "succeeded", run.error
    assert [r["sku"] for r in records_of(dataset)] == ["A1", "E5", "G7"]
    assert records_of(dataset)[1]["name"] == 'Barley "pearl"'
    last = dataset_status(dataset)["last_refresh"]
    assert last["skipped_rows"] == 4
    assert last["first_skipped"].startswith("CSV line 3: 4 fields")


def test_a_strict_refresh_reports_no_skipped_rows(make_dataset, host):
    dataset = csv_dataset(make_dataset, host, GOOD_CSV)
    refresh_now(dataset)
    assert dataset_status(dataset)["last_refresh"]["skipped_rows"] == 0


def test_skipping_applies_to_json_lines_too(make_dataset, host):
    host.put("/rows.jsonl", b'{"id": 1}\n{"id": NaN}\n{"id": \n\xff\n{"id": 2}\n')
    dataset = make_dataset(
        "rows",
        kind="http_json",
        config={"url": host.url("/rows.jsonl"), "lines": True, "on_bad_rows": "skip"},
    )
    run = refresh_now(dataset)
    assert run.status == "succeeded" and run.skipped_rows == 3
    assert records_of(dataset) == [{"id": 1}, {"id": 2}]


def test_on_bad_rows_is_checked(make_dataset):
    from shelfwatch.feeds.datasets import InvalidDataset

    with pytest.raises(InvalidDataset, match="on_bad_rows"):
        make_dataset(
            "f", kind="http_csv", config={"url": "https://x.example/", "on_bad_rows": "ignore"}
        )
    with pytest.raises(InvalidDataset, match="on_bad_rows"):
        make_dataset(
            "f", kind="http_json", config={"url": "https://x.example/", "on_bad_rows": "skip"}
        )


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("shape", ["list", "records_path", "lines"])
def test_nan_and_infinity_in_json_fail_the_refresh(make_dataset, host, constant, shape):
    config = {"url": host.url("/data")}
    if shape == "list":
        host.put("/data", f'[{{"id": 1, "price": {constant}}}]')
    elif shape == "records_path":
        host.put("/data", f'{{"items": [{{"id": 1, "price": {constant}}}]}}')
        config["records_path"] = "items"
    else:
        host.put("/data", f'{{"id": 0}}\n{{"id": 1, "price": {constant}}}\n')
        config["lines"] = True
    dataset = make_dataset("prices", kind="http_json", config=config)
    run = refresh_now(dataset)
    assert run.status == "failed", records_of(dataset)
    assert f"{constant.lstrip('-')} is not a JSON number" in run.error
    if shape == "lines":
        assert run.error.startswith("line 2 is not JSON")


def test_non_finite_numbers_from_a_database_are_stored_as_null(make_dataset, tmp_path):
    import sqlite3

    path = tmp_path / "prices.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE prices (id INTEGER, price REAL)")
        db.executemany(
            "INSERT INTO prices VALUES (?, ?)", [(1, 2.5), (2, math.inf), (3, -math.inf)]
        )
    db.close()
    dataset = make_dataset(
        "prices",
        kind="sql",
        config={"url": f"sqlite:///{path}", "query": "SELECT id, price FROM prices ORDER BY id"},
    )
    assert refresh_now(dataset).status == "succeeded"
    body = stored_body(dataset)
    assert b"Infinity" not in body and b"NaN" not in body
    assert records_of(dataset) == [
        {"id": 1, "price": 2.5},
        {"id": 2, "price": None},
        {"id": 3, "price": None},
    ]
