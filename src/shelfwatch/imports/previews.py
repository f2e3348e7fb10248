"""Files kept between the dashboard's preview of an upload and the start of its import, so
the shop owner checks the preview and starts it without sending the file again.

A kept file lives in Django's default storage at a name made of the store, the user and a
random token, so a token works only for the person who uploaded it, in that store: anyone
else's request builds another name and finds nothing. The start copies the file into a
job (`uploads.start_import`) and discards the kept one; abandoned ones are deleted after
IMPORT_PREVIEW_HOURS, by the next upload of the same person into the same store and by the
hourly `clean-import-previews` job.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.utils import timezone

from shelfwatch.errors import NotFound
from shelfwatch.imports.reading import CsvFile, sniff

ROOT = "imports/previews"
_TOKEN = re.compile(r"[0-9a-f]{32}")


class PreviewGone(NotFound):
    """The kept file is not there: never uploaded by this person, started, or expired."""

    code = "preview_gone"


@dataclass(frozen=True)
class Columns:
    """How a file reads and what its header says, before any mapping is applied."""

    encoding: str
    delimiter: str
    header: list[str]


def max_age() -> timedelta:
    """How long a kept file waits for its import to be started."""
    return timedelta(hours=getattr(settings, "IMPORT_PREVIEW_HOURS", 24))


def _name(store_id: int, user_id: int, token: str) -> str:
    if not _TOKEN.fullmatch(token or ""):
        raise PreviewGone("no such preview")
    return f"{ROOT}/{store_id}/{user_id}/{token}.csv"


def keep_preview(*, store_id: int, user_id: int, upload: IO[bytes]) -> str:
    """Store `upload` for a later start by `user_id` in `store_id`; its token."""
    token = secrets.token_hex(16)
    wanted = _name(store_id, user_id, token)
    upload.seek(0)
    saved = default_storage.save(wanted, File(upload))
    if saved != wanted:  # a storage that renamed it could not be found again by token
        default_storage.delete(saved)
        raise PreviewGone("the file could not be kept", code="preview_not_kept")
    clean_previews(prefix=f"{ROOT}/{store_id}/{user_id}")
    return token


@contextlib.contextmanager
def open_preview(*, store_id: int, user_id: int, token: str) -> Iterator[tuple[IO[bytes], int]]:
    """The kept file (opened for reading) and its size; PreviewGone when there is none
    for this person and store, or it has expired."""
    name = _name(store_id, user_id, token)
    modified = _stored_at(name)
    if modified is None:
        raise PreviewGone("no such preview")
    if modified < timezone.now() - max_age():
        default_storage.delete(name)
        raise PreviewGone("the preview has expired")
    handle = default_storage.open(name, "rb")
    try:
        yield handle, default_storage.size(name)
    finally:
        handle.close()


def claim_start(*, store_id: int, user_id: int, token: str) -> bool:
    """True for the one request that may start this preview's import: a double click on
    "Start import" sends two, and both would find the kept file before either deletes it.
    The claim lives in the shared cache, so it holds across web processes."""
    key = "imports:starting:" + _name(store_id, user_id, token)
    return cache.add(key, True, timeout=600)


def release_start(*, store_id: int, user_id: int, token: str) -> None:
    """Let the preview be started again (the start was refused: a duplicate, a bad choice)."""
    cache.delete("imports:starting:" + _name(store_id, user_id, token))


def discard_preview(*, store_id: int, user_id: int, token: str) -> None:
    """Delete a kept file (its import was started, or the person gave up on it)."""
    with contextlib.suppress(PreviewGone):
        default_storage.delete(_name(store_id, user_id, token))


def read_columns(upload: IO[bytes]) -> Columns:
    """The encoding, delimiter and header of `upload` (rewound afterwards), for choosing
    the columns by hand when no column could be guessed; UnreadableFile as the import."""
    sniffed = sniff(upload)
    csv_file = CsvFile(upload, encoding=sniffed.encoding, delimiter=sniffed.delimiter)
    try:
        header = csv_file.read_header()
    finally:
        # Detach rather than close: the caller still reads `upload`.
        csv_file.text.detach()
        upload.seek(0)
    return Columns(sniffed.encoding, sniffed.delimiter, header)


def clean_previews(*, prefix: str = ROOT) -> int:
    """Delete the kept files under `prefix` older than `max_age()`; how many went."""
    oldest = timezone.now() - max_age()
    removed = 0
    try:
        folders, files = default_storage.listdir(prefix)
    except (FileNotFoundError, OSError):
        return 0
    for folder in folders:
        removed += clean_previews(prefix=f"{prefix}/{folder}")
    for file in files:
        name = f"{prefix}/{file}"
        modified = _stored_at(name)
        if modified is None:
            continue  # deleted meanwhile by another sweep or a start
        if modified < oldest:
            default_storage.delete(name)
            removed += 1
    return removed


def _stored_at(name: str) -> datetime | None:
    """When the kept file `name` was written, by the storage's clock; None if it is gone."""
    try:
        return default_storage.get_modified_time(name)
    except OSError:  # FileNotFoundError from the file system
        return None
    except Exception:
        # An object store says "not found" with its own error (botocore's ClientError 404).
        if default_storage.exists(name):
            raise
        return None
