"""An Open Food Facts dump sent over HTTP: kept through Django's storage (files or S3), then
imported as any dump is (`start_dump_import`), from the stored file; the job deletes it when
it ends."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile

from shelfwatch.accounts.principal import Principal
from shelfwatch.errors import NotAllowed, TooLarge
from shelfwatch.imports.models import ImportJob
from shelfwatch.imports.openfoodfacts.jobs import start_dump_import


class DumpTooLarge(TooLarge):
    code = "file_too_large"


def start_dump_upload(
    *,
    principal: Principal,
    upload: IO[bytes],
    size: int,
    original_name: str,
    countries: Iterable[str] = (),
    categories: Iterable[str] = (),
) -> ImportJob:
    """Store the uploaded dump and queue its import into the catalog.

    Platform admins only; DumpTooLarge above OFF_DUMP_MAX_UPLOAD_BYTES; the filter and
    file checks of `start_dump_import`. A refused file is not kept.
    """
    if not principal.is_admin:
        raise NotAllowed("only platform admins import into the catalog", code="admin_required")
    limit = settings.OFF_DUMP_MAX_UPLOAD_BYTES
    if size > limit:
        raise DumpTooLarge(
            f"the file is {size} bytes; at most {limit} bytes can be uploaded "
            "(import a larger dump with `shelfwatch import-off` on the server)"
        )
    name = default_storage.save(f"imports/catalog/{uuid.uuid4().hex}.dump", File(upload))
    try:
        # Checked now from the upload's own local file, so nothing is read back from the
        # store; the worker reads the stored file (a copy of it, off S3) when the job runs.
        with _local_upload(upload) as path:
            job = start_dump_import(
                principal=principal,
                path=path,
                countries=countries,
                categories=categories,
                storage_name=name,
            )
    except Exception:
        default_storage.delete(name)
        raise
    clean_name = (original_name or "dump").replace("/", "_")[-255:]
    job.original_name = clean_name
    ImportJob.objects.filter(pk=job.pk).update(original_name=clean_name)
    return job


@contextlib.contextmanager
def _local_upload(upload: IO[bytes]) -> Iterator[Path]:
    """A path holding the upload's bytes: the file Django spooled a large upload to, or a
    temporary copy of a small one kept in memory."""
    if isinstance(upload, TemporaryUploadedFile):
        yield Path(upload.temporary_file_path())
        return
    with tempfile.TemporaryDirectory(
        prefix="shelfwatch-dump-", dir=settings.FILE_UPLOAD_TEMP_DIR
    ) as folder:
        copy = Path(folder) / "upload.dump"
        upload.seek(0)
        with copy.open("wb") as out:
            shutil.copyfileobj(upload, out)
        upload.seek(0)
        yield copy
