"""Statements planned for the values they run with, when prepared statements are on.

With `DB_PREPARED_STATEMENTS=1`, PostgreSQL may run a statement a connection has prepared
with a generic plan, made once without looking at its parameters. That suits the rush's
updates of rows by primary key; a text search's cost depends on its words (how many
products hold them), and with generic plans catalog search ran 1.3-2x slower. Searches
therefore run unprepared: parsed and planned for their own words each time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import connection

P = ParamSpec("P")
R = TypeVar("R")


def unprepared(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` with the default connection preparing no statement (and using none it
    prepared before); a no-op unless PostgreSQL prepared statements are on."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold") is None:
            return func(*args, **kwargs)
        connection.ensure_connection()
        raw = connection.connection
        before = raw.prepare_threshold
        raw.prepare_threshold = None
        try:
            return func(*args, **kwargs)
        finally:
            if not raw.closed:
                raw.prepare_threshold = before

    return wrapper
