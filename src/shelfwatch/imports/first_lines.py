"""The line each barcode of a file was first met on, to report a barcode repeated on a
later line, in memory that does not grow with the file.

A file of millions of rows would hold millions of barcodes in a dict (over 100 bytes
each); here they go to a small SQLite file of the worker's temporary directory, keyed by
barcode, with a bounded page cache. A batch asks once for its barcodes and adds them in
one statement, so the cost per row stays a few microseconds.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterable

# Pages (of 4 KiB) SQLite may keep in memory: about 8 MiB whatever the file size.
_CACHE_PAGES = 2_000


class FirstLines:
    """Barcode -> the first line it was met on, across one file."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="import-barcodes-")
        self._db = sqlite3.connect(f"{self._dir.name}/first_lines.sqlite3", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(f"PRAGMA cache_size={_CACHE_PAGES}")
        self._db.execute(
            "CREATE TABLE first_line (code TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID"
        )

    def earlier(self, codes: Iterable[str]) -> dict[str, int]:
        """The first lines of those of `codes` already remembered."""
        wanted = list(dict.fromkeys(codes))
        if not wanted:
            return {}
        # The codes as one JSON array: one statement text whatever their number, so the
        # connection keeps one prepared statement (an IN list of a batch's length was a
        # new one every batch, each kept prepared until 128 of them were).
        return dict(
            self._db.execute(
                "SELECT code, line FROM first_line WHERE code IN (SELECT value FROM json_each(?))",
                [json.dumps(wanted)],
            )
        )

    def remember(self, lines: Iterable[tuple[str, int]]) -> None:
        """Keep (barcode, line) pairs; a barcode already remembered keeps its first line."""
        # One transaction for them all: on its own, each INSERT would be one, writing its
        # pages to the file every time.
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO first_line VALUES (?, ?)", lines)

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> FirstLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
