"""What a report says: a store's (or the platform's) figures over a period, each beside the
same figure over the period before and over an earlier one of the same length, and the
lists behind them (top viewed and sold, low stock, restocks, demand waiting on items out
of stock, empty searches).

Period figures come from the daily roll-ups and the order lines of the period's days (the
store's local days);
stock and waiting demand are what holds when the report is built, so their comparisons
come from the reports built before (None when there was none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum

from shelfwatch.alerts.models import Subscription, SubscriptionKind
from shelfwatch.analytics.models import (
    AlertChannelDay,
    ProductDay,
    Report,
    ReportKind,
    SearchMissDay,
    StoreDay,
)
from shelfwatch.analytics.zones import within_local_days
from shelfwatch.catalog.models import Product
from shelfwatch.inventory.models import StockItem, StockMovement, Store
from shelfwatch.shop.models import OrderLine, OrderStatus

CENT = Decimal("0.01")
LIST_LENGTH = 5
LONG_LIST_LENGTH = 10
# Figures summed from StoreDay over the period.
STORE_DAY_FIGURES = ("views", "visitors", "orders", "revenue", "restocks", "search_misses")
# Days of trend shown in a chart: two weeks of days, or eight weeks of weeks.
TREND_POINTS = {ReportKind.DAILY: 14, ReportKind.WEEKLY: 8}


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # included

    @property
    def length(self) -> int:
        return (self.last - self.first).days + 1

    def shifted(self, days: int) -> Period:
        """The period `days` earlier."""
        return Period(self.first - timedelta(days=days), self.last - timedelta(days=days))


def period_of(kind: str, last_day: date) -> Period:
    """The period a report of `kind` ending on `last_day` covers."""
    length = 7 if kind == ReportKind.WEEKLY else 1
    return Period(last_day - timedelta(days=length - 1), last_day)


def comparisons(kind: str, period: Period) -> dict[str, Period]:
    """The periods a report compares against: the one before it, and for a daily report
    the same weekday a week earlier (for a weekly one, four weeks earlier)."""
    earlier = 7 if kind == ReportKind.DAILY else 28
    return {"previous": period.shifted(period.length), "earlier": period.shifted(earlier)}


def _scope(store: Store | None, field: str = "store") -> Q:
    return Q(**{field: store}) if store is not None else Q()


def _range(period: Period, field: str = "day") -> Q:
    return Q(**{f"{field}__gte": period.first, f"{field}__lte": period.last})


def _instants(store: Store | None, period: Period, store_field: str, time_field: str) -> Q:
    """Rows of the store (any store) stamped within the period's days in its own zone."""
    return within_local_days(
        period.first, period.last, time_field=time_field, store_field=store_field, store=store
    )


def period_figures(store: Store | None, period: Period) -> dict[str, Any]:
    """The period's summed figures: traffic, orders, revenue, restocks, empty searches,
    alerts sent and failed."""
    sums = StoreDay.objects.filter(_scope(store), _range(period)).aggregate(
        **{name: Sum(name) for name in STORE_DAY_FIGURES}
    )
    figures = {name: sums[name] or 0 for name in STORE_DAY_FIGURES}
    figures["revenue"] = Decimal(sums["revenue"] or 0).quantize(CENT)
    alerts = AlertChannelDay.objects.filter(_scope(store), _range(period)).aggregate(
        sent=Sum("sent"), failed=Sum("failed")
    )
    figures["alerts_sent"] = alerts["sent"] or 0
    figures["alerts_failed"] = alerts["failed"] or 0
    return figures


def change(value: Any, before: Any) -> dict[str, Any]:
    """`value` beside `before`: the difference and the percentage (None without a base)."""
    if before is None:
        return {"before": None, "diff": None, "percent": None}
    diff = value - before
    percent = round(float(diff) * 100 / float(before), 1) if before else None
    return {"before": _plain(before), "diff": _plain(diff), "percent": percent}


def _plain(value: Any) -> Any:
    # JSON keeps money as a string, so no cent is lost to a float.
    return str(value) if isinstance(value, Decimal) else value


def _with_changes(values: dict, previous: dict, earlier: dict) -> dict[str, dict]:
    return {
        name: {
            "value": _plain(value),
            "previous": change(value, previous.get(name)),
            "earlier": change(value, earlier.get(name)),
        }
        for name, value in values.items()
    }


def _names(product_ids: list[int]) -> dict[int, str]:
    return dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "name"))


def top_viewed(store: Store | None, period: Period, before: dict[str, Period]) -> list[dict]:
    """The most viewed products (human views) and their views in the compared periods."""
    rows = list(
        ProductDay.objects.filter(_scope(store), _range(period))
        .values("product_id")
        .annotate(views=Sum("views"))
        .filter(views__gt=0)
        .order_by("-views", "product_id")[:LIST_LENGTH]
    )
    ids = [row["product_id"] for row in rows]
    names = _names(ids)
    compared = {
        key: dict(
            ProductDay.objects.filter(_scope(store), _range(other), product_id__in=ids)
            .values("product_id")
            .annotate(views=Sum("views"))
            .values_list("product_id", "views")
            .order_by()
        )
        for key, other in before.items()
    }
    return [
        {
            "product_id": row["product_id"],
            "name": names.get(row["product_id"], ""),
            "views": row["views"],
            **{
                key: change(row["views"], found.get(row["product_id"], 0))
                for key, found in compared.items()
            },
        }
        for row in rows
    ]


def _sold(store: Store | None, period: Period):
    return (
        OrderLine.objects.filter(_instants(store, period, "order__store", "order__created_at"))
        .exclude(order__status=OrderStatus.CANCELLED)
        .values("product_id")
    )


def top_sold(store: Store | None, period: Period, before: dict[str, Period]) -> list[dict]:
    """The products sold in most units (cancelled orders apart), their takings, and their
    units in the compared periods."""
    rows = list(
        _sold(store, period)
        .annotate(units=Sum("quantity"), takings=Sum("line_total"))
        .order_by("-units", "product_id")[:LIST_LENGTH]
    )
    ids = [row["product_id"] for row in rows]
    names = _names(ids)
    compared = {
        key: dict(
            _sold(store, other)
            .filter(product_id__in=ids)
            .annotate(units=Sum("quantity"))
            .values_list("product_id", "units")
            .order_by()
        )
        for key, other in before.items()
    }
    return [
        {
            "product_id": row["product_id"],
            "name": names.get(row["product_id"], ""),
            "units": row["units"],
            "takings": str(Decimal(row["takings"] or 0).quantize(CENT)),
            **{
                key: change(row["units"], found.get(row["product_id"], 0))
                for key, found in compared.items()
            },
        }
        for row in rows
    ]


def low_stock(store: Store | None) -> tuple[int, list[dict]]:
    """Items still in stock but at or under their reorder level: how many, and the lowest."""
    items = StockItem.objects.filter(
        _scope(store), reorder_level__gt=0, quantity__gt=0, quantity__lte=F("reorder_level")
    )
    rows = items.order_by("quantity", "product__name").values(
        "product_id", "quantity", "reorder_level", name=F("product__name")
    )[:LONG_LIST_LENGTH]
    return items.count(), list(rows)


def back_in_stock(store: Store | None, period: Period) -> list[dict]:
    """Products that came back into stock in the period (from nothing to some), with how
    often."""
    rows = (
        StockMovement.objects.filter(
            _instants(store, period, "item__store", "created_at"),
            quantity_after__gt=0,
            quantity_after__lte=F("delta"),
        )
        .values(product_id=F("item__product_id"), name=F("item__product__name"))
        .annotate(times=Count("id"))
        .order_by("-times", "name")[:LONG_LIST_LENGTH]
    )
    return list(rows)


def waiting_demand(store: Store | None) -> tuple[int, list[dict]]:
    """Back-in-stock subscriptions waiting on products the store has run out of: how many
    in all, and per product the most awaited."""
    where = Q(
        is_active=True,
        kind=SubscriptionKind.BACK_IN_STOCK,
        item__is_gone=False,
        item__product__stock_items__quantity__lte=0,
        item__product__stock_items__store=F("item__source__store"),
    )
    where &= _scope(store, "item__source__store") if store else Q(item__source__store__isnull=False)
    subscriptions = Subscription.objects.filter(where)
    rows = (
        subscriptions.values(product_id=F("item__product_id"), name=F("item__product__name"))
        .annotate(waiting=Count("id"))
        .order_by("-waiting", "name")[:LONG_LIST_LENGTH]
    )
    return subscriptions.count(), list(rows)


def search_misses(store: Store | None, period: Period) -> list[dict]:
    """What shoppers searched for most often and did not find."""
    return list(
        SearchMissDay.objects.filter(_scope(store), _range(period))
        .values("query")
        .annotate(searches=Sum("searches"))
        .order_by("-searches", "query")[:LONG_LIST_LENGTH]
    )


def trend(store: Store | None, kind: str, period: Period) -> list[dict]:
    """Views and orders per day (or per week) up to the period's end, oldest first."""
    points = TREND_POINTS[kind]
    step = period.length
    first = period.last - timedelta(days=step * points - 1)
    rows = (
        StoreDay.objects.filter(_scope(store), day__gte=first, day__lte=period.last)
        .values("day")
        .annotate(views=Sum("views"), orders=Sum("orders"))
        .order_by()
    )
    buckets = [
        {"first": first + timedelta(days=step * n), "views": 0, "orders": 0} for n in range(points)
    ]
    for row in rows:
        bucket = buckets[(row["day"] - first).days // step]
        bucket["views"] += row["views"] or 0
        bucket["orders"] += row["orders"] or 0
    return [{**b, "first": b["first"].isoformat()} for b in buckets]


def _earlier_snapshot(store: Store | None, kind: str, period: Period) -> dict:
    """The stock-time figures a report of the same scope and kind kept for `period`."""
    row = (
        Report.objects.filter(store=store, kind=kind, first_day=period.first)
        .values_list("data", flat=True)
        .first()
    )
    return (row or {}).get("snapshot", {})


def collect(*, store: Store | None, kind: str, last_day: date) -> dict[str, Any]:
    """Everything a report of `kind` ending on `last_day` shows, JSON-ready."""
    period = period_of(kind, last_day)
    before = comparisons(kind, period)
    figures = period_figures(store, period)
    compared = {key: period_figures(store, other) for key, other in before.items()}
    low_count, low_rows = low_stock(store)
    waiting_count, waiting_rows = waiting_demand(store)
    snapshot = {"low_stock": low_count, "waiting": waiting_count}
    snapshots = {key: _earlier_snapshot(store, kind, other) for key, other in before.items()}
    return {
        "kind": kind,
        "store": {"id": store.pk, "name": store.name, "currency": store.currency}
        if store
        else None,
        "period": {"first": period.first.isoformat(), "last": period.last.isoformat()},
        # The store's days are its local days; the platform's add up each store's own.
        "zone": store.timezone if store is not None else "",
        "compared": {
            key: {"first": p.first.isoformat(), "last": p.last.isoformat()}
            for key, p in before.items()
        },
        "figures": _with_changes(figures, compared["previous"], compared["earlier"]),
        "snapshot": snapshot,
        "stock_figures": _with_changes(snapshot, snapshots["previous"], snapshots["earlier"]),
        "top_viewed": top_viewed(store, period, before),
        "top_sold": top_sold(store, period, before),
        "low_stock": low_rows,
        "back_in_stock": back_in_stock(store, period),
        "waiting": waiting_rows,
        "search_misses": search_misses(store, period),
        "trend": trend(store, kind, period),
    }
