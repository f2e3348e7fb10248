"""External SQL: one read-only query against a PostgreSQL, MySQL/MariaDB or SQLite database.

Config: `{"url": "postgres://...", "query": "SELECT ...", "timeout_seconds": 30,
"row_limit": 100000, "cursor_column": "updated_at"}`; `url_env` names an environment
variable holding the URL instead, so passwords need not sit in the database.

Read-only three times over: only a single SELECT/WITH/VALUES statement is accepted, the
session runs read-only transactions (SQLite opens the file read-only), and operators should
still give the feed a database user that can only read. Rows are streamed with a
server-side cursor; the timeout bounds each statement on the server and the whole read
here; the row limit stops the read at limit + 1 rows.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings

from shelfwatch.feeds.sources import (
    QueryRejected,
    RowLimitExceeded,
    SourceConfigError,
    SourceError,
    SourceTimeout,
    SourceUnreachable,
)

if TYPE_CHECKING:
    from shelfwatch.accounts.models import User
    from shelfwatch.feeds.models import Dataset

FETCH = 2000
SCHEMES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_FIRST_WORD = re.compile(r"[\s(]*([A-Za-z]+)")
_FORBIDDEN = re.compile(r"\binto\s+(outfile|dumpfile)\b|\bfor\s+update\b|\block\s+in\b", re.I)


def check_query(query: str) -> str:
    """The query without a trailing semicolon, or QueryRejected unless it only reads."""
    text = query.strip().rstrip(";").strip()
    bare = _COMMENTS.sub(" ", text)
    if not bare.strip():
        raise QueryRejected("the query is empty")
    if ";" in bare:
        raise QueryRejected("one statement only")
    first = _FIRST_WORD.match(bare)
    if first is None or first.group(1).lower() not in ("select", "with", "values"):
        raise QueryRejected("only SELECT queries are run")
    if _FORBIDDEN.search(bare):
        raise QueryRejected("the query writes files or takes locks")
    return text


def validate_config(config: dict[str, Any], *, owner: User) -> dict[str, Any]:
    """The cleaned configuration: exactly one of `url` and `url_env`, an accepted read-only query,
    limits in range; raises SourceConfigError otherwise."""
    url, url_env = config.get("url"), config.get("url_env")
    if bool(url) == bool(url_env):
        raise SourceConfigError("give exactly one of url and url_env")
    if url:
        _dialect(url)
    try:
        query = check_query(str(config.get("query") or ""))
    except QueryRejected as exc:
        raise SourceConfigError(str(exc)) from None
    timeout = config.get("timeout_seconds", 30)
    row_limit = config.get("row_limit", settings.FEEDS_MAX_RECORDS)
    if not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
        raise SourceConfigError("timeout_seconds must be between 0 and 3600")
    if not isinstance(row_limit, int) or not 0 < row_limit <= settings.FEEDS_MAX_RECORDS:
        raise SourceConfigError(f"row_limit must be between 1 and {settings.FEEDS_MAX_RECORDS}")
    cleaned = {"query": query, "timeout_seconds": timeout, "row_limit": row_limit}
    cleaned.update({"url": url} if url else {"url_env": url_env})
    if config.get("cursor_column"):
        cleaned["cursor_column"] = str(config["cursor_column"])
    return cleaned


def cursor_field(config: dict[str, Any]) -> str | None:
    """The configured `cursor_column`, or None."""
    return config.get("cursor_column") or None


def _dialect(url: str) -> str:
    scheme = urlsplit(url).scheme.split("+", 1)[0].lower()
    if scheme not in SCHEMES:
        raise SourceConfigError("the URL must be postgres://, mysql://, mariadb:// or sqlite://")
    return SCHEMES[scheme]


def _url(config: dict[str, Any]) -> str:
    if config.get("url"):
        return config["url"]
    url = os.environ.get(config.get("url_env") or "", "")
    if not url:
        raise SourceUnreachable(f"the environment variable {config.get('url_env')} is not set")
    return url


def open_records(
    dataset: Dataset, *, limit: int, bad_rows: object = None
) -> Iterator[dict[str, Any]]:
    """The query's rows as records, its connection closed when iteration stops; raises SourceTimeout
    past the timeout and RowLimitExceeded past the row limit."""
    config = dataset.source_config
    url = _url(config)
    try:
        dialect = _dialect(url)
    except SourceConfigError as exc:
        raise SourceUnreachable(str(exc)) from None
    query = check_query(str(config.get("query") or ""))
    timeout = float(config.get("timeout_seconds", 30))
    limit = min(limit, int(config.get("row_limit", limit)))
    reader = {"postgresql": _postgres_rows, "mysql": _mysql_rows, "sqlite": _sqlite_rows}[dialect]
    deadline = time.monotonic() + timeout
    rows = reader(url, query, timeout=timeout, deadline=deadline)
    try:
        for count, row in enumerate(rows, start=1):
            if count > limit:
                raise RowLimitExceeded(f"the query returned more than {limit} rows; stopped there")
            if count % FETCH == 0 and time.monotonic() > deadline:
                raise SourceTimeout(f"the query ran longer than {timeout:g} s")
            yield row
    finally:
        rows.close()  # at once, not when collected: it holds a connection


def _records(columns: list[str], rows: Iterator[tuple]) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield dict(zip(columns, row, strict=True))


def _postgres_rows(url: str, query: str, *, timeout: float, deadline: float):
    import psycopg
    from psycopg import errors

    millis = max(1, int(timeout * 1000))
    try:
        conn = psycopg.connect(
            url.replace("postgres://", "postgresql://", 1),
            connect_timeout=max(1, min(int(timeout), 30)),
            options=f"-c default_transaction_read_only=on -c statement_timeout={millis}",
        )
    except psycopg.OperationalError as exc:
        raise SourceUnreachable(f"cannot connect: {_first_line(exc)}") from None
    try:
        conn.read_only = True
        with conn.transaction(), conn.cursor(name="feed_rows") as cursor:
            cursor.itersize = FETCH
            try:
                cursor.execute(query)
                columns = [column.name for column in cursor.description or ()]
                yield from _records(columns, iter(cursor))
            except errors.QueryCanceled:
                raise SourceTimeout(f"the query ran longer than {timeout:g} s") from None
            except (errors.ReadOnlySqlTransaction, errors.FeatureNotSupported):
                # The second: PostgreSQL refuses data-modifying WITH inside a cursor.
                raise QueryRejected("the query tried to write") from None
            except psycopg.Error as exc:
                raise SourceError(f"the query failed: {_first_line(exc)}") from None
    finally:
        # Closing the connection ends the server-side cursor without reading the rest.
        conn.close()


def _mysql_rows(url: str, query: str, *, timeout: float, deadline: float):
    import pymysql
    import pymysql.cursors

    parts = urlsplit(url)
    options = parse_qs(parts.query)
    try:
        conn = pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=unquote(parts.path.lstrip("/")) or None,
            charset=(options.get("charset") or ["utf8mb4"])[0],
            connect_timeout=max(1, min(int(timeout), 30)),
            # Longer than the server's own limit, so its clearer error arrives first.
            read_timeout=int(timeout) + 5,
            cursorclass=pymysql.cursors.SSCursor,
        )
    except pymysql.MySQLError as exc:
        raise SourceUnreachable(f"cannot connect: {_first_line(exc)}") from None
    try:
        with conn.cursor() as setup:
            setup.execute("SET SESSION TRANSACTION READ ONLY")
            try:  # MariaDB counts seconds, MySQL milliseconds (and SELECTs only)
                setup.execute("SET SESSION max_statement_time = %s", (float(timeout),))
            except pymysql.MySQLError:
                setup.execute("SET SESSION max_execution_time = %s", (int(timeout * 1000),))
            setup.execute("START TRANSACTION READ ONLY")
        cursor = None
        cursor = conn.cursor()
        try:
            cursor.execute(query)
            columns = [column[0] for column in cursor.description or ()]
            while rows := cursor.fetchmany(FETCH):
                yield from _records(columns, iter(rows))
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args else 0
            if code in (1969, 3024) or "timed out" in str(exc) or "timeout" in str(exc).lower():
                raise SourceTimeout(f"the query ran longer than {timeout:g} s") from None
            if code == 1792:
                raise QueryRejected("the query tried to write") from None
            raise SourceError(f"the query failed: {_first_line(exc)}") from None
    finally:
        _drop_unread(conn, cursor)


def _drop_unread(conn, cursor) -> None:
    """Close without reading what the server still sends.

    PyMySQL's cursor close (and its result's finalizer) read every remaining row of an
    unbuffered query before returning: at a 10-million-row limit that is the whole table.
    Dropping the socket and marking the result finished ends the read at once.
    """
    result = getattr(conn, "_result", None)
    if result is not None:
        result.unbuffered_active = False
    if cursor is not None:
        cursor.connection = None
    try:
        conn.close()
    except Exception:
        conn._force_close()


def _sqlite_rows(url: str, query: str, *, timeout: float, deadline: float):
    path = unquote(urlsplit(url).path)
    if url.startswith("sqlite:////"):
        path = "/" + path.lstrip("/")
    elif url.startswith("sqlite:///"):
        path = path.lstrip("/")
    if not path or not os.path.exists(path):
        raise SourceUnreachable("the SQLite file does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=min(timeout, 30))
    except sqlite3.Error as exc:
        raise SourceUnreachable(f"cannot open: {exc}") from None
    try:
        conn.execute("PRAGMA query_only = ON")
        # The handler runs every few thousand VM steps; a non-zero return interrupts.
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cursor = conn.execute(query)
            columns = [column[0] for column in cursor.description or ()]
            while rows := cursor.fetchmany(FETCH):
                yield from _records(columns, iter(rows))
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise SourceTimeout(f"the query ran longer than {timeout:g} s") from None
            if "readonly" in str(exc).replace(" ", "").lower():
                raise QueryRejected("the query tried to write") from None
            raise SourceError(f"the query failed: {exc}") from None
        except sqlite3.Error as exc:
            raise SourceError(f"the query failed: {exc}") from None
    finally:
        conn.close()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
