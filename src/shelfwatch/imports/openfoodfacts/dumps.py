"""Reading Open Food Facts dumps as streams: the JSONL dump and the tab-separated CSV
export, plain or gzipped (told apart by their first bytes, not their names).

Neither is ever held whole: lines are read one at a time, and a line longer than
OFF_MAX_LINE_BYTES is read past and reported, so memory stays flat on the full dumps
(tens of gigabytes unpacked). Line numbers are the file's own: in the CSV export the header
is line 1 and the first product line 2; in the JSONL dump the first product is line 1.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from shelfwatch.errors import Invalid
from shelfwatch.imports.models import ImportSource

JSONL = ImportSource.OFF_JSONL.value
CSV = ImportSource.OFF_CSV.value
MAX_COLUMNS = 1000
_KEPT_CHARS = 500  # of a failed line, to show what it was
_CHUNK = 1024 * 1024
_READ_ERRORS = (OSError, EOFError, zlib.error)


class UnreadableDump(Invalid):
    code = "unreadable_dump"


@dataclass
class DumpLine:
    """One line of a dump: its record, or why it could not be read (and how it began)."""

    line: int
    record: dict[str, Any] | None = None
    problem: str = ""
    text: str = field(default="", repr=False)

    @property
    def blank(self) -> bool:
        """True for an empty line: nothing to import, nothing to report."""
        return self.record is None and not self.problem


def _open(path: Path) -> IO[bytes]:
    raw = path.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def detect_format(path: Path) -> str:
    """JSONL or CSV, from the first bytes of the (unpacked) file; UnreadableDump otherwise."""
    try:
        with contextlib.closing(_open(path)) as stream:
            head = stream.read(4096)
    except _READ_ERRORS as exc:
        raise UnreadableDump(f"cannot read {path.name}: {exc}") from None
    start = head.lstrip()
    if start.startswith(b"{"):
        return JSONL
    if start.split(b"\n", 1)[0].split(b"\t", 1)[0].strip(b"\xef\xbb\xbf") == b"code":
        return CSV
    raise UnreadableDump(
        f"{path.name} is neither an Open Food Facts JSONL dump (one product object a line) "
        "nor their CSV export (tab-separated, with a header starting with code)",
        code="not_a_dump",
    )


class Dump:
    """A dump file of one format, read line by line; use as a context manager."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.format = fmt
        self.header: list[str] = []
        self._stream: IO[bytes] | None = None
        self._number = 0  # the last line number read

    def __enter__(self) -> Dump:
        try:
            self._stream = _open(self.path)
        except OSError as exc:
            raise UnreadableDump(f"cannot open {self.path.name}: {exc}") from None
        if self.format == CSV:
            self._read_header()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _read_header(self) -> None:
        first = next(self._lines(), None)
        header = first.decode("utf-8", "replace").lstrip("\ufeff").split("\t") if first else []
        if not header or header[0] != "code" or len(header) > MAX_COLUMNS:
            raise UnreadableDump(
                "the CSV export's header should start with code, tab-separated",
                code="not_a_dump",
            )
        if len(set(header)) != len(header):
            raise UnreadableDump("the header repeats a column", code="duplicate_column")
        self.header = header

    def _lines(self) -> Iterator[bytes | None]:
        """Each line without its end; None for one over the length limit (read past)."""
        assert self._stream is not None
        limit = settings.OFF_MAX_LINE_BYTES
        readline = self._stream.readline
        while True:
            try:
                line = readline(limit + 1)
                if not line:
                    return
                self._number += 1
                if len(line) > limit and not line.endswith(b"\n"):
                    while (rest := readline(_CHUNK)) and not rest.endswith(b"\n"):
                        pass
                    yield None
                    continue
            except _READ_ERRORS as exc:
                raise UnreadableDump(
                    f"the file cannot be read past line {self._number}: {exc}"
                ) from None
            yield line.rstrip(b"\r\n")

    def lines(self, *, skip: int = 0) -> Iterator[DumpLine]:
        """The product lines after the first `skip` of them (a resumed job's covered lines),
        each with its record or its problem."""
        lines = self._lines()
        for _ in range(skip):
            if next(lines, False) is False:
                return
        for raw in lines:
            yield self._read(self._number, raw)

    def _read(self, number: int, raw: bytes | None) -> DumpLine:
        if raw is None:
            limit = settings.OFF_MAX_LINE_BYTES
            return DumpLine(number, problem=f"the line is longer than {limit} bytes")
        if not raw.strip():
            return DumpLine(number)
        # Decoding bytes never makes a lone surrogate; NUL is dropped, as the rows keep text.
        text = raw.decode("utf-8", "replace").replace("\x00", "")
        if self.format == CSV:
            cells = text.split("\t")
            if len(cells) != len(self.header):
                return DumpLine(
                    number,
                    problem=f"the line has {len(cells)} values for {len(self.header)} columns",
                    text=text[:_KEPT_CHARS],
                )
            return DumpLine(number, dict(zip(self.header, cells, strict=True)))
        try:
            record = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return DumpLine(number, problem=f"not JSON: {exc}"[:300], text=text[:_KEPT_CHARS])
        if not isinstance(record, dict):
            return DumpLine(number, problem="not a product object", text=text[:_KEPT_CHARS])
        return DumpLine(number, record)


def count_lines(path: Path, fmt: str) -> int:
    """The product lines of a dump (blank ones too: they are positions a job counts)."""
    newlines, last = 0, b"\n"
    try:
        with contextlib.closing(_open(path)) as stream:
            while chunk := stream.read(_CHUNK):
                newlines += chunk.count(b"\n")
                last = chunk[-1:]
    except _READ_ERRORS as exc:
        raise UnreadableDump(f"cannot read {path.name}: {exc}") from None
    lines = newlines + (last != b"\n")
    return max(0, lines - 1) if fmt == CSV else lines
