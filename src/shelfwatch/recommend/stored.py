"""The rows the recommendation reads start from, as plain tuples in SQL written out: the
stored list entries of some products, and a shopper's recent order lines, each with
whether the product may be shown and whether the chosen store has it in stock.

Why not the ORM: a read must be served in a few milliseconds, and building and compiling
one of these querysets (a correlated subquery, a join, an ordering) cost about a
millisecond of Python a query, and turning a hundred rows into model instances more than
the query itself (bench/recommend_reads.py, cProfile). The statements follow the plans
the ORM's were tuned to on both databases and stay portable between SQLite and
PostgreSQL; model instances are built only for the few products a read returns
(`product_of`, `stock_items_at`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db import connection

from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.recommend.models import RelatedList
from shelfwatch.shop.models import Order, OrderLine, OrderStatus

__all__ = [
    "HistoryLine",
    "ListEntry",
    "list_entries",
    "own_lines",
    "product_of",
    "stock_items_at",
]

# What a recommendation shows of a product (its card, its API entry): each row carries
# only these, and a product instance is built of them only for what the read returns.
PRODUCT_FIELDS = ("id", "name", "brand", "category_id", "net_quantity", "net_unit")
_PRODUCT_COLUMNS = ", ".join(f"p.{Product._meta.get_field(f).column}" for f in PRODUCT_FIELDS)
_NET_QUANTITY = Product._meta.get_field("net_quantity")
_NET_QUANTUM = Decimal(1).scaleb(-_NET_QUANTITY.decimal_places)


class ListEntry(NamedTuple):
    """One stored entry: `other` listed by `product` with `score`; `here` when the chosen
    store has `other` in stock; `shown` is `other`'s PRODUCT_FIELDS as read."""

    product: int
    other: int
    score: float
    here: bool
    shown: tuple


class HistoryLine(NamedTuple):
    """One line of a shopper's order: its product, the order's age in days, whether the
    product may be shown now (public, in stock at an open store), whether the chosen
    store has it in stock, and the product's PRODUCT_FIELDS as read."""

    product: int
    age_days: float
    may_show: bool
    here: bool
    shown: tuple


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "product": quote(Product._meta.db_table),
        "stock": quote(StockItem._meta.db_table),
        "store": quote(Store._meta.db_table),
        "order": quote(Order._meta.db_table),
        "line": quote(OrderLine._meta.db_table),
    }


# One stock item holding the product in stock at an open store, or null. Not EXISTS: for a
# few hundred rows PostgreSQL chose to hash the whole stock table; a LIMIT 1 subquery makes
# it probe the (product) index once per row.
_IN_STOCK_SOMEWHERE = """(
    SELECT s.id FROM {stock} s JOIN {store} t ON t.id = s.store_id
    WHERE s.product_id = {column} AND s.quantity > 0 AND t.is_active = %s LIMIT 1
)"""
# The chosen store's stock item when in stock there: a join, as its (store, product) row
# is unique.
_AT_STORE = "LEFT JOIN {stock} h ON h.product_id = {column} AND h.store_id = %s AND h.quantity > 0"


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


def _at_store(store: Store | None, column: str, tables: dict[str, str]) -> tuple[str, str, list]:
    """The SQL of the `here` column (the store's in-stock item id, or null), the join it
    reads and the join's parameters; a constant null and no join without an open store."""
    if store is None or not store.is_active:
        return "NULL", "", []
    return "h.id", _AT_STORE.format(column=column, **tables), [store.pk]


def list_entries(
    model: type[RelatedList],
    product_ids: Iterable[int],
    *,
    store: Store | None,
    exclude: Iterable[int] = (),
    fetch: int,
    ranks: int | None = None,
) -> list[ListEntry]:
    """The first `fetch` entries of `model` for `product_ids` whose other product may be
    shown (public, not merged, in stock at an open store), never one in `exclude`; those in
    stock at `store` first, then by rank. Only each list's first `ranks` entries when given.
    One query on the (product, rank) index."""
    anchors = list(product_ids)
    if not anchors or fetch <= 0:
        return []
    tables = _tables()
    here_sql, join, join_params = _at_store(store, "l.other_id", tables)
    where = [f"l.product_id IN ({_marks(len(anchors))})"]
    params: list = [*join_params, *anchors]
    excluded = list(exclude)
    if excluded:
        where.append(f"l.other_id NOT IN ({_marks(len(excluded))})")
        params.extend(excluded)
    if ranks is not None:
        where.append("l.rank < %s")
        params.append(ranks)
    where.append("p.status = %s AND p.merged_into_id IS NULL")
    params.append(VerificationStatus.VERIFIED)
    where.append(_IN_STOCK_SOMEWHERE.format(column="l.other_id", **tables) + " IS NOT NULL")
    params.append(True)
    order = "l.rank" if not join else "h.id IS NULL, l.rank"
    sql = (
        f"SELECT l.product_id, l.other_id, l.score, {here_sql} AS here, {_PRODUCT_COLUMNS} "  # noqa: S608
        f"FROM {connection.ops.quote_name(model._meta.db_table)} l "
        f"JOIN {tables['product']} p ON p.id = l.other_id {join} "
        f"WHERE {' AND '.join(where)} ORDER BY {order}, l.product_id LIMIT %s"
    )
    params.append(fetch)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            ListEntry(row[0], row[1], row[2], row[3] is not None, row[4:])
            for row in cursor.fetchall()
        ]


def _age_days(column: str) -> str:
    """SQL for the days from `column` (a timestamp) to the moment given as its parameter:
    computed by the database, as turning each row's timestamp into a datetime in Python
    cost more than the query."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM (%s - {column})) / 86400.0"
    return f"julianday(%s) - julianday({column})"


def own_lines(
    user_id: int, *, now: datetime, since: datetime, orders: int, store: Store | None
) -> list[HistoryLine]:
    """The lines of the shopper's last `orders` orders placed since `since`, cancelled
    ones left out, with their ages at `now`. One query."""
    tables = _tables()
    here_sql, join, join_params = _at_store(store, "ol.product_id", tables)
    somewhere = _IN_STOCK_SOMEWHERE.format(column="ol.product_id", **tables)
    sql = (
        f"SELECT ol.product_id, {_age_days('o.created_at')}, p.status, p.merged_into_id, "  # noqa: S608
        f"{somewhere} AS available, {here_sql} AS here, {_PRODUCT_COLUMNS} "
        f"FROM {tables['line']} ol JOIN {tables['order']} o ON o.id = ol.order_id "
        f"JOIN {tables['product']} p ON p.id = ol.product_id {join} "
        f"WHERE ol.order_id IN ("
        f"SELECT id FROM {tables['order']} WHERE user_id = %s AND created_at >= %s "
        f"AND status <> %s ORDER BY id DESC LIMIT %s)"
    )
    moment = connection.ops.adapt_datetimefield_value
    params = [
        moment(now),
        True,
        *join_params,
        user_id,
        moment(since),
        OrderStatus.CANCELLED,
        orders,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        HistoryLine(
            product=row[0],
            age_days=float(row[1]),
            may_show=(
                row[4] is not None and row[2] == VerificationStatus.VERIFIED and row[3] is None
            ),
            here=row[5] is not None,
            shown=row[6:],
        )
        for row in rows
    ]


def product_of(shown: tuple) -> Product:
    """A product instance of a row's PRODUCT_FIELDS (the others deferred)."""
    values = list(shown)
    # SQLite hands a plain cursor a decimal column as a float or an int; the ORM would
    # give the field's decimal places.
    if values[4] is not None and not isinstance(values[4], Decimal):
        values[4] = _NET_QUANTITY.to_python(str(values[4])).quantize(_NET_QUANTUM)
    return Product.from_db(connection.alias, PRODUCT_FIELDS, values)


def stock_items_at(store: Store, product_ids: list[int]) -> dict[int, StockItem]:
    """The store's stock items of those products, by product id. One query."""
    if not product_ids:
        return {}
    sql = (
        f"SELECT * FROM {connection.ops.quote_name(StockItem._meta.db_table)} "  # noqa: S608
        f"WHERE store_id = %s AND product_id IN ({_marks(len(product_ids))})"
    )
    return {item.product_id: item for item in StockItem.objects.raw(sql, [store.pk, *product_ids])}
