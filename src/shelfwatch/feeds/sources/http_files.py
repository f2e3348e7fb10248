"""CSV or JSON files over HTTP, fetched through the guarded client.

Config: `{"url": "https://...", "records_path": "data.items", "timeout_seconds": 30,
"max_bytes": 52428800, "cursor_field": "updated_at"}`, and `"lines": true` for JSON Lines.
A JSON body is a list of objects (or holds one at the dotted `records_path`); a CSV body
has a header row. CSV, JSON Lines and a body that is itself a JSON list are parsed as they
arrive, so a refresh holds a few records at a time whatever the file's size; a document
with `records_path` is read whole, which `max_bytes` bounds.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings

from shelfwatch.feeds.sources import (
    RowLimitExceeded,
    SourceConfigError,
    SourceError,
    SourceTimeout,
    SourceUnreachable,
    text_stream,
)
from shelfwatch.watch.guarded_client import (
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
    return cleaned


def cursor_field(config: dict[str, Any]) -> str | None:
    return config.get("cursor_field") or None


def open_records(dataset: Dataset, *, limit: int) -> Iterator[dict[str, Any]]:
    config = dataset.source_config
    timeout = float(config.get("timeout_seconds", 30))
    max_bytes = int(config.get("max_bytes", settings.FEEDS_HTTP_MAX_BYTES))
    try:
        with (
            GuardedClient(timeout=timeout, max_bytes=max_bytes) as client,
            client.stream("GET", config["url"]) as response,
        ):
            if response.status != 200:
                raise SourceError(f"the server answered HTTP {response.status}")
            if dataset.source_kind == "http_csv":
                records = _csv_records(text_stream.lines(response.chunks))
            elif config.get("lines"):
                records = _json_lines(text_stream.lines(response.chunks))
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
    except FetchTimeout as exc:
        raise SourceTimeout(str(exc)) from None
    except FetchError as exc:
        raise SourceUnreachable(f"{exc.code}: {exc}") from None


def _csv_records(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(lines)
    try:
        if not reader.fieldnames:
            raise SourceError("the CSV file has no header row")
        for row in reader:
            # Short rows leave None; a long row's extras land under the None key.
            yield {key: value for key, value in row.items() if key is not None}
    except csv.Error as exc:
        raise SourceError(f"CSV line {reader.line_num}: {exc}") from None


def _json_lines(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise SourceError(f"line {number} is not JSON: {exc}") from None
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
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"the body is not JSON: {exc}") from None
    for part in filter(None, str(config.get("records_path") or "").split(".")):
        if not isinstance(document, dict) or part not in document:
            raise SourceError(f"records_path {config.get('records_path')!r} is not in the body")
        document = document[part]
    if not isinstance(document, list):
        raise SourceError("the records are not a JSON list")
    for item in document:
        yield _as_record(item)
