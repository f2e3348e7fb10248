"""Request and response shapes of the feeds API."""

from __future__ import annotations

from typing import Any

from ninja import Schema

from shelfwatch.feeds.models import Dataset
from shelfwatch.http.bounds import BoundedSchema, Int32, column


class FeedHealthOut(Schema):
    status: str
    datasets: int


class RefreshOut(Schema):
    status: str  # "triggered" or "already in progress"
    run: int | None = None


class DatasetIn(BoundedSchema):
    """A new dataset; `source` holds `kind` and that kind's settings (docs/feeds.md)."""

    name: column(Dataset, "name")
    source: dict[str, Any]
    description: column(Dataset, "description") = ""
    refresh_every_seconds: Int32 = 3600


class DatasetPatch(BoundedSchema):
    description: column(Dataset, "description") | None = None
    refresh_every_seconds: Int32 | None = None
    active: bool | None = None
