"""Request and response shapes of the feeds API."""

from __future__ import annotations

from ninja import Schema


class FeedHealthOut(Schema):
    status: str
    datasets: int


class RefreshOut(Schema):
    status: str  # "triggered" or "already in progress"
    run: int | None = None
