"""Orders with their lines, read a chunk of orders at a time (two queries per chunk)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import F, QuerySet

ORDER_FIELDS = (
    "id",
    "store_id",
    "user_id",
    "status",
    "fulfilment",
    "currency",
    "subtotal",
    "discount",
    "points_redeemed",
    "tax",
    "delivery_fee",
    "total",
    "payment_status",
    "created_at",
    "updated_at",
)
LINE_FIELDS = ("order_id", "product_id", "product_name", "quantity", "unit_price", "line_total")


def iter_orders(stores: QuerySet | None, *, chunk: int) -> Iterator[dict[str, Any]]:
    """Every order of `stores` (all stores when None) with a `lines` list, in id order.

    Keyset pages on the id, so the cost per page stays the same deep into the table.
    """
    from shelfwatch.shop.models import Order, OrderLine

    orders = Order.objects.all()
    if stores is not None:
        orders = orders.filter(store__in=stores)
    last_id = 0
    while True:
        page = list(
            orders.filter(id__gt=last_id)
            .order_by("id")
            .values(*ORDER_FIELDS, store_slug=F("store__slug"))[:chunk]
        )
        if not page:
            return
        by_order: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in page}
        lines = (
            OrderLine.objects.filter(order_id__in=list(by_order))
            .order_by("order_id", "id")
            .values(*LINE_FIELDS)
        )
        for line in lines:
            by_order[line.pop("order_id")].append(line)
        for row in page:
            row["lines"] = by_order[row["id"]]
            yield row
        last_id = page[-1]["id"]
