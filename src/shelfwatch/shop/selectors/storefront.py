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
from django.utils import timezone

from shelfwatch.catalog.images import image_urls
from shelfwatch.catalog.models import Category, Product
from shelfwatch.catalog.search import search_products
from shelfwatch.catalog.selectors import filter_products, get_product_for, visible_products
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.notify.models import Contact
from shelfwatch.shop.models import Cart, CartLine
from shelfwatch.shop.selectors.sales import running_sales, running_sales_query
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
    """The category of that id, or None (for no id or an unknown one)."""
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
    return blob_picture(images[0].blob, prefer=prefer)


def shelf_pictures(item: StockItem | None, *, prefer: str = "thumbnail") -> list[Picture]:
    """The store's own photos of its item (`custom_images` prefetched), oldest first."""
    if item is None:
        return []
    return [blob_picture(blob, prefer=prefer) for blob in item.custom_images.all()]


def blob_picture(blob, *, prefer: str = "thumbnail") -> Picture:
    """One stored image as a Picture: its renditions in `srcset` once they are made."""
    urls = image_urls(blob)
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
            for item in StockItem.objects.filter(store=store, product_id__in=ids).prefetch_related(
                "custom_images"
            )
        }
    region = store.region if store is not None else ""
    sales = running_sales(store, [p.pk for p in page.products]) if store is not None else {}
    entries = [
        ShelfEntry(
            product=product,
            local_name=regional_name(product, language, region=region),
            stock=stock.get(product.pk),
            # Without a catalog photo, the store's own shelf photo stands in.
            picture=product_picture(product)
            or next(iter(shelf_pictures(stock.get(product.pk))), None),
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
    # The chosen store's own photos of the item on its shelf.
    shelf_pictures: list[Picture] = field(default_factory=list)


def product_view(product: Product, *, store: Store | None, language: str) -> ProductView:
    """What the product page shows of `product` for a shopper at `store` (or at no store
    yet: then every open store that keeps it, to pick from)."""
    region = store.region if store is not None else ""
    stock = None
    offers: list[StoreOffer] = []
    if store is not None:
        stock = (
            StockItem.objects.filter(store=store, product=product)
            .prefetch_related("custom_images")
            .first()
        )
    else:
        items = (
            StockItem.objects.filter(product=product, store__is_active=True)
            .select_related("store")
            .order_by("store__name")
        )
        offers = [StoreOffer(item.store, item) for item in items]
    picture = product_picture(product, prefer="medium")
    shelf = shelf_pictures(stock, prefer="medium")
    return ProductView(
        product=product,
        local_name=regional_name(product, language, region=region),
        store=store,
        stock=stock,
        alerts_open=store is not None and stock is not None and store_takes_alerts(store),
        offers=offers,
        picture=picture or next(iter(shelf), None),
        shelf_pictures=shelf if picture is not None else shelf[1:],
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


def cart_count(cart: Cart | None) -> int:
    """How many units the header's cart link shows (0 without a cart)."""
    if cart is None:
        return 0
    return CartLine.objects.filter(cart=cart).aggregate(units=Sum("quantity"))["units"] or 0


def sale_shelf(*, store: Store, language: str, limit: int = 8) -> list[ShelfEntry]:
    """The products on a running flash sale (with units left) at `store`, soonest ending
    first, as shelf cards carrying the sale price and its end."""
    sales = list(running_sales_query(timezone.now()).filter(store=store).order_by("ends_at"))
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
