"""Report pages: a store's reports for its staff (and admins; the platform's for admins),
one report with its charts, and each person's choice of daily, weekly or no report email,
on the page or through the signed link every report email carries (which also takes RFC
8058 one-click posts)."""

from __future__ import annotations

import base64

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shelfwatch.accounts.authentication import page_principal
from shelfwatch.analytics.models import Report, ReportFrequency, ReportStatus
from shelfwatch.analytics.report_charts import CHART_NAMES
from shelfwatch.analytics.report_mail import (
    preference_from_token,
    report_frequency,
    set_report_frequency,
)
from shelfwatch.errors import DomainError, NotFound
from shelfwatch.inventory.models import Store
from shelfwatch.inventory.selectors import stores_for

REPORTS_PER_PAGE = 30


def _store(request: HttpRequest, store_id: int | None) -> Store | None:
    """The store the caller works in (None: the platform, for admins); a 404 otherwise."""
    principal = page_principal(request)
    if store_id is None:
        if principal is None or not principal.is_admin:
            raise Http404("no such page")
        return None
    store = stores_for(principal).filter(pk=store_id).first()
    if store is None:
        raise Http404("no such store")  # not 403: other tenants' ids stay unconfirmed
    return store


def _report(store: Store | None, report_id: int) -> Report:
    report = Report.objects.filter(store=store, pk=report_id, status=ReportStatus.SENT).first()
    if report is None:
        raise Http404("no such report")
    return report


def _choices() -> list[tuple[str, str]]:
    return [
        (ReportFrequency.DAILY, _("Every day")),
        (ReportFrequency.WEEKLY, _("Once a week (Mondays)")),
        (ReportFrequency.OFF, _("Never")),
    ]


def _may_choose(user, store: Store | None) -> bool:
    if user.is_superuser:
        return True
    return store is not None and store.memberships.filter(user=user, role="owner").exists()


def _chart_url(store: Store | None, report: Report, name: str) -> str:
    if store is None:
        return reverse("platform-report-chart", args=[report.pk, name])
    return reverse("store-report-chart", args=[store.pk, report.pk, name])


@login_required
@require_GET
def reports_page(request: HttpRequest, store_id: int | None = None) -> HttpResponse:
    """The store's (or the platform's) built reports, newest first, and the reader's email
    choice."""
    store = _store(request, store_id)
    rows = Report.objects.filter(store=store, status=ReportStatus.SENT).defer("data", "charts")
    page = Paginator(rows.order_by("-last_day", "-pk"), REPORTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    if store is None:
        frequency_url = reverse("platform-report-frequency")
    else:
        frequency_url = reverse("store-report-frequency", args=[store.pk])
    context = {
        "store": store,
        "staff_page": True,
        "reports": page,
        "may_choose": _may_choose(request.user, store),
        "frequency": report_frequency(user=request.user, store=store),
        "frequency_url": frequency_url,
        "choices": _choices(),
    }
    return render(request, "analytics/reports.html", context)


@login_required
@require_GET
def report_page(request: HttpRequest, report_id: int, store_id: int | None = None) -> HttpResponse:
    """One report as its email showed it, charts included."""
    store = _store(request, store_id)
    report = _report(store, report_id)
    context = {
        "store": store,
        "staff_page": True,
        "report": report.data,
        "charts": [
            (name, _chart_url(store, report, name)) for name in CHART_NAMES if name in report.charts
        ],
    }
    return render(request, "analytics/report.html", context)


@login_required
@require_GET
def report_chart(
    request: HttpRequest, report_id: int, name: str, store_id: int | None = None
) -> HttpResponse:
    """One chart of a report as the PNG the email carried."""
    report = _report(_store(request, store_id), report_id)
    if name not in report.charts:
        raise Http404("no such chart")
    response = HttpResponse(base64.b64decode(report.charts[name]), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_POST
def choose_frequency(request: HttpRequest, store_id: int | None = None) -> HttpResponse:
    """Save the signed-in owner's (or admin's) choice for this report's email."""
    store = _store(request, store_id)
    if not _may_choose(request.user, store):
        raise Http404("no such store")
    try:
        set_report_frequency(
            user=request.user, store=store, frequency=request.POST.get("frequency", "")
        )
    except DomainError:
        return HttpResponse(_("Choose daily, weekly or never."), status=400)
    if store is None:
        return redirect("platform-reports")
    return redirect("store-reports", store_id=store.pk)


@csrf_exempt  # the signed token is the credential; mail clients post without a session
@require_http_methods(["GET", "POST"])
def preference_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link in a report email: GET shows the choice (link scanners change nothing),
    POST saves it; a one-click unsubscribe post turns the report off."""
    found = preference_from_token(token)
    if found is None:
        context = {"title": _("Unknown link"), "text": _("This link is not valid.")}
        return render(request, "analytics/message.html", context, status=404)
    user, store = found
    saved = False
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        frequency = ReportFrequency.OFF if one_click else request.POST.get("frequency", "")
        try:
            set_report_frequency(user=user, store=store, frequency=frequency)
        except NotFound:  # no longer an owner: the link gives nothing to choose
            context = {"title": _("Unknown link"), "text": _("This link is not valid.")}
            return render(request, "analytics/message.html", context, status=404)
        except DomainError:
            context = {"title": _("Not saved"), "text": _("Choose daily, weekly or never.")}
            return render(request, "analytics/message.html", context, status=400)
        saved = True
    context = {
        "store": store,
        "frequency": report_frequency(user=user, store=store),
        "choices": _choices(),
        "saved": saved,
    }
    return render(request, "analytics/preference.html", context)
