"""Reads of flash sales: the ones running or coming (public), the ones a store's staff
manage, and how the storefront pages show them."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, QuerySet
from django.utils import timezone

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import Product
from shelfwatch.inventory.models import Store
from shelfwatch.inventory.selectors import stores_for
from shelfwatch.shop.models import FlashSale
from shelfwatch.shop.payloads import flash_sales_out


def live_flash_sales(
    *, store_id: int | None = None, product_id: int | None = None
) -> QuerySet[FlashSale]:
    """Sales running now or starting later, soonest ending first (public)."""
    sales = FlashSale.objects.filter(ends_at__gt=timezone.now()).select_related("store", "product")
    if store_id is not None:
        sales = sales.filter(store_id=store_id)
    if product_id is not None:
        sales = sales.filter(product_id=product_id)
    return sales.order_by("ends_at", "id")


def managed_flash_sales(principal: Principal | None) -> QuerySet[FlashSale]:
    """Sales of the stores the caller manages (all for admins)."""
    return FlashSale.objects.filter(store__in=stores_for(principal)).select_related(
        "store", "product"
    )


def product_flash_sale(*, store: Store, product: Product) -> dict | None:
    """The running (else the next upcoming) flash sale of `product` at `store`, as the
    product page shows it: price, window and units left; None when there is none."""
    sales = list(live_flash_sales(store_id=store.pk, product_id=product.pk)[:10])
    if not sales:
        return None
    shown = flash_sales_out(sales)
    running = [sale for sale in shown if sale["is_active"]]
    return running[0] if running else min(shown, key=lambda sale: sale["starts_at"])


def running_sales(store: Store, product_ids: list[int]) -> dict[int, dict]:
    """{product id: {"sale_price", "ends_at", "title"}} for the flash sales running now at
    `store` on those products with units left, so cards can show the sale price."""
    now = timezone.now()
    sales = FlashSale.objects.filter(
        store=store,
        product_id__in=product_ids,
        starts_at__lte=now,
        ends_at__gt=now,
        # A sold-out sale sells at the regular price: the card shows that price then.
        quantity_allotted__gt=F("held") + F("sold"),
    ).order_by("ends_at")
    found: dict[int, dict] = {}
    for sale in sales:
        if sale.product_id not in found:
            found[sale.product_id] = {
                "sale_price": sale.sale_price,
                "ends_at": sale.ends_at,
                "title": sale.title,
            }
    return found


def running_sales_query(now: datetime) -> QuerySet[FlashSale]:
    """Flash sales running at `now` with units left, at open stores."""
    return FlashSale.objects.filter(
        starts_at__lte=now,
        ends_at__gt=now,
        quantity_allotted__gt=F("held") + F("sold"),
        store__is_active=True,
    )


def running_sale_count() -> int:
    """How many flash sales with units left run now at open stores (for a shopper who has
    not picked a store yet)."""
    return running_sales_query(timezone.now()).count()
