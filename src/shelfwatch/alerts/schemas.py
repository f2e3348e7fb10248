"""Request and response bodies of the contacts and subscriptions API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema


class ContactIn(Schema):
    channel: str
    address: str = Field(..., max_length=500)


class ContactOut(Schema):
    id: int
    channel: str
    address: str  # masked until the caller proved they hold it
    verified: bool
    is_active: bool
    contact_token: str | None = None


class VerifyIn(Schema):
    code: str = Field(..., max_length=12)
    contact_token: str | None = None


class ResendIn(Schema):
    contact_token: str | None = None


class SubscriptionIn(Schema):
    contact_id: int
    contact_token: str | None = None
    item_id: int
    kind: str = "back_in_stock"
    target_price: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    min_drop_percent: Decimal | None = Field(None, gt=0, lt=100)
    cooldown_minutes: int | None = None


class SubscriptionPatch(Schema):
    contact_token: str | None = None
    target_price: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    min_drop_percent: Decimal | None = Field(None, gt=0, lt=100)
    cooldown_minutes: int | None = None
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
