"""External SQL sources against real SQLite, PostgreSQL and MariaDB servers."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import time

import pytest

from shelfwatch.feeds.datasets import InvalidDataset
from shelfwatch.feeds.models import Dataset
from shelfwatch.feeds.sources import QueryRejected
from shelfwatch.feeds.sources.sql import check_query
from shelfwatch.feeds.storage import snapshot_path
from tests.conftest import free_port
from tests.feeds.conftest import refresh_now

pytestmark = pytest.mark.django_db

POSTGRES_URL = os.environ.get(
    "FEEDS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
MARIADB_URL = os.environ.get("FEEDS_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test")
TEN_MILLION = (
    "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 10000000) "
    "SELECT n FROM s"
)


def reachable_postgres() -> str:
    import psycopg

    try:
        psycopg.connect(
            POSTGRES_URL.replace("postgres://", "postgresql://", 1), connect_timeout=2
        ).close()
    except psycopg.OperationalError:
        missing_server("PostgreSQL")
    return POSTGRES_URL


def missing_server(what: str) -> None:
    """Skip, loudly in the summary; under REQUIRE_SERVICES=1 (CI) a missing server fails."""
    message = f"no {what} server for external SQL tests"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (REQUIRE_SERVICES=1)")
    pytest.skip(message)


def reachable_mariadb() -> str:
    import pymysql

    try:
        pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test").close()
    except pymysql.MySQLError:
        missing_server("MariaDB")
    return MARIADB_URL


@pytest.fixture
def sql_dataset(make_dataset):
    def make(url: str, query: str, name: str = "external", **config) -> Dataset:
        return make_dataset(name, kind="sql", config={"url": url, "query": query, **config})

    return make


def records_of(dataset: Dataset) -> list[dict]:
    dataset.refresh_from_db()
    snapshot = dataset.current_snapshot
    with gzip.open(snapshot_path(dataset.name, snapshot.file_name)) as stored:
        return json.load(stored)["data"]


@pytest.fixture
def sqlite_file(tmp_path):
    path = tmp_path / "shop.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total TEXT, updated_at TEXT)")
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?)",
            [(i, f"{i}.50", f"2026-01-0{i}T00:00:00") for i in range(1, 6)],
        )
    return path


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM orders",
        "select 1; drop table orders",
        "INSERT INTO t SELECT 1",
        "SELECT * FROM t INTO OUTFILE 'out.txt'",
        "SELECT * FROM t FOR UPDATE",
        "/* select */ UPDATE t SET a = 1",
        "",
    ],
)
def test_only_single_select_statements_pass(query):
    with pytest.raises(QueryRejected):
        check_query(query)


def test_a_write_is_refused_before_the_dataset_exists(sql_dataset, sqlite_file):
    with pytest.raises(InvalidDataset, match="only SELECT"):
        sql_dataset(f"sqlite:///{sqlite_file}", "DELETE FROM orders")
    with pytest.raises(InvalidDataset, match="URL"):
        sql_dataset("oracle://db/x", "SELECT 1")


def test_sqlite_rows_become_records_with_a_cursor(sql_dataset, sqlite_file):
    dataset = sql_dataset(
        f"sqlite:///{sqlite_file}", "SELECT * FROM orders ORDER BY id", cursor_column="updated_at"
    )
    assert refresh_now(dataset).status == "succeeded"
    rows = records_of(dataset)
    assert [row["id"] for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0] == {"id": 1, "total": "1.50", "updated_at": "2026-01-01T00:00:00"}
    assert dataset.current_snapshot.cursor


def test_sqlite_is_opened_read_only(sql_dataset, sqlite_file):
    # A query that slips a write past the statement check still cannot write.
    dataset = sql_dataset(
        f"sqlite:///{sqlite_file}",
        "WITH x AS (SELECT 1) SELECT * FROM x",
    )
    Dataset.objects.filter(pk=dataset.pk).update(
        source_config={**dataset.source_config, "query": "INSERT INTO orders VALUES (9, '', '')"}
    )
    run = refresh_now(dataset)
    assert run.status == "failed" and run.error_code == "query_rejected"
    with sqlite3.connect(sqlite_file) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (5,)


def test_ten_million_rows_stop_at_the_limit(sql_dataset, sqlite_file):
    dataset = sql_dataset(f"sqlite:///{sqlite_file}", TEN_MILLION, row_limit=1000)
    started = time.monotonic()
    run = refresh_now(dataset)
    assert run.status == "failed" and run.error_code == "row_limit_exceeded"
    assert "more than 1000 rows" in run.error
    assert time.monotonic() - started < 30  # stopped early, not after 10M rows


def test_a_slow_sqlite_query_times_out(sql_dataset, sqlite_file):
    slow = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s) SELECT count(*) FROM s"
    dataset = sql_dataset(f"sqlite:///{sqlite_file}", slow, timeout_seconds=0.5)
    run = refresh_now(dataset)
    assert run.status == "failed" and run.error_code == "source_timeout"


def test_postgres_source_streams_and_enforces_limit_timeout_and_read_only(sql_dataset):
    url = reachable_postgres()
    dataset = sql_dataset(
        url, "SELECT n AS id, n * 1.5 AS price FROM generate_series(1, 2500) AS n ORDER BY n"
    )
    assert refresh_now(dataset).status == "succeeded"
    rows = records_of(dataset)
    assert len(rows) == 2500 and rows[1] == {"id": 2, "price": "3.0"}

    limited = sql_dataset(url, TEN_MILLION, name="big", row_limit=5000)
    run = refresh_now(limited)
    assert run.error_code == "row_limit_exceeded"

    slow = sql_dataset(url, "SELECT pg_sleep(5)", name="slow", timeout_seconds=1)
    assert refresh_now(slow).error_code == "source_timeout"

    writer = sql_dataset(
        url,
        "WITH gone AS (DELETE FROM pg_catalog.pg_description WHERE false RETURNING 1) "
        "SELECT * FROM gone",
        name="writer",
    )
    assert refresh_now(writer).error_code == "query_rejected"

    # A SELECT with a side effect passes the statement check; the read-only session stops it.
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE IF NOT EXISTS feeds_test_sequence")
        before = conn.execute("SELECT last_value FROM feeds_test_sequence").fetchone()
        bumper = sql_dataset(url, "SELECT nextval('feeds_test_sequence')", name="bumper")
        run = refresh_now(bumper)
        assert run.error_code == "query_rejected", run.error
        assert conn.execute("SELECT last_value FROM feeds_test_sequence").fetchone() == before


def test_mariadb_table_source_with_limit_timeout_and_read_only(sql_dataset):
    import pymysql

    url = reachable_mariadb()
    table = f"feeds_orders_{os.getpid()}"
    conn = pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, total DECIMAL(10,2))")
            cursor.executemany(
                f"INSERT INTO {table} VALUES (%s, %s)",  # noqa: S608
                [(i, f"{i}.25") for i in range(1, 4)],
            )
        dataset = sql_dataset(url, f"SELECT * FROM {table} ORDER BY id")  # noqa: S608
        assert refresh_now(dataset).status == "succeeded"
        assert records_of(dataset) == [
            {"id": 1, "total": "1.25"},
            {"id": 2, "total": "2.25"},
            {"id": 3, "total": "3.25"},
        ]
        # MariaDB's sequence engine makes 10M rows lazily; the read stops at the limit.
        big = sql_dataset(url, "SELECT seq FROM seq_1_to_10000000", name="big", row_limit=1000)
        started = time.monotonic()
        assert refresh_now(big).error_code == "row_limit_exceeded"
        assert time.monotonic() - started < 30
        slow = sql_dataset(url, "SELECT SLEEP(5) AS s", name="slow", timeout_seconds=1)
        assert refresh_now(slow).error_code == "source_timeout"
        # Past the statement check, the read-only transaction still refuses the write.
        writer = sql_dataset(url, "SELECT 1", name="writer")
        Dataset.objects.filter(pk=writer.pk).update(
            source_config={**writer.source_config, "query": f"DELETE FROM {table}"}  # noqa: S608
        )
        assert refresh_now(writer).error_code == "query_rejected"
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert cursor.fetchone() == (3,)
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        conn.close()


def test_an_unreachable_server_fails_clearly_and_keeps_the_snapshot(sql_dataset, sqlite_file):
    dataset = sql_dataset(f"sqlite:///{sqlite_file}", "SELECT * FROM orders")
    refresh_now(dataset)
    port = free_port()  # nothing listens there
    Dataset.objects.filter(pk=dataset.pk).update(
        source_config={**dataset.source_config, "url": f"mysql://root@127.0.0.1:{port}/test"}
    )
    run = refresh_now(dataset)
    assert run.status == "failed" and run.error_code == "source_unreachable"
    dataset.refresh_from_db()
    assert dataset.current_snapshot.record_count == 5
