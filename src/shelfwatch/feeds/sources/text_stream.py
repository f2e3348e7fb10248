"""Reading a downloaded body as text while it arrives: lines, and the items of a JSON list.

Strict: bytes that are not UTF-8 and the non-JSON numbers NaN and Infinity are refused.

Both hold only the unread rest of the latest chunk and the item being decoded, so a file's
size does not decide a refresh's memory.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any

WHITESPACE = " \t\r\n"
NUMBER_CHARACTERS = frozenset("0123456789+-.eE")


class MalformedJson(ValueError):
    """The body is not the JSON list it should be; the message says where it went wrong."""


class UndecodableText(ValueError):
    """Bytes that are not UTF-8; `line` is the 1-based line they are on."""

    def __init__(self, line: int, detail: str) -> None:
        super().__init__(f"line {line} is not UTF-8: {detail}")
        self.line = line


class NonStandardNumber(ValueError):
    """NaN or Infinity: Python's json reads them, but they are not JSON and strict clients
    refuse a body that holds them."""


def refuse_constant(name: str) -> Any:
    """`parse_constant` for json decoders: NaN, Infinity and -Infinity are refused."""
    raise NonStandardNumber(f"{name} is not a JSON number")


def decoded(chunks: Iterator[bytes]) -> Iterator[str]:
    """UTF-8 text of the chunks (a leading BOM dropped), piece by piece; bytes that are not
    UTF-8 raise UndecodableText naming their line."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    line = 1
    for chunk in _with_end(chunks):
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            at = line + exc.object[: exc.start].count(b"\n")
            raise UndecodableText(at, _byte_detail(exc)) from None
        if text:
            line += text.count("\n")
            yield text


def _with_end(chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        if chunk:
            yield chunk
    yield b""  # the end: the decoder is told no more bytes follow


def _byte_detail(exc: UnicodeDecodeError) -> str:
    bad = exc.object[exc.start : exc.end]
    return f"byte{'s' if len(bad) > 1 else ''} {bad.hex(' ')} ({exc.reason})"


def lines(chunks: Iterator[bytes], *, bad_lines: set[int] | None = None) -> Iterator[str]:
    """The body as lines with their ends kept, as the csv module wants them, one item per
    line (so a csv reader's `line_num` is the line number). Each line is strict UTF-8 (a
    leading BOM dropped): one that is not raises UndecodableText, or, given `bad_lines`,
    is added there by number and yielded with replacement characters for the caller to
    drop the record it belongs to."""
    pending = b""
    number = 0
    first = True
    for chunk in chunks:
        pending += chunk
        if first and len(pending) >= 3:
            pending = pending.removeprefix(codecs.BOM_UTF8)
            first = False
        # Cut after \n only (never inside a UTF-8 sequence); csv handles \r\n itself.
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            number += 1
            yield _line_text(raw + b"\n", number, bad_lines)
    if first:
        pending = pending.removeprefix(codecs.BOM_UTF8)
    if pending:
        yield _line_text(pending, number + 1, bad_lines)


def _line_text(raw: bytes, number: int, bad_lines: set[int] | None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if bad_lines is None:
            raise UndecodableText(number, _byte_detail(exc)) from None
        bad_lines.add(number)
        return raw.decode("utf-8", errors="replace")


class _Reader:
    """A window on the text: what is not yet consumed of the pieces read so far."""

    def __init__(self, pieces: Iterator[str]) -> None:
        self.pieces = pieces
        self.text = ""
        self.pos = 0
        self.consumed = 0  # characters before `text`, for error positions
        self.ended = False

    def more(self) -> bool:
        """Append the next piece; False once the body has ended."""
        piece = None if self.ended else next(self.pieces, None)
        if piece is None:
            self.ended = True
            return False
        self.consumed += self.pos
        self.text = self.text[self.pos :] + piece
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end), left unread."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos : self.pos + 1]

    def value(self, decoder: json.JSONDecoder) -> Any:
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
            except NonStandardNumber as exc:
                raise MalformedJson(
                    f"{exc} (item at character {self.consumed + self.pos})"
                ) from None
            except json.JSONDecodeError as exc:
                if self.more():
                    continue  # the value goes on in the next piece
                raise MalformedJson(f"{exc.msg} at character {self.consumed + exc.pos}") from None
            # A number is over only where something else follows it: "-0." could still
            # become "-0.5e3" once the next piece has arrived.
            if _may_continue(value, self.text, end) and self.more():
                continue
            self.pos = end
            return value


def _may_continue(value: Any, text: str, end: int) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return all(character in NUMBER_CHARACTERS for character in text[end:])


def json_list_items(chunks: Iterator[bytes]) -> Iterator[Any]:
    """The items of a body that is one JSON list, each decoded as soon as it has arrived."""
    reader = _Reader(decoded(chunks))
    decoder = json.JSONDecoder(parse_constant=refuse_constant)
    if reader.peek() != "[":
        raise MalformedJson("the records are not a JSON list")
    reader.pos += 1
    if reader.peek() == "]":
        reader.pos += 1
    else:
        while True:
            if not reader.peek():
                raise MalformedJson("the list ends before its closing bracket")
            yield reader.value(decoder)
            separator = reader.peek()
            reader.pos += 1
            if separator == "]":
                break
            if separator != ",":
                where = reader.consumed + reader.pos - 1
                raise MalformedJson(f"expected ',' or ']' at character {where}")
    if reader.peek():
        raise MalformedJson("extra data after the list")
