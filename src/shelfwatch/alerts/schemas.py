"""Request and response bodies of the contacts and subscriptions API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema

from shelfwatch.http.bounds import BoundedSchema, Id, Int32


class ContactIn(BoundedSchema):
    channel: str
    address: str = Field(..., max_length=500)


class ContactOut(Schema):
    id: int
    channel: str
    address: str  # masked until the caller proved they hold it
    verified: bool
    is_active: bool
    contact_token: str | None = None


class VerifyIn(BoundedSchema):
    code: str = Field(..., max_length=12)
    contact_token: str | None = Field(None, max_length=200)


class ResendIn(BoundedSchema):
    contact_token: str | None = Field(None, max_length=200)


class SubscriptionIn(BoundedSchema):
    contact_id: Id
    contact_token: str | None = Field(None, max_length=200)
    item_id: Id
    kind: str = "back_in_stock"
    target_price: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    min_drop_percent: Decimal | None = Field(None, gt=0, lt=100)
    cooldown_minutes: Int32 | None = None


class SubscriptionPatch(BoundedSchema):
    contact_token: str | None = Field(None, max_length=200)
    target_price: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    min_drop_percent: Decimal | None = Field(None, gt=0, lt=100)
    cooldown_minutes: Int32 | None = None
    is_active: bool | None = None


class SubscriptionOut(Schema):
    id: int
    contact_id: int
    item_id: int
    item_name: str
    source_id: int
    kind: str
    target_price: Decimal | None
    min_drop_percent: Decimal | None
    cooldown_minutes: int
    is_active: bool
    last_notified_at: datetime | None
    created_at: datetime
