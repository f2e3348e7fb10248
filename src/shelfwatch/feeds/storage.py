"""Snapshot files: written atomically, stored gzip-compressed, read back as lines.

A snapshot file is the default response body, gzip-compressed, laid out one record per
line so it can be served as stored and also re-read record by record:

    {"status":"success","count":N,"cursor":"...","data":[
    {...record 1...},
    {...record N...}
    ]}

Writing takes two passes over a plain temporary file (the record count belongs in the
first line), so memory stays flat whatever the dataset's size.

Snapshots live in FEEDS_DIR/<dataset>/, or, when a "feeds" storage is configured (the media
bucket on S3, see settings), are written there and then uploaded to `<dataset>/<file>` in
that storage, and read back from it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import gzip
import hashlib
import json
import math
import os
import shutil
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages

CHUNK = 64 * 1024
ENVELOPE_END = b"]}\n"


def feeds_dir() -> Path:
    """The directory holding every dataset's snapshots: FEEDS_DIR, else DATA_DIR/feeds."""
    return Path(getattr(settings, "FEEDS_DIR", None) or Path(settings.DATA_DIR) / "feeds")


def dataset_dir(name: str) -> Path:
    """The directory of the dataset called `name`; it may not exist yet."""
    return feeds_dir() / name


def snapshot_path(name: str, file_name: str) -> Path:
    """The local path of a snapshot file of the dataset called `name` (FEEDS_DIR)."""
    return dataset_dir(name) / file_name


def kept_in_storage() -> Storage | None:
    """The storage snapshots are kept in (S3), or None when they stay in FEEDS_DIR."""
    return storages["feeds"] if "feeds" in settings.STORAGES else None


def open_snapshot(name: str, file_name: str) -> IO[bytes]:
    """The stored (gzip) bytes of a snapshot of the dataset `name`, opened for reading."""
    storage = kept_in_storage()
    if storage is None:
        return open(snapshot_path(name, file_name), "rb")
    return storage.open(f"{name}/{file_name}", "rb")


def json_default(value: Any) -> Any:
    """JSON for the values sources yield: money as strings, times in fixed-width UTC."""
    if isinstance(value, decimal.Decimal):  # the most frequent: prices and totals
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        # Fixed width, so change cursors compare correctly as strings.
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID | dt.timedelta):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# One encoder for every record: json.dumps with options builds a new one per call.
# allow_nan=False: NaN and Infinity are not JSON, and strict clients refuse a body with them.
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, default=json_default, allow_nan=False
)


def encode_record(record: dict[str, Any]) -> bytes:
    """One record as compact JSON; NaN and infinite floats (a database may hold them)
    are written as null."""
    try:
        return _ENCODER.encode(record).encode()
    except ValueError:
        return _ENCODER.encode(_finite(record)).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def cursor_key(value: Any) -> tuple[int, Any]:
    """Order of change-field values: numbers by value, anything else as text."""
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, value if isinstance(value, str) else json_default(value))


@dataclass(frozen=True)
class WrittenSnapshot:
    file_name: str
    record_count: int
    raw_bytes: int
    stored_bytes: int
    etag: str
    cursor_value: Any


class SnapshotWriter:
    """Collect records into a new snapshot file; `finish()` publishes it by rename."""

    def __init__(self, *, dataset_name: str, cursor_field: str | None) -> None:
        self.dataset_name = dataset_name
        self.cursor_field = cursor_field
        self.directory = dataset_dir(dataset_name)
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = f".tmp-{uuid.uuid4().hex}"
        self._lines_path = self.directory / f"{stem}.ndjson"
        self._gzip_path = self.directory / f"{stem}.json.gz"
        self._lines: BinaryIO = open(self._lines_path, "wb")  # noqa: SIM115 (closed in finish)
        # The name keys the hash, so a tag from one dataset never matches another's.
        self._hash = hashlib.sha256(dataset_name.encode() + b"\n")
        self.count = 0
        self.raw_bytes = 0
        self.cursor_value: Any = None

    def add(self, record: dict[str, Any]) -> None:
        """Append one record, and move the cursor value forward when the record's cursor field is
        later."""
        line = encode_record(record)
        self._lines.write(line)
        self._lines.write(b"\n")
        self._hash.update(line)
        self._hash.update(b"\n")
        self.count += 1
        self.raw_bytes += len(line) + 2  # the comma (or none) and the newline
        if self.cursor_field:
            value = record.get(self.cursor_field)
            if value is not None:
                value = value if isinstance(value, int | float | str) else json_default(value)
                if self.cursor_value is None or cursor_key(value) > cursor_key(self.cursor_value):
                    self.cursor_value = value

    def finish(self, *, cursor_token: str | None) -> WrittenSnapshot:
        """Compress, fsync and rename into place; the file is complete or absent."""
        self._lines.close()
        header = (
            json.dumps(
                {"status": "success", "count": self.count, "cursor": cursor_token},
                separators=(",", ":"),
            )[:-1]
            + ',"data":[\n'
        ).encode()
        level = int(getattr(settings, "FEEDS_GZIP_LEVEL", 6))
        with open(self._gzip_path, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level, mtime=0) as out:
                out.write(header)
                with open(self._lines_path, "rb") as lines:
                    previous: bytes | None = None
                    for line in lines:
                        if previous is not None:
                            out.write(previous[:-1] + b",\n")
                        previous = line
                    if previous is not None:
                        out.write(previous)
                out.write(ENVELOPE_END)
            raw.flush()
            os.fsync(raw.fileno())
            stored = raw.tell()
        self._lines_path.unlink(missing_ok=True)
        etag = self._hash.hexdigest()[:32]
        file_name = f"{int(time.time() * 1000)}-{etag[:12]}.json.gz"
        final = self.directory / file_name
        os.replace(self._gzip_path, final)
        _fsync_directory(self.directory)
        storage = kept_in_storage()
        if storage is not None:
            # Uploaded before the snapshot row names it, so no reader looks for it too soon;
            # the local copy goes either way (a failed upload fails the refresh).
            try:
                with final.open("rb") as stored_file:
                    storage.save(f"{self.dataset_name}/{file_name}", File(stored_file))
            finally:
                final.unlink(missing_ok=True)
        raw_bytes = len(header) + self.raw_bytes - (1 if self.count else 0) + len(ENVELOPE_END)
        return WrittenSnapshot(
            file_name=file_name,
            record_count=self.count,
            raw_bytes=raw_bytes,
            stored_bytes=stored,
            etag=etag,
            cursor_value=self.cursor_value,
        )

    def abort(self) -> None:
        """Drop the temporary files (after a failed source)."""
        with contextlib.suppress(OSError):
            self._lines.close()
        self._lines_path.unlink(missing_ok=True)
        self._gzip_path.unlink(missing_ok=True)


def _fsync_directory(path: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_files(name: str, file_names: list[str]) -> None:
    """Delete the named snapshot files of a dataset; missing files are ignored."""
    storage = kept_in_storage()
    for file_name in file_names:
        if storage is not None:
            storage.delete(f"{name}/{file_name}")  # S3 deletes of a missing key succeed
            continue
        # An open download keeps reading an unlinked file; nothing to wait for.
        snapshot_path(name, file_name).unlink(missing_ok=True)


def remove_dataset_files(name: str) -> None:
    """Delete every file of the dataset `name`: its snapshots and any scratch files."""
    shutil.rmtree(dataset_dir(name), ignore_errors=True)
    storage = kept_in_storage()
    if storage is not None:
        with contextlib.suppress(FileNotFoundError):
            remove_files(name, storage.listdir(name)[1])


def remove_stale_temporaries(name: str, *, older_than: float = 3600.0) -> int:
    """Delete temporary files a crashed refresh left behind."""
    removed = 0
    cutoff = time.time() - older_than
    for path in dataset_dir(name).glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


# --- reading -------------------------------------------------------------------------------


def iter_plain(name: str, file_name: str) -> Iterator[bytes]:
    """The snapshot's uncompressed bytes, in chunks of at most CHUNK bytes.

    Bounded output, not bounded input: JSON compresses 10-20 times, and the server may
    queue a few chunks per response, so each download's memory is a few CHUNKs.
    """
    decompressor = zlib.decompressobj(wbits=31)
    with open_snapshot(name, file_name) as stored:
        while compressed := stored.read(CHUNK // 4):
            while compressed:
                data = decompressor.decompress(compressed, CHUNK)
                if data:
                    yield data
                compressed = decompressor.unconsumed_tail
        tail = decompressor.flush()
        if tail:
            yield tail


def iter_record_lines(name: str, file_name: str) -> Iterator[bytes]:
    """Each record's JSON, without the envelope, the separating comma or the newline."""
    with open_snapshot(name, file_name) as stored, gzip.open(stored, "rb") as plain:
        first = True
        for line in plain:
            if first:
                first = False
                continue
            if line == ENVELOPE_END:
                return
            yield line[:-2] if line.endswith(b",\n") else line.rstrip(b"\n")
