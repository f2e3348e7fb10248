"""Request and response bodies of the stores and inventory API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema

from shelfwatch.catalog.schemas import ProductImageOut
from shelfwatch.http.bounds import BoundedSchema, column
from shelfwatch.inventory.models import StockItem, StockMovement


class StoreOut(Schema):
    id: int
    name: str
    slug: str
    city: str
    region: str
    currency: str
    timezone: str
    is_active: bool


class StockDetails(BoundedSchema):
    cost_price: column(StockItem, "cost_price") | None = None
    selling_price: column(StockItem, "selling_price") | None = None
    reorder_level: column(StockItem, "reorder_level") | None = None
    supplier: column(StockItem, "supplier") | None = None
    location: column(StockItem, "location") | None = None
    notes: column(StockItem, "notes") | None = None
    sku: column(StockItem, "sku") | None = None


class StockItemIn(StockDetails):
    product_id: column(StockItem, "product")
    quantity: column(StockItem, "quantity") = 0


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
    sku: str
    notes: str
    custom_images: list[ProductImageOut]
    updated_at: datetime


class StockItemPage(Schema):
    items: list[StockItemOut]
    next_cursor: str | None


class MovementIn(BoundedSchema):
    delta: column(StockMovement, "delta") = Field(
        description="Units added (positive) or taken (negative)."
    )
    reason: column(StockMovement, "reason") = Field(
        description="sale, restock, adjustment, import, return or reservation"
    )
    reference: column(StockMovement, "reference") = ""


class CountIn(BoundedSchema):
    quantity: column(StockItem, "quantity") = Field(
        description="The quantity counted on the shelf."
    )
    reference: column(StockMovement, "reference") = ""


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
