"""The analytics dashboard page and its CSV downloads, for store staff and admins.

Filters, figures and tables come from `analytics.dashboard`; these views only turn its
refusals into pages: someone who works in no store gets 403, another store's id 404, and
bad days the page again with what to fix (status 400), never a 500.
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from shelfwatch.accounts.authentication import page_principal
from shelfwatch.analytics import dashboard as board
from shelfwatch.errors import Invalid, NotAllowed, NotFound
from shelfwatch.spreadsheet_cells import inert_cell


def range_message(error: Invalid) -> str:
    """What to fix in the dates, in the page's language."""
    if error.code == "range_too_long":
        return _("Choose at most %(days)s days.") % {"days": settings.ANALYTICS_MAX_DAYS}
    if error.code == "bad_range":
        return _("The first day must not be after the last day.")
    return _("Write the dates as YYYY-MM-DD, for example 2026-03-01.")


def _filters(request: HttpRequest) -> board.Filters:
    try:
        return board.filters(page_principal(request), request.GET)
    except NotAllowed:
        raise PermissionDenied from None
    except NotFound:
        raise Http404("no such store") from None  # not 403: other stores stay unconfirmed


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Views, orders, top products, the alert funnel and empty searches for the chosen
    store (or every store, for admins) and days."""
    try:
        chosen = _filters(request)
    except Invalid as error:
        choices, can_pick_all = board.stores_of(page_principal(request))
        context = {
            "error": range_message(error),
            "choices": choices,
            "can_pick_all": can_pick_all,
            "asked": request.GET,
            "staff_page": True,
        }
        return render(request, "analytics/dashboard.html", context, status=400)
    found = board.figures(chosen)
    query = urlencode(chosen.query())
    context = {
        "chosen": chosen,
        "choices": chosen.choices,
        "can_pick_all": chosen.can_pick_all,
        "asked": chosen.query(),
        "found": found,
        "charts": board.chart_svgs(found),
        # Keyed with underscores: the template cannot look up a hyphenated key.
        "downloads": {name.replace("-", "_"): f"{name}.csv?{query}" for name in board.TABLES},
        "max_days": settings.ANALYTICS_MAX_DAYS,
        "staff_page": True,
    }
    return render(request, "analytics/dashboard.html", context)


@login_required
def export(request: HttpRequest, table: str) -> HttpResponse:
    """One of the page's tables as CSV, for the same query string."""
    if table not in board.TABLES:
        raise Http404("no such table")
    try:
        chosen = _filters(request)
    except Invalid as error:
        return HttpResponse(
            range_message(error), status=400, content_type="text/plain; charset=utf-8"
        )
    found = board.figures(chosen, limit=board.EXPORT_LIMIT)
    header, rows = board.table(table, found)
    scope = chosen.store.slug if chosen.store else board.ALL
    name = f"{table}-{scope}-{chosen.days.first}-{chosen.days.last}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([inert_cell(value) for value in row] for row in rows)
    return response
