"""Reading a downloaded body as text while it arrives: lines, and the items of a JSON list.

Both hold only the unread rest of the latest chunk and the item being decoded, so a file's
size does not decide a refresh's memory.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterator
from typing import Any

WHITESPACE = " \t\r\n"
NUMBER_CHARACTERS = frozenset("0123456789+-.eE")


class MalformedJson(ValueError):
    """The body is not the JSON list it should be; the message says where it went wrong."""


def decoded(chunks: Iterator[bytes]) -> Iterator[str]:
    """UTF-8 text of the chunks (a leading BOM dropped, bad bytes replaced), piece by piece."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    for chunk in chunks:
        text = decoder.decode(chunk)
        if text:
            yield text
    rest = decoder.decode(b"", final=True)
    if rest:
        yield rest


def lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """The body as lines with their line ends kept, as the csv module wants them."""
    pending = ""
    for text in decoded(chunks):
        pending += text
        # Cut after the last \n only; the csv module handles \r\n and quoted line breaks.
        cut = pending.rfind("\n") + 1
        if cut:
            yield from io.StringIO(pending[:cut], newline="")
            pending = pending[cut:]
    if pending:
        yield pending


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
    decoder = json.JSONDecoder()
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
