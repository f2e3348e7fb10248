"""Accepting an uploaded file: checked, previewed, stored and queued as an import job.

A file is refused whole (a problem with a stable code) when it cannot be an import at all:
too large, empty, binary, without a header or rows, too many columns, a mapping that names
no product. Everything smaller is a per-row error, found when the job runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction

from shelfwatch.accounts.principal import Principal
from shelfwatch.errors import Conflict, TooLarge
from shelfwatch.imports.mapping import apply_overrides, check_mapping, guess_mapping
from shelfwatch.imports.models import ImportJob, ImportMode, JobStatus
from shelfwatch.imports.reading import CsvFile, UnreadableFile, sniff
from shelfwatch.imports.rows import RowProblem, read_row
from shelfwatch.inventory.models import Store

PREVIEW_ROWS = 20
_CHUNK = 1024 * 1024


class FileTooLarge(TooLarge):
    code = "file_too_large"


@dataclass
class Inspected:
    """What the start of a file says: how to read it and which column is what."""

    encoding: str
    delimiter: str
    header: list[str]
    mapping: dict[str, str]
    guessed: dict[str, str]


def _check_size(size: int) -> None:
    if size > settings.IMPORT_MAX_BYTES:
        raise FileTooLarge(
            f"the file has {size} bytes; at most {settings.IMPORT_MAX_BYTES} can be imported",
            extra={"max_bytes": settings.IMPORT_MAX_BYTES},
        )


def inspect_file(upload: IO[bytes], *, mapping: dict[str, str] | None = None) -> Inspected:
    """The encoding, delimiter, header and mapping of `upload`; UnreadableFile or
    InvalidMapping when it cannot be imported."""
    sniffed = sniff(upload)
    csv_file = CsvFile(_Unclosable(upload), encoding=sniffed.encoding, delimiter=sniffed.delimiter)
    try:
        header = csv_file.read_header()
        # Blank lines are not rows: a header followed by them is still a file without rows.
        has_rows = any(row.problem or any(c.strip() for c in row.cells) for row in csv_file.rows())
    finally:
        csv_file.close()
        upload.seek(0)
    if not has_rows:
        raise UnreadableFile("the file has a header but no rows", code="no_rows")
    guessed = guess_mapping(header)
    final = apply_overrides(header, guessed, mapping)
    check_mapping(final)
    return Inspected(sniffed.encoding, sniffed.delimiter, header, final, guessed)


class _Unclosable:
    """`upload` for a TextIOWrapper that must not close it when it is done."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)

    def close(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return True


def preview_file(
    *, upload: IO[bytes], size: int, mapping: dict[str, str] | None = None
) -> dict[str, Any]:
    """The first PREVIEW_ROWS rows of `upload`, read, mapped and checked as the job would,
    with the detected encoding, delimiter and mapping. Writes nothing."""
    _check_size(size)
    found = inspect_file(upload, mapping=mapping)
    csv_file = CsvFile(_Unclosable(upload), encoding=found.encoding, delimiter=found.delimiter)
    rows = []
    try:
        csv_file.read_header()
        for row in csv_file.rows():
            if len(rows) >= PREVIEW_ROWS:
                break
            entry: dict[str, Any] = {"line": row.line, "values": row.cells, "error": None}
            if row.problem:
                entry["error"] = {"column": "", "message": row.problem}
            elif any(cell.strip() for cell in row.cells):
                try:
                    data = read_row(row.cells, found.header, found.mapping)
                    entry["fields"] = {
                        k: (str(v) if v is not None else None) for k, v in vars(data).items()
                    }
                except RowProblem as exc:
                    entry["error"] = {"column": exc.column, "message": exc.message}
            rows.append(entry)
    finally:
        csv_file.close()
        upload.seek(0)
    return {
        "encoding": found.encoding,
        "delimiter": found.delimiter,
        "header": found.header,
        "mapping": found.mapping,
        "guessed_mapping": found.guessed,
        "rows": rows,
    }


def _sha256(upload: IO[bytes]) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    while chunk := upload.read(_CHUNK):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def start_import(
    *,
    store: Store,
    principal: Principal,
    upload: IO[bytes],
    size: int,
    original_name: str = "",
    mode: str = ImportMode.BOTH,
    mapping: dict[str, str] | None = None,
    allow_repeat: bool = False,
    enqueue: bool = True,
) -> ImportJob:
    """Store `upload` and queue its import into `store`.

    Refused (duplicate_file) when the same bytes were imported into this store before,
    unless `allow_repeat` says to import them again.
    """
    _check_size(size)
    if mode not in ImportMode.values:
        raise UnreadableFile(
            f"mode is one of {', '.join(ImportMode.values)}, not {mode!r}", code="invalid_mode"
        )
    found = inspect_file(upload, mapping=mapping)
    sha256 = _sha256(upload)
    if not allow_repeat:
        earlier = (
            ImportJob.objects.filter(store=store, sha256=sha256, status=JobStatus.COMPLETED)
            .order_by("-pk")
            .first()
        )
        if earlier is not None:
            raise Conflict(
                f"this file was already imported into this store (job {earlier.pk}); send "
                "allow_repeat=true to import it again",
                code="duplicate_file",
                extra={"job_id": earlier.pk},
            )
    name = default_storage.save(f"imports/{store.pk}/{sha256[:16]}.csv", File(upload))
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                store=store,
                uploaded_by=principal.user,
                mode=mode,
                file_name=name,
                original_name=(original_name or "")[:255],
                size=size,
                sha256=sha256,
                encoding=found.encoding,
                delimiter=found.delimiter,
                header=found.header,
                mapping=found.mapping,
            )
            if enqueue:
                from shelfwatch.imports.tasks import run_import

                # After the commit: a worker must find the job row it is asked to run.
                transaction.on_commit(lambda: run_import.enqueue(job.pk))
    except BaseException:
        default_storage.delete(name)
        raise
    return job
