"""`/api/v1/cart`, `/api/v1/checkout`, `/api/v1/orders` and `/api/v1/flash-sales`."""

from __future__ import annotations

from ninja import Router

cart_router = Router(tags=["cart"])
checkout_router = Router(tags=["checkout"])
orders_router = Router(tags=["orders"])
flash_sales_router = Router(tags=["flash sales"])
