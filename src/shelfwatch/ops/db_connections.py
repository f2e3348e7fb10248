"""When a kept database connection is checked before use: only after it sat idle.

Django's CONN_HEALTH_CHECKS sends a `SELECT 1` before the first query of every request
on a reused connection: a second round trip on a one-query read. A connection that served
a request a moment ago is as good as one just checked, so here the check runs only when
the connection has been idle for DB_IDLE_CHECK_SECONDS or more (a restarted database, a
proxy or firewall dropping quiet connections). A connection that fails inside a request
anyway is closed by Django at the request's end (its `errors_occurred` check), so the next
request reconnects: at most one failed request per connection whose server went away
while it was busy.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import connections

# Set on each thread's connection wrapper when a request using it ends.
_RELEASED_AT = "_shelfwatch_released_at"


def _check_if_idle(**_: Any) -> None:
    """Before a request (after Django reset its health-check flag): check a kept
    connection before its first query only when it has sat idle long enough."""
    idle = settings.DB_IDLE_CHECK_SECONDS
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        released = getattr(conn, _RELEASED_AT, None)
        conn.health_check_enabled = released is None or now - released >= idle


def _mark_released(**_: Any) -> None:
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        setattr(conn, _RELEASED_AT, now)


def connect() -> None:
    """Connect the receivers; after django.db's own, which reset the check per request."""
    request_started.connect(_check_if_idle, dispatch_uid="shelfwatch.db.check_if_idle")
    request_finished.connect(_mark_released, dispatch_uid="shelfwatch.db.mark_released")
