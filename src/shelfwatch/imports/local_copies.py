"""Stored files as local paths, for readers that need one (an Open Food Facts dump).

`local_path(name)` gives the storage's own path when it has one (the file system), else a
temporary copy downloaded for the duration of the block and deleted after it (S3; the
download passes through the storage's own spool file, so it needs twice the file's size of
temporary disk while it runs).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.storage import default_storage

COPY_CHUNK = 1024 * 1024


@contextlib.contextmanager
def local_path(name: str) -> Iterator[Path]:
    """The stored file `name` as a readable local path, for the duration of the block."""
    try:
        own = default_storage.path(name)
    except NotImplementedError:
        own = None  # an object store: no path, so a copy
    if own is not None:
        yield Path(own)
        return
    # FILE_UPLOAD_TEMP_DIR: where the operator already put room for large uploads.
    with tempfile.TemporaryDirectory(
        prefix="shelfwatch-copy-", dir=settings.FILE_UPLOAD_TEMP_DIR
    ) as folder:
        # The same base name, so what is reported about the copy names the stored file.
        copy = Path(folder) / PurePosixPath(name).name
        with default_storage.open(name, "rb") as stored, copy.open("wb") as out:
            shutil.copyfileobj(stored, out, COPY_CHUNK)
        yield copy
