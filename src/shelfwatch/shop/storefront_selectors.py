"""Reads for the storefront pages: the stores a shopper may pick, the shelf of one store,
and one product as a shopper sees it (regional name, price, availability, alerts).

Shoppers see verified catalog products only, whoever is signed in: the storefront is the
public face of the catalog, not a staff tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum, prefetch_related_objects

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


def picture_url(product: Product, rendition: str) -> str | None:
    """The URL of the product's first image in `rendition` ("thumbnail", "medium"), or
    None while it has no image or the rendition is not made yet (images prefetched)."""
    images = list(product.images.all())
    return image_urls(images[0].blob)[rendition] if images else None


@dataclass(frozen=True)
class ShelfEntry:
    product: Product
    local_name: str | None
    stock: StockItem | None
    image_url: str | None = None


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
    entries = [
        ShelfEntry(
            product=product,
            local_name=regional_name(product, language, region=region),
            stock=stock.get(product.pk),
            image_url=picture_url(product, "thumbnail"),
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
    image_url: str | None = None


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
        image_url=picture_url(product, "medium"),
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
    from shelfwatch.shop.outputs import flash_sales_out
    from shelfwatch.shop.selectors import live_flash_sales

    sales = list(live_flash_sales(store_id=store.pk, product_id=product.pk)[:10])
    if not sales:
        return None
    shown = flash_sales_out(sales)
    running = [sale for sale in shown if sale["is_active"]]
    return running[0] if running else min(shown, key=lambda sale: sale["starts_at"])


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
    orders = store_board(principal=principal, store_id=store.pk)
    finished = [OrderStatus.DELIVERED, OrderStatus.CANCELLED]
    open_orders = list(orders.exclude(status__in=finished).order_by("id")[:200])
    columns = {status: [] for status in OrderStatus.values if status not in finished}
    for order in open_orders:
        columns[order.status].append(order)
    done = list(orders.filter(status__in=finished).order_by("-updated_at", "-id")[:done_limit])
    return store, {"columns": columns, "done": done}


def board_order(*, principal, store_id: int, order_id: int):
    """An order of a store the caller manages, or None (another store's order too)."""
    from shelfwatch.shop.selectors import store_board

    return store_board(principal=principal, store_id=store_id).filter(pk=order_id).first()
