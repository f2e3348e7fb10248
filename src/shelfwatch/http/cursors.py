"""Opaque keyset-pagination cursors: the sort key of the last row a client saw."""

from __future__ import annotations

import base64
import json
import math

from shelfwatch.errors import Malformed
from shelfwatch.http.bounds import INT64_MAX, INT64_MIN


class BadCursor(Malformed):
    """A cursor this server did not make, or made for another listing."""

    code = "invalid_cursor"


def encode_cursor(*key: float | int | str) -> str:
    """An opaque URL-safe cursor holding `key`; `decode_cursor` reads it back."""
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> tuple:
    """The key inside `cursor`, each part converted by `types`; BadCursor when malformed."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(values, list) or len(values) != len(types):
            raise ValueError
        key = tuple(kind(value) for kind, value in zip(types, values, strict=True))
        # A key no column can hold (a forged cursor) would reach the database as an error.
        if any(isinstance(part, int) and not INT64_MIN <= part <= INT64_MAX for part in key):
            raise ValueError
        if any(isinstance(part, float) and not math.isfinite(part) for part in key):
            raise ValueError
        if any(isinstance(part, str) and "\x00" in part for part in key):
            raise ValueError
        return key
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise BadCursor("the cursor is not one this endpoint gave out") from None


def id_page(rows: list, limit: int) -> tuple[list, str | None]:
    """Cut `limit + 1` fetched rows to a page; the cursor after its last id when more exist."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].pk) if more else None
