"""Request and response bodies of the stores and inventory API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema

from shelfwatch.catalog.schemas import ProductImageOut


class StoreOut(Schema):
    id: int
    name: str
    slug: str
    city: str
    region: str
    currency: str
    timezone: str
    is_active: bool


class StockDetails(Schema):
    cost_price: Decimal | None = None
    selling_price: Decimal | None = None
    reorder_level: int | None = None
    supplier: str | None = None
    location: str | None = None
    notes: str | None = None


class StockItemIn(StockDetails):
    product_id: int
    quantity: int = 0


class ProductBrief(Schema):
    id: int
    name: str
    brand: str
    barcode: str | None
    net_quantity: Decimal | None
    net_unit: str
    status: str


class StockItemOut(Schema):
    id: int
    store_id: int
    product: ProductBrief
    quantity: int
    cost_price: Decimal | None
    selling_price: Decimal | None
    currency: str
    reorder_level: int
    is_low: bool
    supplier: str
    location: str
    notes: str
    custom_images: list[ProductImageOut]
    updated_at: datetime


class StockItemPage(Schema):
    items: list[StockItemOut]
    next_cursor: str | None


class MovementIn(Schema):
    delta: int = Field(description="Units added (positive) or taken (negative).")
    reason: str = Field(description="sale, restock, adjustment, import, return or reservation")
    reference: str = ""


class CountIn(Schema):
    quantity: int = Field(description="The quantity counted on the shelf.")
    reference: str = ""


class MovementOut(Schema):
    id: int
    item_id: int
    delta: int
    quantity_after: int
    reason: str
    reference: str
    actor_id: int | None
    created_at: datetime


class MovementPage(Schema):
    items: list[MovementOut]
    next_cursor: str | None
