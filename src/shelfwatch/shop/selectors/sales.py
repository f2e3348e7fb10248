"""Reads of flash sales: the ones running or coming (public), the ones a store's staff
manage, and how the storefront pages show them."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, QuerySet
from django.utils import timezone

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import Product
from shelfwatch.errors import NotFound
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.inventory.selectors import get_store_for, stores_for
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


# How many sales of each kind the store's flash-sale page lists (the latest ended ones).
SALES_SHOWN = 100
# How many priced products the new-sale form offers (by name); a store with more narrows
# the list by typing a name.
PRODUCTS_OFFERED = 1000


def store_sale_board(
    *, principal: Principal | None, store_id: int, now: datetime | None = None
) -> tuple[Store, dict[str, list[dict]]]:
    """A store the caller manages and its sales, as its flash-sale page lists them:
    {"running": ..., "upcoming": ..., "ended": ...}, each sale with its units left,
    sold and held now. Raises NotFound for a store the caller does not manage."""
    store = get_store_for(principal, store_id)
    now = now or timezone.now()
    sales = managed_flash_sales(principal).filter(store=store)
    groups = {
        "running": sales.filter(starts_at__lte=now, ends_at__gt=now).order_by("ends_at", "id"),
        "upcoming": sales.filter(starts_at__gt=now).order_by("starts_at", "id"),
        "ended": sales.filter(ends_at__lte=now).order_by("-ends_at", "-id"),
    }
    board = {}
    for name, group in groups.items():
        rows = flash_sales_out(list(group[:SALES_SHOWN]))
        for row in rows:
            # Units neither sold nor left are in live holds (carts at the sale price).
            row["units_held"] = row["quantity_allotted"] - row["units_sold"] - row["units_left"]
            row["state"] = name
        board[name] = rows
    return store, board


def managed_sale(*, principal: Principal | None, store_id: int, sale_id: int) -> FlashSale:
    """One sale of a store the caller manages; NotFound for any other."""
    sale = managed_flash_sales(principal).filter(store_id=store_id, pk=sale_id).first()
    if sale is None:
        raise NotFound("flash sale not found", code="flash_sale_not_found")
    return sale


def sale_products(store: Store, *, q: str = "") -> list[StockItem]:
    """The store's priced stock items (what a flash sale can sell), by product name; with
    `q`, those whose product name holds it."""
    items = StockItem.objects.filter(store=store, selling_price__isnull=False).select_related(
        "product"
    )
    if q:
        items = items.filter(product__name__icontains=q)
    return list(items.order_by("product__name", "pk")[:PRODUCTS_OFFERED])


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
