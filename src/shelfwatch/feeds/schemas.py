"""Request and response shapes of the feeds API."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class FeedHealthOut(Schema):
    status: str
    datasets: int


class RefreshOut(Schema):
    status: str  # "triggered" or "already in progress"
    run: int | None = None


class DatasetIn(Schema):
    """A new dataset; `source` holds `kind` and that kind's settings (docs/feeds.md)."""

    name: str
    source: dict[str, Any]
    description: str = ""
    refresh_every_seconds: int = 3600


class DatasetPatch(Schema):
    description: str | None = None
    refresh_every_seconds: int | None = None
    active: bool | None = None
