"""Opaque keyset-pagination cursors: the sort key of the last row a client saw."""

from __future__ import annotations

import base64
import json

from shelfwatch.http.problems import ApiError


class BadCursor(ApiError):
    status = 400
    code = "invalid_cursor"


def encode_cursor(*key: float | int | str) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> tuple:
    """The key inside `cursor`, each part converted by `types`; BadCursor when malformed."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(values, list) or len(values) != len(types):
            raise ValueError
        return tuple(kind(value) for kind, value in zip(types, values, strict=True))
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise BadCursor("the cursor is not one this endpoint gave out") from None


def id_page(rows: list, limit: int) -> tuple[list, str | None]:
    """Cut `limit + 1` fetched rows to a page; the cursor after its last id when more exist."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].pk) if more else None
