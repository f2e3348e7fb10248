"""Request and response shapes of the cart, checkout, order and flash-sale API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema

from shelfwatch.http.bounds import INT32_MIN, BoundedSchema, column
from shelfwatch.shop.models import CartLine, FlashSale, Order, OrderStatusChange


class CartLineIn(BoundedSchema):
    """A product of a store to add. Any price sent along is ignored: the server prices."""

    store_id: column(CartLine, "store")
    product_id: column(CartLine, "product")
    # Below 1 is the cart's own `invalid_quantity`.
    quantity: column(CartLine, "quantity", ge=INT32_MIN) = 1
    flash_sale_id: column(FlashSale, "id") | None = None


class CartQuantityIn(BoundedSchema):
    quantity: column(CartLine, "quantity", ge=INT32_MIN)


class CartLineOut(Schema):
    id: int
    store_id: int
    product_id: int
    product_name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    available: bool
    flash_sale_id: int | None = None
    reservation_expires_at: datetime | None = None
    reservation_live: bool = False
    # "sale" (held at the sale price), "hold_expired" (update the line before checkout)
    # or "regular".
    price_kind: str = "regular"


class CartTotalsOut(Schema):
    subtotal: Decimal
    tax: Decimal
    delivery_fee: Decimal
    total: Decimal


class StoreCartOut(Schema):
    store_id: int
    store_name: str
    currency: str
    lines: list[CartLineOut]
    totals: CartTotalsOut


class CartOut(Schema):
    stores: list[StoreCartOut]
    line_count: int


class CheckoutIn(BoundedSchema):
    store_id: column(Order, "store") | None = None
    fulfilment: column(Order, "fulfilment") = "pickup"
    payment_method: column(Order, "payment_provider") = "manual"
    points: column(Order, "points_redeemed") = 0
    note: column(Order, "note") = ""
    name: column(Order, "customer_name") = Field(
        "", description="who the store asks for when the order is ready"
    )
    phone: str = Field(
        "",
        max_length=40,
        description="a number the store can call about the order; national numbers are read "
        "in the store's country",
    )


class OrderLineOut(Schema):
    product_id: int
    product_name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    flash_sale_id: int | None = None


class StatusChangeOut(Schema):
    previous_status: str
    status: str
    actor_id: int | None = None
    reason: str
    at: datetime


class OrderOut(Schema):
    id: int
    store_id: int
    store_name: str
    user_id: int | None = None
    status: str
    fulfilment: str
    currency: str
    subtotal: Decimal
    discount: Decimal
    points_redeemed: int
    tax: Decimal
    delivery_fee: Decimal
    total: Decimal
    note: str
    customer_name: str
    customer_phone: str
    payment_provider: str
    payment_status: str
    cancel_reason: str
    allowed_next: list[str]
    created_at: datetime
    lines: list[OrderLineOut]
    history: list[StatusChangeOut]


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None = None


class StatusIn(BoundedSchema):
    status: column(Order, "status")
    reason: column(OrderStatusChange, "reason") = ""


class FlashSaleIn(BoundedSchema):
    store_id: column(FlashSale, "store")
    product_id: column(FlashSale, "product")
    title: column(FlashSale, "title") = ""
    sale_price: column(FlashSale, "sale_price")
    quantity_allotted: column(FlashSale, "quantity_allotted")
    per_customer_limit: column(FlashSale, "per_customer_limit") = 1
    starts_at: datetime
    ends_at: datetime


class FlashSaleEdit(BoundedSchema):
    title: column(FlashSale, "title") | None = None
    sale_price: column(FlashSale, "sale_price") | None = None
    quantity_allotted: column(FlashSale, "quantity_allotted") | None = None
    per_customer_limit: column(FlashSale, "per_customer_limit") | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class FlashSaleOut(Schema):
    id: int
    store_id: int
    product_id: int
    product_name: str
    title: str
    sale_price: Decimal
    regular_price: Decimal | None = None
    currency: str
    quantity_allotted: int
    per_customer_limit: int
    units_left: int
    units_sold: int
    starts_at: datetime
    ends_at: datetime
    is_active: bool
