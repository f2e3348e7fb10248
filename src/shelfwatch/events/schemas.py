"""Request and response shapes of the events API."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field

from shelfwatch.http.bounds import BoundedSchema


class EventOut(Schema):
    id: int
    type: str
    topics: list[str]
    payload: dict[str, Any]
    created_at: str


class EventListOut(Schema):
    events: list[EventOut]
    # Pass as `after` to get the next page; unchanged when there was nothing new.
    next_after: int
    has_more: bool


class PingIn(BoundedSchema):
    topic: str = Field(min_length=1, max_length=120, examples=["product:1"])
    message: str = Field(default="ping", max_length=200)


class PingOut(Schema):
    id: int
    type: str
    topics: list[str]
