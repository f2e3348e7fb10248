"""Demo shop data: a store's shop settings and a running flash sale."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.shop.models import FlashSale, ShopSettings

SALE_DAYS = 7


def load_demo_shop(
    *,
    store: Store,
    tax_rate_percent: Decimal = Decimal("8.25"),
    delivery_fee: Decimal = Decimal("4.99"),
) -> bool:
    """Give `store` shop settings (once: its tax rate and delivery fee) and, when none is
    running or upcoming, a flash sale of one stocked product at half price for a week;
    True if a sale was created."""
    ShopSettings.objects.get_or_create(
        store=store,
        defaults={
            "tax_rate_percent": tax_rate_percent,
            "delivery_fee": delivery_fee,
            "reservation_hold_minutes": 10,
        },
    )
    now = timezone.now()
    if FlashSale.objects.filter(store=store, ends_at__gt=now).exists():
        return False
    item = (
        StockItem.objects.filter(store=store, quantity__gte=5, selling_price__gt=0)
        .select_related("product")
        .order_by("-quantity", "pk")
        .first()
    )
    if item is None:
        return False
    FlashSale.objects.create(
        store=store,
        product=item.product,
        title=f"Half-price {item.product.name}",
        sale_price=(item.selling_price / 2).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        quantity_allotted=min(20, item.quantity),
        per_customer_limit=2,
        starts_at=now,
        ends_at=now + timedelta(days=SALE_DAYS),
    )
    return True
