"""Request and response bodies of the loyalty API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema

from shelfwatch.http.bounds import BoundedSchema, Id


class BalanceOut(Schema):
    store_id: int
    store_name: str
    currency: str
    points: int
    value: Decimal
    program_enabled: bool


class EntryOut(Schema):
    id: int
    store_id: int
    kind: str
    points: int
    balance_after: int
    order_id: int | None
    reason: str
    created_at: datetime


class EntryPage(Schema):
    items: list[EntryOut]
    next_cursor: str | None


class QuoteIn(BoundedSchema):
    store_id: Id
    points: int = Field(gt=0)
    order_total: Decimal = Field(gt=0, max_digits=12, decimal_places=2)


class QuoteOut(Schema):
    store_id: int
    points: int
    discount: Decimal
    currency: str


class ProgramIn(BoundedSchema):
    enabled: bool
    earn_points: int = Field(ge=0, le=1_000_000)
    earn_per_amount: Decimal = Field(gt=0, max_digits=10, decimal_places=2)
    point_value: Decimal = Field(gt=0, max_digits=10, decimal_places=2)
    max_redeem_percent: int = Field(ge=1, le=100)
    expiry_months: int = Field(ge=0, le=120)


class ProgramOut(ProgramIn):
    store_id: int
    updated_at: datetime | None


class AdjustmentIn(BoundedSchema):
    user_id: Id
    points: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=1, max_length=200)


class AdjustmentOut(Schema):
    entry: EntryOut
    balance: int
