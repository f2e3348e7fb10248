"""Expiring points: lots older than their store's `expiry_months` lose what is left of them.

Redemptions take from the oldest lots first, so what is left in an old lot is exactly the
unspent part of those points. Each lot gets at most one `expire` entry (unique in the
database), and each account is handled in its own short transaction, so a run that stops
half way leaves a consistent ledger and the next run finishes the job.
"""

from __future__ import annotations

import calendar
import zoneinfo
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from shelfwatch.loyalty.ledger import append, lock_account
from shelfwatch.loyalty.models import LOT_KINDS, Account, Entry, EntryKind, Program


def months_before(moment: datetime, months: int) -> datetime:
    """`moment` moved back by whole calendar months (31 March - 1 month = 28/29 February)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _due_lots(account: Account, cutoff: datetime):
    return Entry.objects.filter(
        account=account, kind__in=LOT_KINDS, remaining__gt=0, created_at__lte=cutoff
    ).order_by("id")


def expire_account(*, user_id: int, store_id: int, cutoff: datetime) -> int:
    """Expire the account's lots earned at or before `cutoff`; the points expired."""
    expired = 0
    with transaction.atomic():
        account = lock_account(user_id=user_id, store_id=store_id)
        # The customer reads the day the points were earned as the store's calendar has it.
        zone = zoneinfo.ZoneInfo(account.store.timezone)
        for lot in _due_lots(account, cutoff).select_for_update():
            left = lot.remaining
            earned = timezone.localtime(lot.created_at, zone)
            Entry.objects.filter(pk=lot.pk).update(remaining=0)
            append(
                account,
                kind=EntryKind.EXPIRE,
                points=-left,
                lot=lot,
                reason=f"{left} points from {earned:%Y-%m-%d} expired",
                consumed=True,
            )
            expired += left
    return expired


def expire_due_points(*, now: datetime | None = None) -> dict[str, int]:
    """Expire every store's due points; counts of accounts touched and points expired."""
    now = now or timezone.now()
    accounts = points = 0
    for program in Program.objects.filter(expiry_months__gt=0).order_by("pk"):
        cutoff = months_before(now, program.expiry_months)
        # Ids first: each account then gets its own short transaction, and no cursor stays
        # open across them.
        due = list(
            Account.objects.filter(
                store_id=program.store_id,
                entries__kind__in=LOT_KINDS,
                entries__remaining__gt=0,
                entries__created_at__lte=cutoff,
            )
            .distinct()
            .order_by("pk")
            .values_list("user_id", flat=True)
        )
        for user_id in due:
            taken = expire_account(user_id=user_id, store_id=program.store_id, cutoff=cutoff)
            if taken:
                accounts += 1
                points += taken
    return {"accounts": accounts, "points": points}
