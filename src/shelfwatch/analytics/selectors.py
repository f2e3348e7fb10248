"""Reads of the roll-ups for one store, or every store, over a range of days.

`store=None` means every store together (the platform view for admins); rows of views
with no store (API reads, shoppers who picked none) are in neither. Also the reads of the
built reports.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet, Sum

from shelfwatch.accounts.principal import Principal
from shelfwatch.analytics import leaders
from shelfwatch.analytics.models import (
    AlertChannelDay,
    Report,
    ReportStatus,
    SearchMissDay,
    StoreDay,
)
from shelfwatch.analytics.ranges import DayRange
from shelfwatch.analytics.rollup import SENT
from shelfwatch.analytics.zones import within_local_days
from shelfwatch.catalog.models import Product
from shelfwatch.errors import NotAllowed, NotFound
from shelfwatch.inventory.models import Store
from shelfwatch.inventory.selectors import get_store_for, stores_for
from shelfwatch.notify.models import Notification, NotificationKind
from shelfwatch.shop.models import Order, OrderStatus

DAY_FIELDS = (
    "views",
    "bot_views",
    "visitors",
    "cart_sessions",
    "checkout_sessions",
    "orders",
    "revenue",
    "subscriptions",
    "restocks",
    "search_misses",
)
CENT = Decimal("0.01")
# An alert "led to an order" when its reader ordered at the store within this long.
ORDER_WINDOW = timedelta(days=7)


def conversion(buyers: int, visitors: int) -> float | None:
    """The share of visitors who placed an order, or None with neither.

    Every shopper who ordered visited, whether or not a page view was recorded (an order
    through the API or an app views no page), so the visitors are at least the buyers and
    the share never passes 1.
    """
    seen = max(visitors, buyers)
    return round(buyers / seen, 4) if seen else None


def _scoped(rows: QuerySet, store: Store | None, days: DayRange) -> QuerySet:
    """`rows` of `store` (of any store if None) on the days of the range."""
    rows = rows.filter(day__gte=days.first, day__lte=days.last)
    return rows.filter(store=store) if store is not None else rows.filter(store__isnull=False)


def store_summary(*, store: Store | None, days: DayRange) -> dict:
    """Each day's figures (zeros for days without any) and their totals. The total of
    visitors adds daily uniques: a person seen on two days counts twice (and, over every
    store, a person seen at two stores)."""
    by_day = (
        _scoped(StoreDay.objects.all(), store, days)
        .values("day")
        .annotate(**{name: Sum(name) for name in DAY_FIELDS})
        .order_by()
    )
    rows = {row["day"]: row for row in by_day}
    series = []
    for day in days.days:
        row = rows.get(day)
        figures = {name: row[name] if row else 0 for name in DAY_FIELDS}
        # SQLite sums decimals as floats: back to cents, as the column holds them.
        figures["revenue"] = Decimal(figures["revenue"] or 0).quantize(CENT)
        figures["conversion"] = conversion(figures["checkout_sessions"], figures["visitors"])
        series.append({"day": day, **figures})
    totals = {name: sum((entry[name] for entry in series), start=0) for name in DAY_FIELDS}
    # Each day's unseen buyers are visitors of that day, as in the daily figures.
    seen = sum(max(entry["visitors"], entry["checkout_sessions"]) for entry in series)
    totals["conversion"] = conversion(totals["checkout_sessions"], seen)
    return {"days": series, "totals": totals}


def revenue_by_currency(*, store: Store | None, days: DayRange) -> list[tuple[str, Decimal]]:
    """The range's revenue per currency, biggest first: one entry for a store, one per
    currency over every store (an INR and a USD store's takings are not added up)."""
    rows = (
        _scoped(StoreDay.objects.all(), store, days)
        .values("store__currency")
        .annotate(revenue=Sum("revenue"))
        .order_by()
    )
    amounts = [
        (row["store__currency"], Decimal(row["revenue"] or 0).quantize(CENT)) for row in rows
    ]
    if store is not None and not amounts:
        amounts = [(store.currency, Decimal("0.00"))]
    return sorted(amounts, key=lambda pair: (-pair[1], pair[0]))


def top_products(*, store: Store | None, days: DayRange, limit: int) -> list[dict]:
    """The store's most viewed products over the range, by human views (ties by id)."""
    rows, _ = leaders.top(store=store, days=days, limit=limit)
    names = dict(
        Product.objects.filter(pk__in=[row["product_id"] for row in rows]).values_list("pk", "name")
    )
    return [{**row, "name": names.get(row["product_id"], "")} for row in rows]


def search_misses(*, store: Store | None, days: DayRange, limit: int) -> list[dict]:
    """The store's storefront searches that most often found nothing over the range."""
    return list(
        _scoped(SearchMissDay.objects.all(), store, days)
        .values("query")
        .annotate(searches=Sum("searches"))
        .order_by("-searches", "query")[:limit]
    )


def alert_funnel(*, store: Store | None, days: DayRange) -> dict:
    """Subscriptions made, then alerts sent, delivered, read (per channel and in all), and
    alerts whose reader ordered at the alert's store within a week of the alert."""
    subscribed = (
        _scoped(StoreDay.objects.all(), store, days).aggregate(n=Sum("subscriptions"))["n"] or 0
    )
    channels = list(
        _scoped(AlertChannelDay.objects.all(), store, days)
        .values("channel")
        .annotate(
            sent=Sum("sent"), delivered=Sum("delivered"), read=Sum("read"), failed=Sum("failed")
        )
        .order_by("channel")
    )
    totals = {
        name: sum(row[name] for row in channels) for name in ("sent", "delivered", "read", "failed")
    }
    followed_by_order = Order.objects.filter(
        store_id=OuterRef("subscription__item__source__store_id"),
        user_id=OuterRef("contact__user_id"),
        created_at__gte=OuterRef("sent_at"),
        created_at__lt=OuterRef("sent_at") + ORDER_WINDOW,
    ).exclude(status=OrderStatus.CANCELLED)
    # Alerts made on the range's days, each store's days in its own zone.
    made = within_local_days(
        days.first,
        days.last,
        time_field="created_at",
        store_field="subscription__item__source__store",
        store=store,
    )
    alerts = Notification.objects.filter(made, kind=NotificationKind.ALERT)
    ordered = (
        alerts.filter(
            status__in=SENT,
            sent_at__isnull=False,
            contact__user__isnull=False,
        )
        .filter(Exists(followed_by_order))
        .count()
    )
    return {"subscribed": subscribed, **totals, "ordered": ordered, "channels": channels}


def reports_for(
    principal: Principal, *, store_id: int | None, kind: str | None = None
) -> QuerySet[Report]:
    """Built reports of the store the caller works in (another store's id is a 404), or
    with no store the platform's, which only admins read (`NotAllowed` otherwise)."""
    if store_id is None:
        if not principal.is_admin:
            raise NotAllowed("Only admins read the platform report.", code="admins_only")
        rows = Report.objects.filter(store__isnull=True)
    else:
        rows = Report.objects.filter(store=get_store_for(principal, store_id))
    if kind:
        rows = rows.filter(kind=kind)
    return rows.filter(status=ReportStatus.SENT).order_by("-last_day", "-pk")


def get_report_for(principal: Principal, report_id: int) -> Report:
    """One built report the caller may read: their store's, or any for an admin; a 404
    otherwise, so other stores' report ids are not confirmed."""
    if principal.is_admin:
        rows = Report.objects.all()
    else:
        rows = Report.objects.filter(store__in=stores_for(principal))
    report = rows.filter(pk=report_id, status=ReportStatus.SENT).first()
    if report is None:
        raise NotFound("report not found", code="report_not_found")
    return report
