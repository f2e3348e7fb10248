"""Reads for the storefront pages: the stores a shopper may pick, the shelf of one store,
and one product as a shopper sees it (regional name, price, availability, alerts).

Shoppers see verified catalog products only, whoever is signed in: the storefront is the
public face of the catalog, not a staff tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum, prefetch_related_objects

from shelfwatch.alerts.models import Contact
from shelfwatch.catalog.images import image_urls
from shelfwatch.catalog.models import Category, Product
from shelfwatch.catalog.search import search_products
from shelfwatch.catalog.selectors import filter_products, get_product_for, visible_products
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.watch.models import Source, SourceKind

if TYPE_CHECKING:
    from shelfwatch.shop.carts import StoreCart

# Where the shopper's chosen store is kept between pages.
STORE_SESSION_KEY = "storefront_store_id"
PAGE_SIZE = 24


def shop_stores() -> QuerySet[Store]:
    """Stores a shopper may pick: the active ones, by name."""
    return Store.objects.filter(is_active=True).order_by("name")


def chosen_store(session: Mapping) -> Store | None:
    """The store the shopper picked earlier, while it is still open; else None."""
    store_id = session.get(STORE_SESSION_KEY)
    if not isinstance(store_id, int):
        return None
    return shop_stores().filter(pk=store_id).first()


def category_tree() -> list[Category]:
    """Top-level categories, each with `children` (its direct subcategories) loaded."""
    return list(Category.objects.filter(parent__isnull=True).prefetch_related("children"))


def get_category(category_id: int | None) -> Category | None:
    return None if category_id is None else Category.objects.filter(pk=category_id).first()


def regional_name(product: Product, language: str, *, region: str = "") -> str | None:
    """The product's name in the shopper's `language` ("hi", "hi-in"), preferring one for
    the store's country (`region` "IN-MH" -> hi-IN); None when the catalog has none."""
    wanted = language.split("-")[0].lower()
    country = region.split("-")[0].upper()
    matches = [
        entry
        for entry in product.regional_names.all()
        if entry.language.split("-")[0].lower() == wanted
    ]
    if not matches:
        return None
    for entry in matches:
        if country and entry.language.upper().endswith(f"-{country}"):
            return entry.name
    return matches[0].name


def name_cart_lines(store_carts: list[StoreCart], language: str) -> None:
    """Give each priced cart line its product's regional name in `language` (the store's
    country preferred), as the shelf and product pages show it."""
    priced = [entry for group in store_carts for entry in group.lines]
    prefetch_related_objects([entry.line.product for entry in priced], "regional_names")
    for entry in priced:
        entry.local_name = regional_name(
            entry.line.product, language, region=entry.line.store.region
        )


# The widths of the renditions (catalog/renditions.py), for `srcset`.
RENDITION_WIDTHS = {"thumbnail": 200, "medium": 800}


@dataclass(frozen=True)
class Picture:
    """A product picture as an `<img>` shows it: `src` for old browsers and `srcset` with
    each rendition's width, so the browser fetches the smallest that fills the slot."""

    src: str
    srcset: str


def product_picture(product: Product, *, prefer: str = "thumbnail") -> Picture | None:
    """The product's first image (images prefetched), or None without one (the page then
    draws a placeholder). Until the renditions are made the original is shown alone."""
    images = list(product.images.all())
    if not images:
        return None
    urls = image_urls(images[0].blob)
    made = [(kind, urls[kind]) for kind in RENDITION_WIDTHS if urls[kind]]
    if not made:
        return Picture(src=urls["original"], srcset="")
    srcset = ", ".join(f"{url} {RENDITION_WIDTHS[kind]}w" for kind, url in made)
    return Picture(src=urls[prefer] or made[0][1], srcset=srcset)


@dataclass(frozen=True)
class ShelfEntry:
    product: Product
    local_name: str | None
    stock: StockItem | None
    picture: Picture | None = None
    # A running flash sale of this product at the chosen store: {"sale_price", "ends_at"}.
    sale: dict | None = None


@dataclass(frozen=True)
class ShelfPage:
    entries: list[ShelfEntry]
    next_cursor: str | None
    corrected_query: str | None = None


def shelf(
    *,
    store: Store | None,
    language: str,
    q: str = "",
    category_id: int | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> ShelfPage:
    """One page of products matching `q` in `category_id`: the ones `store` keeps (in
    stock or not) with its stock item, or the whole public catalog when no store is chosen.
    A bad cursor raises `shelfwatch.http.cursors.BadCursor`."""
    products = filter_products(visible_products(None), category_id=category_id)
    if store is not None:
        kept = StockItem.objects.filter(store=store, product=OuterRef("pk"))
        products = products.filter(Exists(kept))
    page = search_products(products, q=q, cursor=cursor, limit=limit)
    prefetch_related_objects(page.products, "regional_names", "images__blob")
    stock: dict[int, StockItem] = {}
    if store is not None:
        ids = [product.pk for product in page.products]
        stock = {
            item.product_id: item
            for item in StockItem.objects.filter(store=store, product_id__in=ids)
        }
    region = store.region if store is not None else ""
    sales = running_sales(store, [p.pk for p in page.products]) if store is not None else {}
    entries = [
        ShelfEntry(
            product=product,
            local_name=regional_name(product, language, region=region),
            stock=stock.get(product.pk),
            picture=product_picture(product),
            sale=sales.get(product.pk),
        )
        for product in page.products
    ]
    return ShelfPage(entries, page.next_cursor, page.corrected_query)


@dataclass(frozen=True)
class StoreOffer:
    """One store that keeps the product, as the product page lists it."""

    store: Store
    stock: StockItem


@dataclass(frozen=True)
class ProductView:
    product: Product
    local_name: str | None
    store: Store | None
    stock: StockItem | None
    # Whether a shopper may ask to hear when it is back: the store takes alerts.
    alerts_open: bool
    offers: list[StoreOffer] = field(default_factory=list)
    picture: Picture | None = None


def product_view(product: Product, *, store: Store | None, language: str) -> ProductView:
    """What the product page shows of `product` for a shopper at `store` (or at no store
    yet: then every open store that keeps it, to pick from)."""
    region = store.region if store is not None else ""
    stock = None
    offers: list[StoreOffer] = []
    if store is not None:
        stock = StockItem.objects.filter(store=store, product=product).first()
    else:
        items = (
            StockItem.objects.filter(product=product, store__is_active=True)
            .select_related("store")
            .order_by("store__name")
        )
        offers = [StoreOffer(item.store, item) for item in items]
    return ProductView(
        product=product,
        local_name=regional_name(product, language, region=region),
        store=store,
        stock=stock,
        alerts_open=store is not None and stock is not None and store_takes_alerts(store),
        offers=offers,
        picture=product_picture(product, prefer="medium"),
    )


def storefront_product(product_id: int) -> Product:
    """The public product (merged ones too, for redirects); raises NotFound otherwise."""
    return get_product_for(None, product_id)


def store_takes_alerts(store: Store) -> bool:
    """A store takes back-in-stock alerts unless its owner took its watch source off the
    public subscribe page (or paused it); a store not on watch yet is put on on demand."""
    source = Source.objects.filter(store=store, kind=SourceKind.INTERNAL).first()
    return source is None or (source.is_public and source.is_active)


def account_contacts(user) -> QuerySet[Contact]:
    """The alert contacts tied to `user`, each with `subscription_count` (active ones)."""
    active = Q(subscriptions__is_active=True)
    return Contact.objects.filter(user=user).annotate(
        subscription_count=Count("subscriptions", filter=active)
    )


# --- phase two: cart count, flash sales, orders and points for the pages ---------------------


def cart_count(cart) -> int:
    """How many units the header's cart link shows (0 without a cart)."""
    if cart is None:
        return 0
    from shelfwatch.shop.models import CartLine

    return CartLine.objects.filter(cart=cart).aggregate(units=Sum("quantity"))["units"] or 0


def product_flash_sale(*, store: Store, product: Product) -> dict | None:
    """The running (else the next upcoming) flash sale of `product` at `store`, as the
    product page shows it: price, window and units left; None when there is none."""
    from shelfwatch.shop.payloads import flash_sales_out
    from shelfwatch.shop.selectors import live_flash_sales

    sales = list(live_flash_sales(store_id=store.pk, product_id=product.pk)[:10])
    if not sales:
        return None
    shown = flash_sales_out(sales)
    running = [sale for sale in shown if sale["is_active"]]
    return running[0] if running else min(shown, key=lambda sale: sale["starts_at"])


def running_sales(store: Store, product_ids: list[int]) -> dict[int, dict]:
    """{product id: {"sale_price", "ends_at", "title"}} for the flash sales running now at
    `store` on those products with units left, so cards can show the sale price."""
    from django.utils import timezone

    from shelfwatch.shop.models import FlashSale

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


def _running_sales_query(now):
    from shelfwatch.shop.models import FlashSale

    return FlashSale.objects.filter(
        starts_at__lte=now,
        ends_at__gt=now,
        quantity_allotted__gt=F("held") + F("sold"),
        store__is_active=True,
    )


def sale_shelf(*, store: Store, language: str, limit: int = 8) -> list[ShelfEntry]:
    """The products on a running flash sale (with units left) at `store`, soonest ending
    first, as shelf cards carrying the sale price and its end."""
    from django.utils import timezone

    sales = list(_running_sales_query(timezone.now()).filter(store=store).order_by("ends_at"))
    product_ids = list(dict.fromkeys(sale.product_id for sale in sales))[:limit]
    products = {
        p.pk: p
        for p in visible_products(None)
        .filter(pk__in=product_ids)
        .prefetch_related("regional_names", "images__blob")
    }
    stock = {
        item.product_id: item
        for item in StockItem.objects.filter(store=store, product_id__in=product_ids)
    }
    offers = running_sales(store, product_ids)
    return [
        ShelfEntry(
            product=products[pk],
            local_name=regional_name(products[pk], language, region=store.region),
            stock=stock.get(pk),
            picture=product_picture(products[pk]),
            sale=offers.get(pk),
        )
        for pk in product_ids
        if pk in products and pk in stock
    ]


def running_sale_count() -> int:
    """How many flash sales with units left run now at open stores (for a shopper who has
    not picked a store yet)."""
    from django.utils import timezone

    return _running_sales_query(timezone.now()).count()


def orders_of(*, principal, session_key: str | None, limit: int = 20) -> list:
    """The caller's newest orders (a visitor's: this session's), with store and lines."""
    from shelfwatch.shop.selectors import customer_orders

    return list(customer_orders(principal=principal, session_key=session_key)[:limit])


def store_order_board(*, principal, store_id: int, done_limit: int = 20) -> tuple[Store, dict]:
    """The order board of a store the caller manages: open orders by status (oldest
    first, as they are worked through) and the latest finished ones. Raises NotFound for
    a store the caller does not manage."""
    from shelfwatch.inventory.selectors import get_store_for
    from shelfwatch.shop.models import OrderStatus
    from shelfwatch.shop.selectors import store_board

    store = get_store_for(principal, store_id)
    orders = store_board(principal=principal, store_id=store.pk).select_related("user")
    finished = [OrderStatus.DELIVERED, OrderStatus.CANCELLED]
    open_orders = list(orders.exclude(status__in=finished).order_by("id")[:200])
    columns = {status: [] for status in OrderStatus.values if status not in finished}
    for order in open_orders:
        columns[order.status].append(order)
    done = list(orders.filter(status__in=finished).order_by("-updated_at", "-id")[:done_limit])
    return store, {"columns": columns, "done": done}


def stores_overview(principal) -> list[dict]:
    """The stores `principal` manages, by name, each as {"store", "low_stock", "open_orders"}:
    items at or under their reorder level, orders not yet delivered or cancelled."""
    from shelfwatch.inventory.selectors import stores_for
    from shelfwatch.shop.models import Order, OrderStatus

    stores = list(stores_for(principal).order_by("name"))
    ids = [store.pk for store in stores]
    low = dict(
        StockItem.objects.filter(store_id__in=ids, quantity__lte=F("reorder_level"))
        .values_list("store_id")
        .annotate(n=Count("id"))
        .values_list("store_id", "n")
    )
    finished = [OrderStatus.DELIVERED, OrderStatus.CANCELLED]
    open_orders = dict(
        Order.objects.filter(store_id__in=ids)
        .exclude(status__in=finished)
        .values_list("store_id")
        .annotate(n=Count("id"))
        .values_list("store_id", "n")
    )
    return [
        {"store": s, "low_stock": low.get(s.pk, 0), "open_orders": open_orders.get(s.pk, 0)}
        for s in stores
    ]


def customer_phones(user_ids: list[int]) -> dict[int, str]:
    """{user id: WhatsApp number} of customers who gave one for alerts (verified), so the
    store can call about an order; customers without one are left out."""
    rows = Contact.objects.filter(
        user_id__in=set(user_ids), channel="whatsapp", verified_at__isnull=False
    ).order_by("-id")
    phones: dict[int, str] = {}
    for user_id, address in rows.values_list("user_id", "address"):
        phones.setdefault(user_id, address)
    return phones


def board_order(*, principal, store_id: int, order_id: int):
    """An order of a store the caller manages, or None (another store's order too)."""
    from shelfwatch.shop.selectors import store_board

    return store_board(principal=principal, store_id=store_id).filter(pk=order_id).first()
