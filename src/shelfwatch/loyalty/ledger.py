"""The one place points change.

Every write locks the account row first (`SELECT ... FOR UPDATE` on PostgreSQL; on
SQLite the IMMEDIATE transaction already holds the database's write lock), then reads the
balance as the SUM of the ledger, then appends one entry. Two writers on one account
therefore run one after the other, and no balance is ever stored apart from the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum

from shelfwatch.accounts.models import User
from shelfwatch.events.publishing import emit
from shelfwatch.loyalty.errors import InsufficientPoints, InvalidPoints
from shelfwatch.loyalty.models import LOT_KINDS, Account, Entry, EntryKind


@dataclass(frozen=True)
class Change:
    """What one ledger write did: the entry and the account's balance after it."""

    entry: Entry
    balance: int


def lock_account(*, user_id: int, store_id: int) -> Account:
    """The (user, store) account, created on first use and locked until the transaction
    ends. Call inside `transaction.atomic()`."""
    account, _ = Account.objects.get_or_create(user_id=user_id, store_id=store_id)
    # get_or_create's read was not locked; this one waits for any other writer to finish.
    return Account.objects.select_for_update().get(pk=account.pk)


def balance_of(account: Account) -> int:
    """The account's points: the sum of its ledger."""
    return Entry.objects.filter(account=account).aggregate(total=Sum("points"))["total"] or 0


def order_entry(order_id: int, kind: str) -> Entry | None:
    """The ledger entry of `kind` for the order, or None."""
    return Entry.objects.filter(order_id=order_id, kind=kind).first()


def append(
    account: Account,
    *,
    kind: str,
    points: int,
    order_id: int | None = None,
    reason: str = "",
    actor: User | None = None,
    lot: Entry | None = None,
    consumed: bool = False,
) -> Change:
    """Write one entry on a LOCKED account: a positive `points` opens a lot, a negative one
    takes from the oldest lots first (unless the caller `consumed` the lots itself). The
    caller has checked the balance covers a take."""
    balance = balance_of(account) + points
    entry = Entry.objects.create(
        account=account,
        kind=kind,
        points=points,
        balance_after=balance,
        remaining=points if points > 0 and kind in LOT_KINDS else 0,
        order_id=order_id,
        reason=reason[:200],
        actor=actor,
        lot=lot,
    )
    if points < 0 and not consumed:
        _take_from_lots(account, -points, first=None)
    _announce(account, entry)
    return Change(entry=entry, balance=balance)


def take_from_lot_first(account: Account, lot: Entry, points: int) -> None:
    """Consume `points` starting with `lot`, then the oldest others (reversals)."""
    _take_from_lots(account, points, first=lot)


def _take_from_lots(account: Account, points: int, *, first: Entry | None) -> None:
    lots = list(
        Entry.objects.filter(account=account, remaining__gt=0).order_by("id").only("remaining")
    )
    if first is not None:
        lots.sort(key=lambda lot: lot.pk != first.pk)  # stable: the rest stay oldest first
    for lot in lots:
        if points <= 0:
            break
        used = min(lot.remaining, points)
        Entry.objects.filter(pk=lot.pk).update(remaining=lot.remaining - used)
        points -= used
    if points > 0:
        # The balance check under the lock makes this unreachable; failing loudly rolls the
        # whole operation back rather than leave lots and balance disagreeing.
        raise RuntimeError(f"account {account.pk}: lots are {points} points short")


def _announce(account: Account, entry: Entry) -> None:
    """`loyalty.points_changed` on the customer's topic, so the account page updates."""
    emit(
        type="loyalty.points_changed",
        payload={
            "user_id": account.user_id,
            "store_id": account.store_id,
            "entry_id": entry.pk,
            "kind": entry.kind,
            "points": entry.points,
            "balance": entry.balance_after,
            "order_id": entry.order_id,
        },
        topics=[f"user:{account.user_id}"],
    )


def adjust(*, user: User, store_id: int, points: int, reason: str, actor: User) -> Change:
    """A manual correction by an admin; a take larger than the balance is refused."""
    if points == 0:
        raise InvalidPoints("an adjustment changes the balance")
    if not reason.strip():
        raise InvalidPoints("say why the points are adjusted", code="reason_required")
    with transaction.atomic():
        account = lock_account(user_id=user.pk, store_id=store_id)
        held = balance_of(account)
        if held + points < 0:
            raise InsufficientPoints(
                f"{-points} points to take, {held} held",
                extra={"balance": held, "requested": -points},
            )
        return append(
            account, kind=EntryKind.ADJUST, points=points, reason=reason.strip(), actor=actor
        )
