"""Turning a snapshot into the response a client asked for.

The default representation (format=json, all fields, no `since`) is the stored file: sent
as is to clients that accept gzip, decompressed on the fly for those that do not. Other
representations are derived record by record from the same file. Every path streams, so
a download holds a few chunks in memory whatever the dataset's size.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.http import (
    FileResponse,
    HttpResponseBase,
    HttpResponseNotModified,
    StreamingHttpResponse,
)
from django.utils.http import http_date

from shelfwatch.errors import Malformed
from shelfwatch.feeds import sources
from shelfwatch.feeds.models import Dataset, Snapshot
from shelfwatch.feeds.storage import CHUNK, cursor_key, iter_plain, iter_record_lines, open_snapshot
from shelfwatch.http.cursors import BadCursor, decode_cursor

FORMATS = {"json": "application/json", "ndjson": "application/x-ndjson"}
MAX_FIELDS = 100
STREAM_GZIP_LEVEL = 1  # derived bodies are compressed while sent: speed over ratio
SEND_BLOCK = 256 * 1024  # bytes per write of a stored file: few writes, little memory


class InvalidFormat(Malformed):
    code = "invalid_format"


class InvalidFields(Malformed):
    code = "invalid_fields"


class SinceUnsupported(Malformed):
    code = "since_unsupported"


@dataclass(frozen=True)
class Representation:
    """What the client asked for: format, a field selection, a change cursor, gzip or not."""

    format: str = "json"
    fields: tuple[str, ...] | None = None
    since: Any = None
    since_raw: str = ""
    gzip: bool = False

    @property
    def is_stored(self) -> bool:
        """True when the stored snapshot file is the answer as is: JSON, every field, no `since`."""
        return self.format == "json" and self.fields is None and not self.since_raw


def accepts_gzip(header: str) -> bool:
    """True if an Accept-Encoding header gives gzip a quality above 0: its own entry when it
    has one (RFC 9110 puts it before '*'), else the '*' entry's."""
    qualities: dict[str, float] = {}
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        coding = coding.strip().lower()
        if coding in ("gzip", "*") and coding not in qualities:
            q = params.strip().lower()
            qualities[coding] = _quality(q[2:]) if q.startswith("q=") else 1.0
    quality = qualities.get("gzip", qualities.get("*", 0.0))
    return quality > 0


def _quality(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        return 1.0


def parse_representation(
    *,
    dataset: Dataset,
    format: str | None,
    fields: str | None,
    since: str | None,
    accept_encoding: str,
) -> Representation:
    """The representation from query parameters; a 400 problem with its own code if bad."""
    fmt = (format or "json").lower()
    if fmt not in FORMATS:
        raise InvalidFormat(f"format must be one of {', '.join(FORMATS)}")
    selected = None
    if fields is not None:
        names = [name.strip() for name in fields.split(",") if name.strip()]
        if not names or len(names) > MAX_FIELDS or any(len(name) > 100 for name in names):
            raise InvalidFields(f"fields takes 1 to {MAX_FIELDS} comma-separated field names")
        selected = tuple(dict.fromkeys(names))
    since_value = None
    if since:
        if sources.cursor_field(dataset) is None:
            raise SinceUnsupported("this dataset's source has no change field to filter on")
        name, since_value = decode_cursor(since, str, _cursor_value)
        if name != dataset.name:
            raise BadCursor("that cursor belongs to another dataset")
    return Representation(
        format=fmt,
        fields=selected,
        since=since_value,
        since_raw=since or "",
        gzip=accepts_gzip(accept_encoding),
    )


def _cursor_value(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("not a cursor value")
    return value


def etag_for(snapshot: Snapshot, rep: Representation) -> str:
    """The entity tag of this representation of the snapshot."""
    parts = []
    if rep.format != "json":
        parts.append(rep.format)
    if rep.fields is not None or rep.since_raw:
        variant = json.dumps([rep.fields, rep.since_raw]).encode()
        parts.append(hashlib.sha256(variant).hexdigest()[:12])
    if rep.gzip:
        parts.append("gzip")
    return '"' + "-".join([snapshot.etag, *parts]) + '"'


def matches_etag(if_none_match: str, etag: str) -> bool:
    """True if an If-None-Match header names `etag` (weakly compared) or is '*'."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


# What a 304 must repeat of the 200 it stands for (RFC 9110 15.4.5): the validator and the
# caching rules. Last-Modified and the record count stay out: most clients revalidate
# every few seconds and get 304s, so each header less is CPU saved on the hottest answer.
CACHE_CONTROL = "private, no-cache"
VARY = "Accept-Encoding, X-API-Key, Authorization"


def not_modified_headers(etag: str) -> list[tuple[str, str]]:
    """The headers of the 304 for a client that holds `etag`."""
    return [("ETag", etag), ("Cache-Control", CACHE_CONTROL), ("Vary", VARY)]


def not_modified(etag: str) -> HttpResponseNotModified:
    """The 304 for a client that holds `etag`."""
    response = HttpResponseNotModified()
    for name, value in not_modified_headers(etag):
        response[name] = value
    return response


def snapshot_headers(snapshot: Snapshot, etag: str) -> dict[str, str]:
    """The response headers of a snapshot: validators, record count, and caching that forces
    revalidation and keeps shared caches out."""
    return {
        "ETag": etag,
        "Last-Modified": http_date(snapshot.finished_at.timestamp()),
        # Clients must revalidate (cheap: 304) and shared caches must not keep it.
        "Cache-Control": CACHE_CONTROL,
        "Vary": VARY,
        "X-Feed-Count": str(snapshot.record_count),
    }


def render(dataset: Dataset, snapshot: Snapshot, rep: Representation) -> HttpResponseBase:
    """A streaming response with the snapshot in representation `rep`."""
    name, file_name = dataset.name, snapshot.file_name
    content_type = FORMATS[rep.format]
    if rep.is_stored and rep.gzip:
        # The stored bytes, not recompressed; the server may hand a local file to sendfile.
        stored = open_snapshot(name, file_name)
        response: FileResponse | HttpResponseBase = FileResponse(stored, content_type=content_type)
        # Django reads 4 KiB at a time; without a server file wrapper (granian has none) each
        # block is a trip through the server's write path, which costs more than the read.
        response.block_size = SEND_BLOCK
        response.headers.pop("Content-Disposition", None)
        response["Content-Encoding"] = "gzip"
        response["Content-Length"] = str(snapshot.stored_bytes)
    elif rep.is_stored:
        response = StreamingHttpResponse(iter_plain(name, file_name), content_type=content_type)
        response["Content-Length"] = str(snapshot.raw_bytes)
    else:
        body = _derived(dataset, snapshot, rep)
        if rep.gzip:
            body = _gzipped(body)
            response = StreamingHttpResponse(body, content_type=content_type)
            response["Content-Encoding"] = "gzip"
        else:
            response = StreamingHttpResponse(body, content_type=content_type)
    for name, value in snapshot_headers(snapshot, etag_for(snapshot, rep)).items():
        response[name] = value
    return response


def _derived(dataset: Dataset, snapshot: Snapshot, rep: Representation) -> Iterator[bytes]:
    field = sources.cursor_field(dataset) if rep.since is not None else None
    since_key = cursor_key(rep.since) if rep.since is not None else None
    needs_parse = rep.fields is not None or since_key is not None
    ndjson = rep.format == "ndjson"
    if not ndjson:
        head = {"status": "success", "cursor": snapshot.cursor or None}
        yield (json.dumps(head, separators=(",", ":"))[:-1] + ',"data":[\n').encode()
    count = 0
    buffer: list[bytes] = []
    size = 0
    for line in iter_record_lines(dataset.name, snapshot.file_name):
        if needs_parse:
            record = json.loads(line)
            if since_key is not None:
                value = record.get(field)
                if value is None or cursor_key(value) <= since_key:
                    continue
            if rep.fields is not None:
                record = {name: record[name] for name in rep.fields if name in record}
                line = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        if ndjson:
            buffer.append(line + b"\n")
        else:
            buffer.append((b",\n" if count else b"") + line)
        count += 1
        size += len(line)
        if size >= CHUNK:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)
    if not ndjson:
        yield f'\n],"count":{count}}}\n'.encode()


def _gzipped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(STREAM_GZIP_LEVEL, zlib.DEFLATED, 31)
    for chunk in chunks:
        data = compressor.compress(chunk)
        if data:
            yield data
    yield compressor.flush()
