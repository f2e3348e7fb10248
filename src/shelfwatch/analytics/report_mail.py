"""Who gets a report and how: owners of the store (admins for the platform report) who
chose its frequency, each sent one email through notify's outbox, keyed so a report is
never emailed twice to one person; and the signed link in it that changes the choice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse

from shelfwatch.accounts.models import StoreMembership
from shelfwatch.analytics.models import Report, ReportFrequency, ReportKind, ReportPreference
from shelfwatch.errors import Invalid, NotFound
from shelfwatch.inventory.models import Store
from shelfwatch.notify.contacts import email_contact_of
from shelfwatch.notify.outbox import enqueue

TEMPLATE = "analytics.report"
PREFERENCE_SALT = "shelfwatch.analytics.report-preference"


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def recipients(report: Report) -> QuerySet:
    """Active users who get `report`: the store's owners (every active admin for the
    platform report) whose choice for it is its kind; no choice made means daily."""
    users = get_user_model().objects.filter(is_active=True)
    if report.store_id is None:
        users = users.filter(is_superuser=True)
        mine = ReportPreference.objects.filter(user=OuterRef("pk"), store__isnull=True)
    else:
        owners = StoreMembership.objects.filter(
            store_id=report.store_id, role=StoreMembership.Role.OWNER
        )
        users = users.filter(pk__in=owners.values("user_id"))
        mine = ReportPreference.objects.filter(user=OuterRef("pk"), store_id=report.store_id)
    chosen = Exists(mine.filter(frequency=report.kind))
    if report.kind == ReportKind.DAILY:
        return users.filter(chosen | ~Exists(mine)).order_by("pk")
    return users.filter(chosen).order_by("pk")


def preference_token(*, user_id: int, store_id: int | None) -> str:
    """The signed, unexpiring token of one person's link to their choice for one report."""
    return signing.dumps({"u": user_id, "s": store_id or 0}, salt=PREFERENCE_SALT)


def preference_from_token(token: str) -> tuple[Any, Store | None] | None:
    """The (user, store or None for the platform report) a genuine token names, else None."""
    try:
        payload = signing.loads(token or "", salt=PREFERENCE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    user = get_user_model().objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None:
        return None
    store_id = payload.get("s") or None
    store = Store.objects.filter(pk=store_id).first() if store_id else None
    if store_id and store is None:
        return None
    return user, store


def report_frequency(*, user, store: Store | None) -> str:
    """The person's choice for the store's report (the platform's with no store)."""
    found = ReportPreference.objects.filter(user=user, store=store).first()
    return found.frequency if found else ReportFrequency.DAILY


def set_report_frequency(*, user, store: Store | None, frequency: str) -> ReportPreference:
    """Record how often `user` gets the store's report; `Invalid` (bad_frequency) for a
    value that is not daily, weekly or off, `NotFound` when they may not get it (owners
    and admins do)."""
    if frequency not in ReportFrequency.values:
        raise Invalid("Choose daily, weekly or off.", code="bad_frequency")
    allowed = user.is_superuser or (
        store is not None
        and StoreMembership.objects.filter(
            user=user, store=store, role=StoreMembership.Role.OWNER
        ).exists()
    )
    if not allowed:
        raise NotFound("store not found", code="store_not_found")
    found, _ = ReportPreference.objects.update_or_create(
        user=user,
        store=store,
        defaults={"frequency": frequency},
        create_defaults={"frequency": frequency},
    )
    return found


def page_url(report: Report) -> str:
    """The absolute link to the report's page."""
    if report.store_id is None:
        return _site(reverse("platform-report", kwargs={"report_id": report.pk}))
    return _site(
        reverse("store-report", kwargs={"store_id": report.store_id, "report_id": report.pk})
    )


def email_context(report: Report, *, user) -> dict[str, Any]:
    """What the report email's templates read, captured now: the report's data, its links
    and its charts as inline images (by Content-ID)."""
    token = preference_token(user_id=user.pk, store_id=report.store_id)
    preference_url = _site(reverse("report-preference", kwargs={"token": token}))
    return {
        "report_id": report.pk,
        "report": report.data,
        "url": page_url(report),
        "preference_url": preference_url,
        # The List-Unsubscribe link: this report's choice, not the person's alerts.
        "unsubscribe_url": preference_url,
        "inline_images": dict(report.charts),
    }


def send_report(report: Report) -> int:
    """Queue the report's email for each recipient (once per person, whatever retries);
    returns how many recipients it has."""
    count = 0
    for user in recipients(report):
        if not user.email:
            continue
        # The address they sign in with is theirs: no code needed, as for order mail.
        contact = email_contact_of(user, verified=True)
        enqueue(
            contact=contact,
            template=TEMPLATE,
            context=email_context(report, user=user),
            idempotency_key=f"analytics-report:{report.pk}:user:{user.pk}",
        )
        count += 1
    return count
