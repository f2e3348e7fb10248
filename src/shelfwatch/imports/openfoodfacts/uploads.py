"""An Open Food Facts dump sent over HTTP: kept through Django's storage, then imported as
any dump is (`start_dump_import`), from the stored file."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from shelfwatch.accounts.principal import Principal
from shelfwatch.errors import NotAllowed, TooLarge, Unavailable
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
        path = default_storage.path(name)
    except NotImplementedError:
        default_storage.delete(name)
        raise Unavailable(
            "dump uploads need file system storage; use `shelfwatch import-off` instead",
            code="dump_storage_unsupported",
        ) from None
    try:
        job = start_dump_import(
            principal=principal, path=path, countries=countries, categories=categories
        )
    except Exception:
        default_storage.delete(name)
        raise
    clean_name = (original_name or "dump").replace("/", "_")[-255:]
    # The stored name lets the job delete the file once it ends.
    job.options = {**job.options, "storage_name": name}
    job.original_name = clean_name
    ImportJob.objects.filter(pk=job.pk).update(original_name=clean_name, options=job.options)
    return job
