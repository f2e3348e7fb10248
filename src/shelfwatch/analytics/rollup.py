"""The daily roll-up: one day of raw views, shop, alert and stock rows summed into
ProductDay, StoreDay, AlertChannelDay and SearchMissDay.

A store's day is its local day (`zones`): views are recorded under the store's date, and
orders, carts, subscriptions, restocks and alerts are counted between its local midnights.
Every sum is a GROUP BY in the database; Python only sees one row per product, store or
shopper. Re-running a day replaces it; `roll_up_due_days` rolls up every day not yet final,
so days missed while no worker ran are caught up.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from shelfwatch.alerts.models import Subscription
from shelfwatch.analytics.leaders import keep_leaders
from shelfwatch.analytics.models import (
    AlertChannelDay,
    ProductDay,
    RolledDay,
    SearchMiss,
    SearchMissDay,
    StoreDay,
    Visit,
)
from shelfwatch.analytics.spans import rebuild_spans
from shelfwatch.analytics.visitors import today
from shelfwatch.analytics.zones import (
    local_day,
    over_everywhere,
    store_zones,
    within_local_days,
    zone,
)
from shelfwatch.catalog.models import Product
from shelfwatch.inventory.models import StockMovement, Store
from shelfwatch.notify.models import Notification, NotificationKind, NotificationStatus
from shelfwatch.shop.models import CartLine, Order, OrderStatus

SENT = (NotificationStatus.SENT, NotificationStatus.DELIVERED, NotificationStatus.READ)
DELIVERED = (NotificationStatus.DELIVERED, NotificationStatus.READ)

HUMAN = Q(is_bot=False)
BOT = Q(is_bot=True)
COUNTED_VISITOR = Q(is_bot=False) & ~Q(visitor="")


def _local(day: date, time_field: str, store_field: str) -> Q:
    return within_local_days(day, day, time_field=time_field, store_field=store_field)


def is_final(day: date, now: datetime) -> bool:
    """True once the day has ended in every store's zone and settled (hits flushed late)."""
    settle = timedelta(minutes=settings.ANALYTICS_REPORT_SETTLE_MINUTES)
    return now >= over_everywhere(day) + settle


def _known_stores(rows: QuerySet, field: str = "store_id") -> QuerySet:
    return rows.filter(
        Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__in": Store.objects.values("pk")})
    )


def roll_up_day(*, day: date, now: datetime | None = None) -> dict[str, int]:
    """Replace `day`'s roll-up rows with sums of its source rows and record when (final if
    the day is over everywhere); returns rows written."""
    now = now or timezone.now()
    final = is_final(day, now)
    with transaction.atomic():
        for model in (ProductDay, StoreDay, AlertChannelDay, SearchMissDay):
            model.objects.filter(day=day).delete()
        stores: dict[int, dict] = defaultdict(dict)
        products = _product_days(day)
        leaders = keep_leaders(day=day)
        spans = rebuild_spans(day=day, final=final)
        _store_traffic(day, stores)
        _shop_funnel(day, stores)
        _subscriptions_and_restocks(day, stores)
        channels = _alert_channels(day)
        misses = _search_misses(day, stores)
        StoreDay.objects.bulk_create(
            [
                StoreDay(store_id=store_id, day=day, **figures)
                for store_id, figures in stores.items()
            ],
            batch_size=1000,
        )
        RolledDay.objects.filter(day=day).delete()
        RolledDay.objects.create(day=day, rolled_at=now, final=final)
    return {
        "product_days": products,
        "top_product_days": leaders,
        "product_weeks": spans.get("week", 0),
        "product_months": spans.get("month", 0),
        "store_days": len(stores),
        "alert_channel_days": channels,
        "search_miss_days": misses,
    }


def _product_days(day: date) -> int:
    # One INSERT ... SELECT: a busy day is tens of thousands of (store, product) sums, which
    # the database writes without building a model instance for each in Python.
    rows = (
        _known_stores(Visit.objects.filter(day=day))
        .filter(product_id__in=Product.objects.values("pk"))
        .values("store_id", "product_id")
        .annotate(
            views=Count("id", filter=HUMAN),
            bot_views=Count("id", filter=BOT),
            visitors=Count("visitor", filter=COUNTED_VISITOR, distinct=True),
        )
        .order_by()
    )
    select, params = rows.query.sql_with_params()
    day_value = ProductDay._meta.get_field("day").get_db_prep_value(day, connection)
    columns = "store_id, product_id, views, bot_views, visitors"
    sql = (
        f"INSERT INTO {ProductDay._meta.db_table} ({columns}, day) "  # noqa: S608 - names from the models
        f"SELECT {columns}, %s FROM ({select}) AS sums"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [day_value, *params])
        return cursor.rowcount


def _store_traffic(day: date, stores: dict[int, dict]) -> None:
    rows = (
        Visit.objects.filter(day=day, store_id__in=Store.objects.values("pk"))
        .values("store_id")
        .annotate(
            views=Count("id", filter=HUMAN),
            bot_views=Count("id", filter=BOT),
            visitors=Count("visitor", filter=COUNTED_VISITOR, distinct=True),
        )
        .order_by()
    )
    for row in rows:
        stores[row.pop("store_id")].update(row)


def _shop_funnel(day: date, stores: dict[int, dict]) -> None:
    """Carts and checkouts count shoppers (a user, else a visitor's session): those who
    added a line that day, and those who placed an order (whose lines checkout took)."""
    carts: dict[int, set] = defaultdict(set)
    buyers: dict[int, set] = defaultdict(set)
    cart_owners = (
        CartLine.objects.filter(_local(day, "added_at", "store"))
        .values_list("store_id", "cart__user_id", "cart__session_key")
        .order_by()  # the default ordering would make every row distinct
        .distinct()
    )
    for store_id, user_id, session_key in cart_owners:
        carts[store_id].add((user_id, session_key if user_id is None else None))
    placed = Order.objects.filter(_local(day, "created_at", "store"))
    # An order with neither an account nor a session (imported history, an API client
    # without cookies) is its own shopper: they are not all one person.
    unknown = Q(user__isnull=True, session_key="")
    order_owners = (
        placed.exclude(unknown)
        .values_list("store_id", "user_id", "session_key")
        .order_by()
        .distinct()
    )
    for store_id, user_id, session_key in order_owners:
        owner = (user_id, session_key if user_id is None else None)
        carts[store_id].add(owner)
        buyers[store_id].add(owner)
    strangers = dict(
        placed.filter(unknown)
        .values("store_id")
        .annotate(n=Count("id"))
        .values_list("store_id", "n")
        .order_by()
    )
    for store_id in carts.keys() | strangers.keys():
        stores[store_id]["cart_sessions"] = len(carts[store_id]) + strangers.get(store_id, 0)
    for store_id in buyers.keys() | strangers.keys():
        stores[store_id]["checkout_sessions"] = len(buyers[store_id]) + strangers.get(store_id, 0)
    totals = (
        placed.exclude(status=OrderStatus.CANCELLED)
        .values("store_id")
        .annotate(orders=Count("id"), revenue=Sum("total"))
        .order_by()
    )
    for row in totals:
        stores[row.pop("store_id")].update(row)


def _subscriptions_and_restocks(day: date, stores: dict[int, dict]) -> None:
    subscribed = (
        Subscription.objects.filter(_local(day, "created_at", "item__source__store"))
        .values(store_id=F("item__source__store"))
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in subscribed:
        stores[row["store_id"]]["subscriptions"] = row["n"]
    # A restock takes an item from nothing (0 or below) to some: after > 0, before <= 0.
    restocked = (
        StockMovement.objects.filter(
            _local(day, "created_at", "item__store"),
            quantity_after__gt=0,
            quantity_after__lte=F("delta"),
        )
        .values(store_id=F("item__store_id"))
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in restocked:
        stores[row["store_id"]]["restocks"] = row["n"]


def _alert_channels(day: date) -> int:
    rows = (
        Notification.objects.filter(
            _local(day, "created_at", "subscription__item__source__store"),
            kind=NotificationKind.ALERT,
        )
        .values("channel", store_id=F("subscription__item__source__store"))
        .annotate(
            sent=Count("id", filter=Q(status__in=SENT)),
            delivered=Count("id", filter=Q(status__in=DELIVERED)),
            read=Count("id", filter=Q(status=NotificationStatus.READ)),
            failed=Count("id", filter=Q(status=NotificationStatus.FAILED)),
        )
        .order_by()
    )
    made = AlertChannelDay.objects.bulk_create([AlertChannelDay(day=day, **row) for row in rows])
    return len(made)


def _search_misses(day: date, stores: dict[int, dict]) -> int:
    rows = (
        _known_stores(SearchMiss.objects.filter(day=day))
        .values("store_id", "query")
        .annotate(searches=Count("id"))
        .order_by()
    )
    made = SearchMissDay.objects.bulk_create(
        [SearchMissDay(day=day, **row) for row in rows], batch_size=1000
    )
    for miss in made:
        if miss.store_id is not None:
            figures = stores[miss.store_id]
            figures["search_misses"] = figures.get("search_misses", 0) + miss.searches
    return len(made)


def roll_up_due_days(*, now: datetime | None = None) -> dict[str, int]:
    """Roll up every day from the first one not final up to the latest date any store has
    reached: today so far, yesterday until it has settled everywhere, and any days missed
    while no worker ran (back to ANALYTICS_RAW_DAYS, as older raw rows are gone)."""
    now = now or timezone.now()
    dates = [now.astimezone(zone(name)).date() for name in store_zones()]
    latest = max([local_day(None, now), *dates])
    oldest = latest - timedelta(days=settings.ANALYTICS_RAW_DAYS)
    done = RolledDay.objects.filter(final=True).order_by("-day").first()
    if done is not None:
        first = done.day + timedelta(days=1)
    else:  # never final yet: from the first day rolled up or viewed
        started = [
            RolledDay.objects.order_by("day").values_list("day", flat=True).first(),
            Visit.objects.order_by("day").values_list("day", flat=True).first(),
        ]
        first = min([day for day in started if day is not None] + [latest - timedelta(days=1)])
    days = final = 0
    day = max(first, oldest)
    while day <= latest:
        roll_up_day(day=day, now=now)
        days += 1
        final += is_final(day, now)
        day += timedelta(days=1)
    return {"days": days, "final": final}


def purge_raw_rows() -> dict[str, int]:
    """Delete raw views and misses older than ANALYTICS_RAW_DAYS (their roll-ups stay)."""
    cutoff = today() - timedelta(days=settings.ANALYTICS_RAW_DAYS)
    visits, _ = Visit.objects.filter(day__lt=cutoff).delete()
    misses, _ = SearchMiss.objects.filter(day__lt=cutoff).delete()
    return {"visits": visits, "search_misses": misses}
