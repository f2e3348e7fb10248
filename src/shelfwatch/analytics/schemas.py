"""Query and response shapes of the analytics API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema

from shelfwatch.http.bounds import BoundedSchema, Id


class RangeQuery(BoundedSchema):
    store: Id
    # Strings, parsed by `ranges.day_range`, so a bad date has its own problem code.
    from_: str | None = Field(None, alias="from", max_length=40)
    to: str | None = Field(None, max_length=40)


class LimitedRangeQuery(RangeQuery):
    limit: int = Field(10, ge=1, le=100)


class DayFigures(Schema):
    views: int
    bot_views: int
    visitors: int
    cart_sessions: int
    checkout_sessions: int
    orders: int
    revenue: Decimal
    subscriptions: int
    restocks: int
    search_misses: int
    conversion: float | None


class DayOut(DayFigures):
    day: date


class SummaryOut(Schema):
    store_id: int
    from_: date = Field(..., alias="from")
    to: date
    days: list[DayOut]
    totals: DayFigures


class TopProductOut(Schema):
    product_id: int
    name: str
    views: int
    bot_views: int
    visitors: int


class SearchMissOut(Schema):
    query: str
    searches: int


class ChannelFunnelOut(Schema):
    channel: str
    sent: int
    delivered: int
    read: int
    failed: int


class AlertFunnelOut(Schema):
    store_id: int
    from_: date = Field(..., alias="from")
    to: date
    subscribed: int
    sent: int
    delivered: int
    read: int
    failed: int
    ordered: int
    channels: list[ChannelFunnelOut]


class ReportsQuery(BoundedSchema):
    # No store: the platform's reports (admins only).
    store: Id | None = None
    kind: Literal["daily", "weekly"] | None = None
    limit: int = Field(30, ge=1, le=366)


class ReportOut(Schema):
    id: int
    store_id: int | None
    kind: str
    first_day: date
    last_day: date
    built_at: datetime | None
    sent_at: datetime | None
    recipients: int


class ReportDetailOut(ReportOut):
    # What the report shows: figures with their changes, lists, trend (docs/analytics.md).
    data: dict[str, Any]
