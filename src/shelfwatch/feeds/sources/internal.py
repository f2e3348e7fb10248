"""Internal sources: the platform's own tables, for one store or (admins only) all of them.

Config: `{"table": "orders" | "inventory" | "products" | "notifications", "store_id": 3}`;
without `store_id` the dataset is global, which only an admin owner may have. The owner's
access is checked again at every refresh, in the query: an owner who has left the store
gets a failed refresh, never its data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db.models import F, QuerySet

from shelfwatch.accounts.principal import Principal
from shelfwatch.feeds.sources import RowLimitExceeded, SourceConfigError, SourceForbidden
from shelfwatch.inventory.selectors import stores_for

if TYPE_CHECKING:
    from shelfwatch.accounts.models import User
    from shelfwatch.feeds.models import Dataset

CHUNK = 2000
GLOBAL_ONLY = frozenset({"notifications"})


def _owner_principal(owner: User) -> Principal:
    return Principal(user=owner, method="owner")


def _orders_available() -> bool:
    try:
        apps.get_model("shop", "Order")
        apps.get_model("shop", "OrderLine")
    except LookupError:
        return False
    return True


def tables() -> tuple[str, ...]:
    """The internal tables a dataset can read; 'orders' only when the shop app is installed."""
    names = ["inventory", "products", "notifications"]
    if _orders_available():
        names.insert(0, "orders")
    return tuple(names)


def validate_config(config: dict[str, Any], *, owner: User) -> dict[str, Any]:
    """The cleaned configuration: a known table, and a store the owner can manage or none for an
    admin owner; raises SourceConfigError otherwise."""
    table = config.get("table")
    if table not in tables():
        raise SourceConfigError(f"table must be one of {', '.join(tables())}")
    store_id = config.get("store_id")
    if store_id is None:
        if not owner.is_platform_admin:
            raise SourceConfigError("a dataset over every store needs an admin owner")
        return {"table": table, "store_id": None}
    if table in GLOBAL_ONLY:
        raise SourceConfigError(f"{table} is not kept per store; leave store_id out")
    if not isinstance(store_id, int) or isinstance(store_id, bool):
        raise SourceConfigError("store_id must be a store's id")
    if not stores_for(_owner_principal(owner)).filter(pk=store_id).exists():
        raise SourceConfigError("the owner cannot manage that store")
    return {"table": table, "store_id": store_id}


def cursor_field(config: dict[str, Any]) -> str | None:
    """Always 'updated_at': the records of every internal table carry it."""
    return "updated_at"


def open_records(
    dataset: Dataset, *, limit: int, bad_rows: object = None
) -> Iterator[dict[str, Any]]:
    """The table's rows as records, the owner's access checked again; raises SourceForbidden when it
    was lost, RowLimitExceeded past `limit`."""
    config = dataset.source_config
    table = config.get("table")
    builder = _BUILDERS.get(table) if table in tables() else None
    if builder is None:
        raise SourceForbidden(f"unknown internal table {table!r}")
    store_id = config.get("store_id")
    owner = _owner_principal(dataset.owner)
    if store_id is None:
        if not dataset.owner.is_platform_admin:
            raise SourceForbidden("a dataset over every store needs an admin owner")
        stores = None
    else:
        stores = stores_for(owner).filter(pk=store_id)
        if not stores.exists():
            raise SourceForbidden("the dataset's owner can no longer manage its store")
    yield from _limited(builder(stores), limit)


def _limited(records: Iterator[dict[str, Any]], limit: int) -> Iterator[dict[str, Any]]:
    try:
        for count, record in enumerate(records, start=1):
            if count > limit:
                raise RowLimitExceeded(f"more than {limit} records; raise the dataset's limit")
            yield record
    finally:
        records.close()  # now, while the database connection is certainly open


def _inventory(stores: QuerySet | None) -> Iterator[dict[str, Any]]:
    from shelfwatch.inventory.models import StockItem

    items = StockItem.objects.all()
    if stores is not None:
        items = items.filter(store__in=stores)
    rows = items.order_by("id").values(
        "id",
        "store_id",
        "product_id",
        "quantity",
        "cost_price",
        "selling_price",
        "reorder_level",
        "supplier",
        "location",
        "updated_at",
        store_slug=F("store__slug"),
        product_name=F("product__name"),
        barcode=F("product__barcode"),
    )
    yield from rows.iterator(chunk_size=CHUNK)


def _products(stores: QuerySet | None) -> Iterator[dict[str, Any]]:
    from shelfwatch.catalog.models import Product

    products = Product.objects.filter(merged_into__isnull=True)
    if stores is not None:
        products = products.filter(stock_items__store__in=stores).distinct()
    rows = products.order_by("id").values(
        "id",
        "name",
        "brand",
        "barcode",
        "net_quantity",
        "net_unit",
        "status",
        "quality_score",
        "created_at",
        "updated_at",
        category_name=F("category__name"),
    )
    yield from rows.iterator(chunk_size=CHUNK)


def _notifications(stores: QuerySet | None) -> Iterator[dict[str, Any]]:
    from shelfwatch.notify.models import Notification

    # The log, not the messages: no addresses or rendered text leave through a feed.
    rows = Notification.objects.order_by("id").values(
        "id",
        "contact_id",
        "channel",
        "template",
        "status",
        "attempts",
        "last_error_code",
        "created_at",
        "updated_at",
        "sent_at",
    )
    yield from rows.iterator(chunk_size=CHUNK)


def _orders(stores: QuerySet | None) -> Iterator[dict[str, Any]]:
    from shelfwatch.feeds.sources.orders import iter_orders

    yield from iter_orders(stores, chunk=CHUNK)


_BUILDERS: dict[str, Callable[[QuerySet | None], Iterator[dict[str, Any]]]] = {
    "orders": _orders,
    "inventory": _inventory,
    "products": _products,
    "notifications": _notifications,
}
