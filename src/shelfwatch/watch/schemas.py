"""Request and response bodies of the sources API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from shelfwatch.http.bounds import BoundedSchema, column
from shelfwatch.watch.models import Source


class SourceIn(BoundedSchema):
    name: column(Source, "name") = ""
    kind: column(Source, "kind")
    base_url: column(Source, "base_url")
    settings: dict[str, Any] = Field(default_factory=dict)
    poll_interval: column(Source, "poll_interval") = 300
    is_public: bool = True


class SourcePatch(BoundedSchema):
    name: column(Source, "name") | None = None
    base_url: column(Source, "base_url") | None = None
    settings: dict[str, Any] | None = None
    poll_interval: column(Source, "poll_interval") | None = None
    is_active: bool | None = None
    is_public: bool | None = None


class InternalSourceIn(BoundedSchema):
    store_id: column(Source, "store")


class DetectIn(BoundedSchema):
    url: column(Source, "base_url")


class FailingPage(Schema):
    url: str
    code: str
    message: str


class SourceHealth(Schema):
    status: str
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str
    last_error_code: str
    last_error_at: datetime | None
    consecutive_failures: int
    failing_pages: list[FailingPage] = Field(default_factory=list)
    next_run_at: datetime
    host: str | None
    host_min_interval_ms: int | None
    host_max_concurrency: int | None


class SourceOut(Schema):
    id: int
    name: str
    kind: str
    base_url: str
    store_id: int | None
    poll_interval: int
    is_active: bool
    is_public: bool
    status: str
    item_count: int
    settings: dict[str, Any] | None = None  # admins only
    health: SourceHealth | None = None  # admins only


class ItemOut(Schema):
    id: int
    source_id: int
    external_id: str
    product_id: int | None
    name: str
    url: str
    image_url: str
    available: bool | None
    quantity: int | None
    price: Decimal | None
    currency: str
    is_gone: bool
    episode: int
    last_seen_at: datetime
    last_changed_at: datetime


class ObservationOut(Schema):
    observed_at: datetime
    available: bool | None
    quantity: int | None
    price: Decimal | None
    currency: str
    name: str
    changes: list[str]


class ItemDetail(ItemOut):
    history: list[ObservationOut]


class ItemPage(Schema):
    items: list[ItemOut]
    next_cursor: str | None


class DetectedItem(Schema):
    external_id: str
    name: str
    available: bool | None
    price: Decimal | None
    currency: str
    url: str


class DetectionOut(Schema):
    kind: str
    base_url: str
    name: str
    settings: dict[str, Any]
    items: list[DetectedItem]


class PollQueued(Schema):
    source_id: int
    next_run_at: datetime


class PricePointOut(Schema):
    at: datetime
    price: Decimal


class PeriodOut(Schema):
    start: datetime
    end: datetime


class RestockOut(Schema):
    restocks: int
    typical_out_hours: float
    weekday: int | None = Field(None, description="0 is Monday, in the shop's time zone")
    part_of_day: str | None = Field(None, description="morning, afternoon, evening or night")


class HistoryOut(Schema):
    item_id: int
    start: datetime
    end: datetime
    currency: str
    points: list[PricePointOut] = Field(description="Price changes; the price holds until the next")
    out_of_stock: list[PeriodOut]
    current_price: Decimal | None
    lowest: Decimal | None
    highest: Decimal | None
    days_out: float
    restock: RestockOut | None = Field(None, description="Only from three restocks seen")
    restock_sentence: str = ""


class HistoryFilters(Schema):
    days: int = Field(90, ge=1, le=730)
