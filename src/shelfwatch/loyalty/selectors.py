"""Reads for the API, the admin and the storefront's account page."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from shelfwatch.accounts.models import User
from shelfwatch.http.cursors import decode_cursor, id_page
from shelfwatch.loyalty.models import Account, Entry, Program

MAX_PAGE = 200


@dataclass(frozen=True)
class Balance:
    """A customer's points at one store and what they are worth there now."""

    store_id: int
    store_name: str
    currency: str
    points: int
    value: Decimal
    program_enabled: bool


def accounts_with_balance() -> QuerySet[Account]:
    """Accounts annotated with `balance`, the sum of their ledger."""
    return Account.objects.annotate(balance=Coalesce(Sum("entries__points"), Value(0)))


def balances_for(user: User) -> list[Balance]:
    """`user`'s balance at every store they have points history with, by store name."""
    accounts = (
        accounts_with_balance()
        .filter(user=user)
        .select_related("store")
        .order_by("store__name", "store_id")
    )
    programs = {
        program.store_id: program
        for program in Program.objects.filter(store_id__in=[a.store_id for a in accounts])
    }
    balances = []
    for account in accounts:
        program = programs.get(account.store_id)
        point_value = program.point_value if program else Decimal("0")
        balances.append(
            Balance(
                store_id=account.store_id,
                store_name=account.store.name,
                currency=account.store.currency,
                points=account.balance,
                value=(account.balance * point_value).quantize(Decimal("0.01")),
                program_enabled=bool(program and program.enabled),
            )
        )
    return balances


def history_for(
    user: User, *, store_id: int | None = None, cursor: str | None = None, limit: int = 50
) -> tuple[list[Entry], str | None]:
    """One page of `user`'s ledger, newest first, and the cursor of the next page (None at
    the end). Only the user's own accounts are read, whatever `store_id` says."""
    entries = Entry.objects.filter(account__user=user).select_related("account__store")
    if store_id is not None:
        entries = entries.filter(account__store_id=store_id)
    if cursor:
        (before,) = decode_cursor(cursor, int)
        entries = entries.filter(pk__lt=before)
    limit = min(max(limit, 1), MAX_PAGE)
    return id_page(list(entries.order_by("-pk")[: limit + 1]), limit)
