"""CSV or JSON files over HTTP, fetched through the guarded client.

Config: `{"url": "https://...", "records_path": "data.items", "timeout_seconds": 30,
"max_bytes": 52428800, "cursor_field": "updated_at"}`, `"lines": true` for JSON Lines and
`"on_bad_rows": "skip"` to skip malformed CSV rows and JSON lines instead of failing.
A JSON body is a list of objects (or holds one at the dotted `records_path`); a CSV body
has a header row. CSV, JSON Lines and a body that is itself a JSON list are parsed as they
arrive, so a refresh holds a few records at a time whatever the file's size; a document
with `records_path` is read whole, which `max_bytes` bounds.

Parsing is strict: bytes that are not UTF-8, an unterminated quote, a row whose field
count differs from the header's, a line that is not JSON, and NaN or Infinity (not JSON,
though Python reads them) each fail the refresh with the line number.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings

from shelfwatch.feeds.sources import (
    BadRecord,
    BadRows,
    RowLimitExceeded,
    SourceConfigError,
    SourceError,
    SourceTimeout,
    SourceUnreachable,
    text_stream,
)
from shelfwatch.http.outbound import (
    FetchError,
    FetchTimeout,
    GuardedClient,
    UrlNotAllowed,
    check_url,
)

if TYPE_CHECKING:
    from shelfwatch.accounts.models import User
    from shelfwatch.feeds.models import Dataset


def validate_config(config: dict[str, Any], *, owner: User) -> dict[str, Any]:
    """The cleaned configuration of an HTTP file source: the URL must pass the outbound checks and
    the limits be in range; raises SourceConfigError otherwise."""
    url = str(config.get("url") or "")
    try:
        check_url(url)
    except UrlNotAllowed as exc:
        raise SourceConfigError(str(exc)) from None
    timeout = config.get("timeout_seconds", 30)
    max_bytes = config.get("max_bytes", settings.FEEDS_HTTP_MAX_BYTES)
    if not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        raise SourceConfigError("timeout_seconds must be between 0 and 600")
    if not isinstance(max_bytes, int) or not 0 < max_bytes <= settings.FEEDS_HTTP_MAX_BYTES:
        raise SourceConfigError(f"max_bytes must be between 1 and {settings.FEEDS_HTTP_MAX_BYTES}")
    cleaned: dict[str, Any] = {"url": url, "timeout_seconds": timeout, "max_bytes": max_bytes}
    lines = config.get("lines", False)
    if not isinstance(lines, bool):
        raise SourceConfigError("lines must be true or false")
    if config.get("kind") == "http_json":
        if lines and config.get("records_path"):
            raise SourceConfigError("records_path applies to a JSON document, not JSON Lines")
        if lines:
            cleaned["lines"] = True
        elif config.get("records_path"):
            cleaned["records_path"] = str(config["records_path"])
    if config.get("cursor_field"):
        cleaned["cursor_field"] = str(config["cursor_field"])
    on_bad_rows = config.get("on_bad_rows", "fail")
    if on_bad_rows not in ("fail", "skip"):
        raise SourceConfigError('on_bad_rows must be "fail" or "skip"')
    if on_bad_rows == "skip":
        if config.get("kind") == "http_json" and not lines:
            raise SourceConfigError("on_bad_rows applies to CSV and JSON Lines, not a document")
        cleaned["on_bad_rows"] = "skip"
    return cleaned


def cursor_field(config: dict[str, Any]) -> str | None:
    """The configured `cursor_field`, or None."""
    return config.get("cursor_field") or None


def open_records(
    dataset: Dataset, *, limit: int, bad_rows: BadRows | None = None
) -> Iterator[dict[str, Any]]:
    """The file's records, parsed as they arrive; raises a SourceError for a failed fetch, a non-200
    answer, a bad record (unless skipped) or more than `limit` records."""
    config = dataset.source_config
    timeout = float(config.get("timeout_seconds", 30))
    max_bytes = int(config.get("max_bytes", settings.FEEDS_HTTP_MAX_BYTES))
    bad = _BadRowPolicy(skip=config.get("on_bad_rows") == "skip", rows=bad_rows or BadRows())
    try:
        with (
            GuardedClient(timeout=timeout, max_bytes=max_bytes) as client,
            client.stream("GET", config["url"]) as response,
        ):
            if response.status != 200:
                raise SourceError(f"the server answered HTTP {response.status}")
            if dataset.source_kind == "http_csv":
                records = _csv_records(response.chunks, bad)
            elif config.get("lines"):
                records = _json_lines(response.chunks, bad)
            elif config.get("records_path"):
                records = _json_records(b"".join(response.chunks), config)
            else:
                records = _json_list(response.chunks)
            for count, record in enumerate(records, start=1):
                if count > limit:
                    raise RowLimitExceeded(
                        f"the file holds more than {limit} records; stopped there"
                    )
                yield record
    except text_stream.UndecodableText as exc:
        raise BadRecord(str(exc)) from None
    except FetchTimeout as exc:
        raise SourceTimeout(str(exc)) from None
    except FetchError as exc:
        raise SourceUnreachable(f"{exc.code}: {exc}") from None


class _BadRowPolicy:
    """Fail on the first malformed row (the default), or skip and count each one."""

    def __init__(self, *, skip: bool, rows: BadRows) -> None:
        self.skip = skip
        self.rows = rows
        self.undecodable: set[int] | None = set() if skip else None

    def __call__(self, problem: str) -> None:
        if not self.skip:
            raise BadRecord(problem)
        self.rows.skip(problem)


def _csv_records(chunks: Iterator[bytes], bad: _BadRowPolicy) -> Iterator[dict[str, Any]]:
    # strict=True: a stray quote is an error, not a field that swallows what follows.
    reader = csv.reader(text_stream.lines(chunks, bad_lines=bad.undecodable), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise BadRecord(f"CSV line {reader.line_num}: the header row is malformed: {exc}") from None
    if not header or bad.undecodable:
        raise BadRecord("the CSV file has no readable header row")
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                bad(f"CSV line {start}: a quoted field opened in this row never closes")
                return
            bad(f"CSV line {start}: {exc}")
            continue
        if bad.undecodable and any(start <= n <= reader.line_num for n in bad.undecodable):
            bad.undecodable.clear()
            bad(f"CSV line {start}: not UTF-8")
            continue
        if not row:
            continue  # a blank line
        if len(row) != len(header):
            bad(f"CSV line {start}: {len(row)} fields where the header has {len(header)}")
            continue
        yield dict(zip(header, row, strict=True))


def _json_lines(chunks: Iterator[bytes], bad: _BadRowPolicy) -> Iterator[dict[str, Any]]:
    decoder = json.JSONDecoder(parse_constant=text_stream.refuse_constant)
    for number, line in enumerate(text_stream.lines(chunks, bad_lines=bad.undecodable), 1):
        if bad.undecodable and number in bad.undecodable:
            bad(f"line {number} is not UTF-8")
            continue
        if not line.strip():
            continue
        try:
            item = decoder.decode(line)
        except ValueError as exc:
            bad(f"line {number} is not JSON: {exc}")
            continue
        yield _as_record(item)


def _json_list(chunks: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    try:
        for item in text_stream.json_list_items(chunks):
            yield _as_record(item)
    except text_stream.MalformedJson as exc:
        raise SourceError(f"the body is not a JSON list: {exc}") from None


def _as_record(item: Any) -> dict[str, Any]:
    # A list of plain values still makes records, each under "value".
    return item if isinstance(item, dict) else {"value": item}


def _json_records(body: bytes, config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    try:
        document = json.loads(body, parse_constant=text_stream.refuse_constant)
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise BadRecord(f"line {line} is not UTF-8: {exc.reason}") from None
    except ValueError as exc:
        raise SourceError(f"the body is not JSON: {exc}") from None
    for part in filter(None, str(config.get("records_path") or "").split(".")):
        if not isinstance(document, dict) or part not in document:
            raise SourceError(f"records_path {config.get('records_path')!r} is not in the body")
        document = document[part]
    if not isinstance(document, list):
        raise SourceError("the records are not a JSON list")
    for item in document:
        yield _as_record(item)
