"""`/api/v1/analytics`: a store's daily figures, top products, empty searches, alert
funnel and built reports, for that store's staff and admins (another store's id is a 404;
the platform's reports are for admins)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from shelfwatch.accounts.authentication import principal_of, store_staff_auth
from shelfwatch.analytics import selectors
from shelfwatch.analytics.ranges import day_range
from shelfwatch.analytics.schemas import (
    AlertFunnelOut,
    LimitedRangeQuery,
    RangeQuery,
    ReportDetailOut,
    ReportOut,
    ReportsQuery,
    SearchMissOut,
    SummaryOut,
    TopProductOut,
)
from shelfwatch.analytics.zones import local_day
from shelfwatch.http.bounds import Id
from shelfwatch.inventory.selectors import get_store_for

router = Router(tags=["analytics"], auth=store_staff_auth)


def _scope(request: HttpRequest, query: RangeQuery):
    store = get_store_for(principal_of(request), query.store)
    days = day_range(first=query.from_, last=query.to, current=local_day(store.pk))
    return store, days


@router.get("/summary", response=SummaryOut, by_alias=True)
def summary(request: HttpRequest, query: Query[RangeQuery]):
    """Views, unique visitors, carts, checkouts, orders, revenue and conversion per day."""
    store, days = _scope(request, query)
    figures = selectors.store_summary(store=store, days=days)
    return {"store_id": store.pk, "from": days.first, "to": days.last, **figures}


@router.get("/top-products", response=list[TopProductOut])
def top_products(request: HttpRequest, query: Query[LimitedRangeQuery]):
    """The most viewed products of the store over the range (bots apart)."""
    store, days = _scope(request, query)
    return selectors.top_products(store=store, days=days, limit=query.limit)


@router.get("/search-misses", response=list[SearchMissOut])
def search_misses(request: HttpRequest, query: Query[LimitedRangeQuery]):
    """Storefront searches at the store that found nothing, most frequent first."""
    store, days = _scope(request, query)
    return selectors.search_misses(store=store, days=days, limit=query.limit)


@router.get("/alert-funnel", response=AlertFunnelOut, by_alias=True)
def alert_funnel(request: HttpRequest, query: Query[RangeQuery]):
    """Alert subscriptions made, then alerts sent, delivered, read, and followed by an order."""
    store, days = _scope(request, query)
    funnel = selectors.alert_funnel(store=store, days=days)
    return {"store_id": store.pk, "from": days.first, "to": days.last, **funnel}


@router.get("/reports", response=list[ReportOut])
def reports(request: HttpRequest, query: Query[ReportsQuery]):
    """The store's built reports (without `store`: the platform's), newest first."""
    rows = selectors.reports_for(principal_of(request), store_id=query.store, kind=query.kind)
    return list(rows.defer("data", "charts")[: query.limit])


@router.get("/reports/{report_id}", response=ReportDetailOut)
def report(request: HttpRequest, report_id: Id):
    """One built report with everything it shows."""
    return selectors.get_report_for(principal_of(request), report_id)
