"""`/api/v1/loyalty`: a customer's points, quotes, and each store's program.

Customers read only their own accounts (the queries filter by the caller); program
settings go through `get_store_for`, so another tenant's store is a 404; manual
adjustments are for platform admins.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from shelfwatch.accounts.authentication import (
    admin_auth,
    api_auth,
    principal_of,
    store_staff_auth,
)
from shelfwatch.accounts.models import User
from shelfwatch.accounts.permissions import require_principal
from shelfwatch.http.bounds import Id
from shelfwatch.http.problems import NotFound
from shelfwatch.inventory.models import Store
from shelfwatch.inventory.selectors import get_store_for
from shelfwatch.loyalty.ledger import adjust
from shelfwatch.loyalty.models import Entry
from shelfwatch.loyalty.programs import program_of, save_program
from shelfwatch.loyalty.redemption import quote_redemption
from shelfwatch.loyalty.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    BalanceOut,
    EntryPage,
    ProgramIn,
    ProgramOut,
    QuoteIn,
    QuoteOut,
)
from shelfwatch.loyalty.selectors import balances_for, history_for

router = Router(tags=["loyalty"], auth=api_auth)


def entry_out(entry: Entry) -> dict:
    return {
        "id": entry.pk,
        "store_id": entry.account.store_id,
        "kind": entry.kind,
        "points": entry.points,
        "balance_after": entry.balance_after,
        "order_id": entry.order_id,
        "reason": entry.reason,
        "created_at": entry.created_at,
    }


def program_out(program) -> dict:
    return {
        "store_id": program.store_id,
        "enabled": program.enabled,
        "earn_points": program.earn_points,
        "earn_per_amount": program.earn_per_amount,
        "point_value": program.point_value,
        "max_redeem_percent": program.max_redeem_percent,
        "expiry_months": program.expiry_months,
        "updated_at": program.updated_at,
    }


def _active_store(store_id: int) -> Store:
    store = Store.objects.filter(pk=store_id, is_active=True).first()
    if store is None:
        raise NotFound("store not found", code="store_not_found")
    return store


@router.get("", response=list[BalanceOut])
def balances(request: HttpRequest):
    """The caller's points at each store, and what they are worth there."""
    return balances_for(require_principal(principal_of(request)).user)


@router.get("/history", response=EntryPage)
def history(
    request: HttpRequest,
    store_id: Id | None = None,
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=500),
):
    """The caller's ledger, newest first; `store_id` narrows it to one store."""
    user = require_principal(principal_of(request)).user
    entries, next_cursor = history_for(user, store_id=store_id, cursor=cursor, limit=limit)
    return {"items": [entry_out(entry) for entry in entries], "next_cursor": next_cursor}


@router.post("/quote", response=QuoteOut)
def quote(request: HttpRequest, payload: QuoteIn):
    """What `points` would take off an order of `order_total`; nothing is reserved."""
    user = require_principal(principal_of(request)).user
    store = _active_store(payload.store_id)
    discount = quote_redemption(
        user=user, store=store, points=payload.points, order_total=payload.order_total
    )
    return {
        "store_id": store.pk,
        "points": payload.points,
        "discount": discount,
        "currency": store.currency,
    }


@router.get("/stores/{store_id}/program", response=ProgramOut, auth=store_staff_auth)
def read_program(request: HttpRequest, store_id: int):
    """The store's settings (defaults, disabled, when it has never set up a program)."""
    return program_out(program_of(get_store_for(principal_of(request), store_id)))


@router.put("/stores/{store_id}/program", response=ProgramOut, auth=store_staff_auth)
def write_program(request: HttpRequest, store_id: int, payload: ProgramIn):
    """Replace the store's settings; store owners and admins only."""
    store = get_store_for(principal_of(request), store_id, roles=("owner",))
    return program_out(save_program(store=store, settings=payload.dict()))


@router.post("/stores/{store_id}/adjustments", response={201: AdjustmentOut}, auth=admin_auth)
def add_adjustment(request: HttpRequest, store_id: int, payload: AdjustmentIn):
    """Add (positive) or take (negative) points with a reason; a take larger than the
    balance is refused (409) and changes nothing."""
    principal = principal_of(request)
    store = get_store_for(principal, store_id)
    user = User.objects.filter(pk=payload.user_id).first()
    if user is None:
        raise NotFound("user not found", code="user_not_found")
    change = adjust(
        user=user,
        store_id=store.pk,
        points=payload.points,
        reason=payload.reason,
        actor=principal.user,
    )
    return Status(201, {"entry": entry_out(change.entry), "balance": change.balance})
