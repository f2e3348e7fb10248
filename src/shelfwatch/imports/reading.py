"""Reading an uploaded spreadsheet (CSV) as a stream: its encoding, delimiter, header and
rows, with limits on line length and column count so no file can exhaust a worker.

Encodings: UTF-8 with or without a byte order mark, UTF-16 by its mark, and Windows-1252
(what Excel saves "CSV" as on most Indian and Western installs) when the bytes are not
UTF-8. Delimiters: csv.Sniffer on a sample, else the most frequent of , ; tab | in the
header line.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

from shelfwatch.errors import Invalid

SAMPLE_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
# Bytes Windows-1252 leaves undefined: text holding them is not Windows-1252 either.
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


class UnreadableFile(Invalid):
    """The file as a whole cannot be imported (binary, empty, no header...)."""

    code = "unreadable_file"


@dataclass(frozen=True)
class Row:
    """One record of the file: the line it starts on and its cells, or why it cannot be
    read (`problem`, with `cells` empty)."""

    line: int
    cells: list[str]
    problem: str = ""


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file starting with `sample`; UnreadableFile for binary data."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if not sample.strip():
        raise UnreadableFile("the file is empty", code="empty_file")
    if b"\x00" in sample:
        raise UnreadableFile(
            "this is not a text file; save the sheet as CSV and upload that", code="binary_file"
        )
    try:
        # The sample may end inside a character: an incremental decoder forgives that.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        if _CP1252_UNDEFINED & set(sample):
            raise UnreadableFile(
                "this is not a text file; save the sheet as CSV and upload that",
                code="binary_file",
            ) from None
        return "cp1252"
    return "utf-8"


def detect_delimiter(text: str) -> str:
    """The delimiter of CSV text starting with `text`."""
    try:
        return csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _sample_text(sample: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(sample, final=False)


class _Lines:
    """The file's lines, each at most IMPORT_MAX_LINE_CHARS long: a longer one is read
    past (in bounded pieces) and handed on as an empty line, marked as too long."""

    def __init__(self, text: io.TextIOBase, limit: int) -> None:
        self.text = text
        self.limit = limit
        self.number = 0
        self.too_long: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.text.readline(self.limit + 1)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) > self.limit and not line.endswith(("\n", "\r")):
            while (rest := self.text.readline(self.limit)) and not rest.endswith(("\n", "\r")):
                pass
            self.too_long.add(self.number)
            return "\n"
        return line


class CsvFile:
    """A stored CSV file opened for reading: the header, then `Row`s as they are read."""

    def __init__(self, raw: BinaryIO, *, encoding: str, delimiter: str) -> None:
        self.text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        self.lines = _Lines(self.text, settings.IMPORT_MAX_LINE_CHARS)
        self.reader = csv.reader(self.lines, delimiter=delimiter)
        self.header: list[str] = []

    def read_header(self) -> list[str]:
        """The header row, cleaned; UnreadableFile when there is none usable."""
        try:
            header = next(self.reader)
        except StopIteration:
            raise UnreadableFile("the file is empty", code="empty_file") from None
        except csv.Error as exc:
            raise UnreadableFile(f"the header cannot be read: {exc}", code="bad_header") from None
        if 1 in self.lines.too_long:
            raise UnreadableFile("the header line is too long", code="line_too_long")
        header = [cell.replace("\ufeff", "").strip() for cell in header]
        if not any(header):
            raise UnreadableFile("the first line should name the columns", code="no_header")
        if len(header) > settings.IMPORT_MAX_COLUMNS:
            raise UnreadableFile(
                f"the file has {len(header)} columns; at most "
                f"{settings.IMPORT_MAX_COLUMNS} are read",
                code="too_many_columns",
            )
        seen: set[str] = set()
        for index, name in enumerate(header):
            if not name:
                header[index] = name = f"column {index + 1}"
            if name in seen:
                raise UnreadableFile(f"two columns are called {name!r}", code="duplicate_column")
            seen.add(name)
        self.header = header
        return header

    def rows(self) -> Iterator[Row]:
        """Every data row after the header, blank lines included (as rows without cells),
        so counting rows counts positions in the file."""
        while True:
            start = self.lines.number + 1
            try:
                cells = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Row(start, [], f"this line cannot be read as CSV ({exc})")
                continue
            if start in self.lines.too_long:
                yield Row(start, [], f"the line is longer than {self.lines.limit} characters")
            elif "\x00" in "".join(cells):
                yield Row(start, [], "the line holds binary data")
            else:
                yield Row(start, cells)

    def close(self) -> None:
        """Close the decoded text stream and the file under it."""
        self.text.close()


@dataclass(frozen=True)
class Sniffed:
    encoding: str
    delimiter: str


def sniff(raw: BinaryIO) -> Sniffed:
    """The encoding and delimiter of the file `raw` (read from its start; rewound)."""
    raw.seek(0)
    sample = raw.read(SAMPLE_BYTES)
    raw.seek(0)
    encoding = detect_encoding(sample)
    text = _sample_text(sample, encoding).lstrip("\ufeff")
    # Whole lines only: a cut last line would mislead the sniffer.
    if len(sample) == SAMPLE_BYTES and "\n" in text:
        text = text[: text.rindex("\n")]
    return Sniffed(encoding=encoding, delimiter=detect_delimiter(text))
