"""The counters of flash-sale units: a customer's units against the per-customer limit, a
sale's held units against its allotment. Each changes through one conditional statement
the database checks against the row as it is (see `flash_sales` for the locking order).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connections, router
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from shelfwatch.accounts.models import User
from shelfwatch.shop import flash_sale_news
from shelfwatch.shop.flash_sale_news import SaleRow
from shelfwatch.shop.models import FlashSale, FlashSaleCustomer


def try_reserve(
    sale: FlashSale, user: User, quantity: int, now: datetime, *, counted: bool | None = None
) -> str | SaleRow:
    """Take `quantity` units for `user` in the current transaction: the sale row as it is
    now on success, else which condition refused it ("limit" or "sold_out"). Nothing
    stays changed on refusal. `counted`: whether the caller's own statement already
    counted the units against the customer's limit (see `hold_rows`); None counts them here.

    No savepoint: a refused count is undone by a compensating UPDATE of the customer's own
    row (two statements fewer per hold, on the path every buyer takes). That row stays
    locked until the caller's commit, which only the same customer's other writes wait for.
    """
    if counted is None:
        counted = quantity <= sale.per_customer_limit and _count_for_customer(sale, user, quantity)
    if not counted:
        return "limit"
    row = _take_held(sale.pk, quantity, now)
    if row is None:
        FlashSaleCustomer.objects.filter(sale=sale, user=user).update(units=F("units") - quantity)
        return "sold_out"
    return row


def _count_for_customer(sale: FlashSale, user: User, quantity: int) -> bool:
    """Add `quantity` to the customer's units of `sale` if they stay within its limit
    (creating their row on first use); whether it did. One statement where the database
    returns from an upsert."""
    connection = connections[router.db_for_write(FlashSaleCustomer)]
    if not connection.features.can_return_columns_from_insert:
        FlashSaleCustomer.objects.bulk_create(
            [FlashSaleCustomer(sale=sale, user=user, units=0)], ignore_conflicts=True
        )
        return bool(
            FlashSaleCustomer.objects.filter(
                sale=sale, user=user, units__lte=sale.per_customer_limit - quantity
            ).update(units=F("units") + quantity)
        )
    with connection.cursor() as cursor:
        cursor.execute(
            customer_upsert(connection),
            [sale.pk, user.pk, quantity, sale.per_customer_limit],
        )
        return cursor.fetchone() is not None


_CUSTOMER_UPSERTS: dict[str, str] = {}


def customer_upsert(connection) -> str:
    """INSERT ... ON CONFLICT DO UPDATE ... WHERE within the limit ... RETURNING, built once
    per vendor from FlashSaleCustomer's metadata; parameters: sale id, user id, quantity,
    limit. A row comes back only when the units were counted."""
    sql = _CUSTOMER_UPSERTS.get(connection.vendor)
    if sql is None:
        meta = FlashSaleCustomer._meta
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        sale_col = quote(meta.get_field("sale").column)
        user_col = quote(meta.get_field("user").column)
        units = quote(meta.get_field("units").column)
        # Only quoted identifiers from the model go into the text; every value is a parameter.
        sql = (
            f"INSERT INTO {table} ({sale_col}, {user_col}, {units}) "  # noqa: S608
            f"VALUES (%s, %s, %s) ON CONFLICT ({sale_col}, {user_col}) "
            f"DO UPDATE SET {units} = {table}.{units} + excluded.{units} "
            f"WHERE {table}.{units} + excluded.{units} <= %s RETURNING {units}"
        )
        _CUSTOMER_UPSERTS[connection.vendor] = sql
    return sql


_HELD_TO_SOLD: dict[str, str] = {}


def move_held_to_sold(sale_id: int, quantity: int) -> None:
    """Move `quantity` units of the sale from held to sold, in one statement whose text is
    built once per vendor: every checkout runs it on the hot sale row, and compiling the
    ORM's UPDATE with its F() expressions cost more CPU than running it."""
    connection = connections[router.db_for_write(FlashSale)]
    sql = _HELD_TO_SOLD.get(connection.vendor)
    if sql is None:
        sql = _HELD_TO_SOLD[connection.vendor] = _held_to_sold_update(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [quantity, quantity, sale_id])


def held_to_sold_cte(connection, sale_id: int, quantity: int) -> tuple[str, list[object]]:
    """`move_held_to_sold` as a data-modifying CTE (`sold`) of a stock move's statement
    (PostgreSQL), run only once the moves' `moved` CTE has taken the stock: the sale row
    is locked after the stock item, as every checkout takes them. (SQL, parameters)."""
    update = _held_to_sold_update(connection)
    sql = f"sold AS ({update} AND EXISTS (SELECT 1 FROM moved))"  # noqa: S608
    return sql, [quantity, quantity, sale_id]


def _held_to_sold_update(connection) -> str:
    """The UPDATE moving units of one sale from held to sold; parameters: the quantity
    twice, then the sale's id."""
    meta = FlashSale._meta
    quote = connection.ops.quote_name
    held, sold = (quote(meta.get_field(name).column) for name in ("held", "sold"))
    # Only quoted identifiers from the model go into the text; every value is a parameter.
    return (
        f"UPDATE {quote(meta.db_table)} SET {held} = {held} - %s, "  # noqa: S608
        f"{sold} = {sold} + %s WHERE {quote(meta.pk.column)} = %s"
    )


_SALE_ROW_COLUMNS = (
    "quantity_allotted",
    "held",
    "sold",
    "sold_out_announced",
    "units_left_due",
    "units_left_at",
)


def _take_held(sale_id: int, quantity: int, now: datetime) -> SaleRow | None:
    """Add `quantity` to the sale's `held` if the sale runs and they fit; the row after
    it, or None. One UPDATE ... RETURNING where the database has it: the hot sale row's
    lock then covers one round trip fewer."""
    connection = connections[router.db_for_write(FlashSale)]
    if not connection.features.can_return_columns_from_insert:
        if not FlashSale.objects.filter(
            pk=sale_id,
            starts_at__lte=now,
            ends_at__gt=now,
            quantity_allotted__gte=F("held") + F("sold") + quantity,
        ).update(held=F("held") + quantity):
            return None
        values = FlashSale.objects.filter(pk=sale_id).values_list(*_SALE_ROW_COLUMNS).get()
        return _sale_row(values, now)
    meta = FlashSale._meta
    quote = connection.ops.quote_name
    col = {name: quote(meta.get_field(name).column) for name in _SALE_ROW_COLUMNS}
    starts, ends = (quote(meta.get_field(name).column) for name in ("starts_at", "ends_at"))
    at = meta.get_field("starts_at").get_db_prep_value(now, connection)
    # Only quoted identifiers from the model go into the text; every value is a parameter.
    # Plain columns only after RETURNING: SQLite answered NULL for expressions there.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {col['held']} = {col['held']} + %s "  # noqa: S608
        f"WHERE {quote(meta.pk.column)} = %s AND {starts} <= %s AND {ends} > %s "
        f"AND {col['quantity_allotted']} >= {col['held']} + {col['sold']} + %s "
        f"RETURNING {', '.join(col[name] for name in _SALE_ROW_COLUMNS)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [quantity, sale_id, at, at, quantity])
        row = cursor.fetchone()
    return None if row is None else _sale_row(row, now)


def _sale_row(values, now: datetime) -> SaleRow:
    allotted, held, sold, announced, due, last = values
    if isinstance(last, str):
        last = parse_datetime(last)
    if last is not None and timezone.is_naive(last):
        last = timezone.make_aware(last, UTC)  # kept in UTC where the database has no zone
    window = now - timedelta(seconds=flash_sale_news.UNITS_LEFT_EVERY_SECONDS)
    return SaleRow(
        full=held + sold >= allotted,
        sold_out_announced=bool(announced),
        units_left_due=bool(due),
        throttle_passed=last is None or last <= window,
    )
