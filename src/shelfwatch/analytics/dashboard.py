"""The staff dashboard's filters, figures, charts and CSV tables.

Who may see which store is decided by `inventory.selectors.stores_for` (the analytics API's
rule): a store's owners and staff see their stores one at a time, admins any store or every
store together. The page and its CSV downloads share `filters`, `figures` and `table`, so a
download always holds what the page showed for the same query string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from shelfwatch import charts
from shelfwatch.accounts.principal import Principal
from shelfwatch.analytics import selectors
from shelfwatch.analytics.ranges import DayRange, day_range
from shelfwatch.analytics.zones import latest_local_day, local_day
from shelfwatch.errors import NotAllowed, NotFound
from shelfwatch.inventory.models import Store
from shelfwatch.inventory.selectors import stores_for

ALL = "all"
TOP_LIMIT = 10
EXPORT_LIMIT = 100
TABLES = ("days", "top-products", "alert-funnel", "alert-channels", "search-misses")


@dataclass(frozen=True)
class Filters:
    store: Store | None  # None: every store (admins only)
    days: DayRange
    choices: list[Store]  # the stores the caller may pick
    can_pick_all: bool

    def query(self) -> dict[str, str]:
        """The query string that asks for these filters again (for links and downloads)."""
        return {
            "store": str(self.store.pk) if self.store else ALL,
            "from": self.days.first.isoformat(),
            "to": self.days.last.isoformat(),
        }


def stores_of(principal: Principal | None) -> tuple[list[Store], bool]:
    """The stores `principal` may see figures of, and whether they may see every store at
    once; NotAllowed for someone who works in no store."""
    stores = list(stores_for(principal).order_by("name", "pk"))
    is_admin = bool(principal and principal.is_admin)
    if not stores and not is_admin:
        raise NotAllowed("only a store's staff and admins see its figures", code="not_staff")
    return stores, is_admin


def filters(principal: Principal | None, params: Mapping[str, str]) -> Filters:
    """The store and days asked for in `params` (`store`: an id or "all"; `from`, `to`).

    With no store, admins get every store and staff their first store. Another store's id,
    or "all" from someone not an admin, is NotFound (nothing confirms the store exists);
    bad days raise the `Invalid` of `ranges.day_range`.
    """
    choices, is_admin = stores_of(principal)
    wanted = (params.get("store") or "").strip()
    if not wanted:
        wanted = ALL if is_admin else str(choices[0].pk)
    if wanted == ALL and is_admin:
        store = None
    else:
        store = next((s for s in choices if str(s.pk) == wanted), None)
        if store is None:
            raise NotFound("store not found", code="store_not_found")
    current = latest_local_day() if store is None else local_day(store.pk)
    days = day_range(
        first=params.get("from") or None, last=params.get("to") or None, current=current
    )
    return Filters(store=store, days=days, choices=choices, can_pick_all=is_admin)


def figures(chosen: Filters, *, limit: int = TOP_LIMIT) -> dict[str, Any]:
    """Every figure the page shows for `chosen`."""
    store, days = chosen.store, chosen.days
    funnel = selectors.alert_funnel(store=store, days=days)
    summary = selectors.store_summary(store=store, days=days)
    conversion = summary["totals"]["conversion"]
    return {
        "summary": summary,
        "revenue": selectors.revenue_by_currency(store=store, days=days),
        "conversion_percent": None if conversion is None else round(conversion * 100, 1),
        "top": selectors.top_products(store=store, days=days, limit=limit),
        "funnel": funnel,
        "funnel_steps": funnel_steps(funnel),
        "misses": selectors.search_misses(store=store, days=days, limit=limit),
    }


def funnel_steps(funnel: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Subscribed → sent → delivered → read → bought, with their labels."""
    return [
        (_("Subscribed"), funnel["subscribed"]),
        (_("Alerts sent"), funnel["sent"]),
        (_("Delivered"), funnel["delivered"]),
        (_("Read"), funnel["read"]),
        (_("Bought within a week"), funnel["ordered"]),
    ]


def chart_svgs(found: Mapping[str, Any]) -> dict[str, str]:
    """The page's charts as inline SVG, each described in words for screen readers."""
    days = found["summary"]["days"]
    dates = [row["day"] for row in days]
    totals = found["summary"]["totals"]
    traffic = charts.day_chart(
        dates,
        [
            charts.Series(_("Views"), [row["views"] for row in days]),
            charts.Series(_("Unique visitors"), [row["visitors"] for row in days]),
        ],
        key="chart-traffic",
        title=_("Views and unique visitors per day"),
        description=_("%(views)s views and %(visitors)s daily unique visitors in all.")
        % {"views": totals["views"], "visitors": totals["visitors"]},
        area=True,
    )
    orders = charts.day_chart(
        dates,
        [charts.Series(_("Orders"), [row["orders"] for row in days])],
        key="chart-orders",
        title=_("Orders per day"),
        description=_("%(orders)s orders in all.") % {"orders": totals["orders"]},
        area=True,
        # Under the views chart in the same section: its legend says this line is orders.
        legend=True,
    )
    top = found["top"]
    products = charts.bar_chart(
        [row["name"] or f"#{row['product_id']}" for row in top],
        [row["views"] for row in top],
        key="chart-top",
        title=_("Most viewed products"),
        description=_("The table below lists the same products with their figures."),
    )
    steps = found["funnel_steps"]
    funnel = charts.bar_chart(
        [label for label, _n in steps],
        [n for _label, n in steps],
        key="chart-funnel",
        title=_("Alert funnel"),
        description=", ".join(f"{label}: {n}" for label, n in steps),
    )
    return {
        "traffic": traffic.svg(),
        "orders": orders.svg(),
        "top": products.svg(),
        "funnel": funnel.svg(),
    }


def table(name: str, found: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of one of the page's tables (`TABLES`), for CSV."""
    if name == "days":
        header = [
            _("Day"),
            _("Views"),
            _("Bot views"),
            _("Unique visitors"),
            _("Cart sessions"),
            _("Checkout sessions"),
            _("Orders"),
            _("Revenue"),
            _("Conversion"),
            _("Subscriptions"),
            _("Restocks"),
            _("Searches with no results"),
        ]
        rows = [
            [
                row["day"].isoformat(),
                row["views"],
                row["bot_views"],
                row["visitors"],
                row["cart_sessions"],
                row["checkout_sessions"],
                row["orders"],
                row["revenue"],
                "" if row["conversion"] is None else row["conversion"],
                row["subscriptions"],
                row["restocks"],
                row["search_misses"],
            ]
            for row in found["summary"]["days"]
        ]
        return header, rows
    if name == "top-products":
        header = [_("Product id"), _("Product"), _("Views"), _("Unique visitors"), _("Bot views")]
        rows = [
            [row["product_id"], row["name"], row["views"], row["visitors"], row["bot_views"]]
            for row in found["top"]
        ]
        return header, rows
    if name == "alert-funnel":
        return [_("Step"), _("Count")], [[label, n] for label, n in found["funnel_steps"]]
    if name == "alert-channels":
        funnel = found["funnel"]
        header = [_("Channel"), _("Sent"), _("Delivered"), _("Read"), _("Failed")]
        rows = [
            [row["channel"], row["sent"], row["delivered"], row["read"], row["failed"]]
            for row in funnel["channels"]
        ]
        return header, rows
    if name == "search-misses":
        return [_("Search"), _("Times")], [
            [row["query"], row["searches"]] for row in found["misses"]
        ]
    raise NotFound("no such table", code="table_not_found")
