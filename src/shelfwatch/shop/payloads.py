"""Plain-dict payloads of carts, orders and flash sales, shared by the API and the pages."""

from __future__ import annotations

from django.utils import timezone

from shelfwatch.inventory.models import StockItem
from shelfwatch.shop.carts import StoreCart
from shelfwatch.shop.models import FlashSale, Order
from shelfwatch.shop.orders import allowed_next
from shelfwatch.shop.selectors.sale_units import live_holds


def cart_out(stores: list[StoreCart]) -> dict:
    """The cart as the API and pages send it: lines per store with their prices and totals."""
    out = []
    for store in stores:
        lines = [
            {
                "id": p.line.pk,
                "store_id": p.line.store_id,
                "product_id": p.line.product_id,
                "product_name": p.line.product.name,
                "quantity": p.line.quantity,
                "unit_price": p.unit_price,
                "line_total": p.amount,
                "available": p.available,
                "flash_sale_id": p.line.reservation.sale_id if p.line.reservation else None,
                "reservation_expires_at": p.reservation_expires_at,
                "reservation_live": p.reservation_live,
                "price_kind": p.kind,
            }
            for p in store.lines
        ]
        totals = store.totals
        out.append(
            {
                "store_id": store.store_id,
                "store_name": store.store_name,
                "currency": store.currency,
                "lines": lines,
                "totals": {
                    "subtotal": totals.subtotal,
                    "tax": totals.tax,
                    "delivery_fee": totals.delivery_fee,
                    "total": totals.total,
                },
            }
        )
    return {"stores": out, "line_count": sum(len(s["lines"]) for s in out)}


def order_out(order: Order) -> dict:
    """An order as the API sends it: its state, money, lines and status history."""
    return {
        "id": order.pk,
        "store_id": order.store_id,
        "store_name": order.store.name,
        "user_id": order.user_id,
        "status": order.status,
        "fulfilment": order.fulfilment,
        "currency": order.currency,
        "subtotal": order.subtotal,
        "discount": order.discount,
        "points_redeemed": order.points_redeemed,
        "tax": order.tax,
        "delivery_fee": order.delivery_fee,
        "total": order.total,
        "note": order.note,
        "customer_name": order.customer_name,
        "customer_phone": order.customer_phone,
        "payment_provider": order.payment_provider,
        "payment_status": order.payment_status,
        "cancel_reason": order.cancel_reason,
        "allowed_next": sorted(allowed_next(order)),
        "created_at": order.created_at,
        "lines": [
            {
                "product_id": line.product_id,
                "product_name": line.product_name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "line_total": line.line_total,
                "flash_sale_id": line.flash_sale_id,
            }
            for line in order.lines.all()
        ],
        "history": [
            {
                "previous_status": change.previous_status,
                "status": change.status,
                "actor_id": change.actor_id,
                "reason": change.reason,
                "at": change.at,
            }
            for change in order.history.all()
        ],
    }


def flash_sales_out(sales: list[FlashSale]) -> list[dict]:
    """Sales with their units left (allotted - sold - unexpired holds) and regular price."""
    now = timezone.now()
    holds = live_holds([sale.pk for sale in sales], now)
    prices = {
        (store_id, product_id): price
        for store_id, product_id, price in StockItem.objects.filter(
            store_id__in={s.store_id for s in sales}, product_id__in={s.product_id for s in sales}
        ).values_list("store_id", "product_id", "selling_price")
    }
    return [
        {
            "id": sale.pk,
            "store_id": sale.store_id,
            "product_id": sale.product_id,
            "product_name": sale.product.name,
            "title": sale.title,
            "sale_price": sale.sale_price,
            "regular_price": prices.get((sale.store_id, sale.product_id)),
            "currency": sale.store.currency,
            "quantity_allotted": sale.quantity_allotted,
            "per_customer_limit": sale.per_customer_limit,
            "units_left": max(0, sale.quantity_allotted - sale.sold - holds.get(sale.pk, 0)),
            "units_sold": sale.sold,
            "starts_at": sale.starts_at,
            "ends_at": sale.ends_at,
            "is_active": sale.is_active(now),
        }
        for sale in sales
    ]
