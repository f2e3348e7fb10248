"""Counting product views and empty searches from the outside of the views: product pages
and the API know nothing of analytics.

A view counts when the storefront product page or the API product read answers 200. A
search miss counts when a search view has set `request.search_miss` to its query and the
caller is not a known bot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from shelfwatch.accounts.throttling import client_ip
from shelfwatch.analytics import tracking
from shelfwatch.analytics.bots import is_bot
from shelfwatch.analytics.visitors import visitor_id
from shelfwatch.analytics.zones import local_day
from shelfwatch.shop.selectors.storefront import STORE_SESSION_KEY

logger = logging.getLogger("shelfwatch.analytics")

# URL names of product reads, and whether each is the API's.
PRODUCT_VIEWS = {"shop-product": False, "api:catalog-product": True}
MAX_QUERY_LENGTH = 100


def normalise_query(q: str) -> str:
    """Search words as counted: case-folded, single-spaced, at most 100 characters."""
    return " ".join(q.casefold().split())[:MAX_QUERY_LENGTH]


def wants_no_tracking(request: HttpRequest) -> bool:
    """Do Not Track or Global Privacy Control: count the view, compute no visitor id."""
    return request.headers.get("DNT") == "1" or request.headers.get("Sec-GPC") == "1"


class VisitMiddleware:
    """Records product views and search misses after the response is built."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 200 and settings.ANALYTICS_ENABLED:
            try:
                self._record(request)
            except Exception:  # counting never costs a shopper the page
                logger.exception("analytics: a hit was not recorded")
        return response

    def _record(self, request: HttpRequest) -> None:
        match = request.resolver_match
        if match is None:
            return
        via_api = PRODUCT_VIEWS.get(match.view_name)
        miss = getattr(request, "search_miss", None)
        if via_api is None and not miss:
            return
        # The API is per catalog, the storefront per chosen store (its session is loaded).
        api = match.namespace == "api"
        store_id = None if api else request.session.get(STORE_SESSION_KEY)
        day = local_day(store_id)  # the store's own date (UTC with no store)
        agent = request.headers.get("User-Agent", "")
        bot = is_bot(agent)
        if miss and not bot:  # crawlers' searches say nothing about what shoppers miss
            query = normalise_query(str(miss))
            if query:
                tracking.record_search_miss(day=day, store_id=store_id, query=query)
        if via_api is None:
            return
        visitor = ""
        if not bot and not wants_no_tracking(request):
            visitor = visitor_id(
                day=day,
                store_id=store_id,
                ip=client_ip(request),
                user_agent=agent,
                user_id=_user_id(request, api=api),
            )
        tracking.record_view(
            day=day,
            store_id=store_id,
            product_id=int(match.kwargs["product_id"]),
            visitor=visitor,
            is_bot=bot,
            via_api=via_api,
        )


def _user_id(request: HttpRequest, *, api: bool) -> int | None:
    if api:
        user = getattr(getattr(request, "principal", None), "user", None)
        return None if user is None else user.pk
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None
