"""The authorization layer every router uses: role checks and store-scoped querysets.

Tenant boundaries live in the queries returned here, so a store owner can never reach
another store's rows by guessing ids.
"""

from __future__ import annotations

from django.db.models import QuerySet

from shelfwatch.accounts.principal import Principal
from shelfwatch.http.problems import Forbidden, NotFound, Unauthorized
from shelfwatch.inventory.models import Store

STORE_ROLES = ("owner", "staff")


def require_principal(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("authentication required")
    return principal


def require_admin(principal: Principal | None) -> Principal:
    principal = require_principal(principal)
    if not principal.is_admin:
        raise Forbidden("platform admins only", code="admin_required")
    return principal


def require_store_staff(principal: Principal | None) -> Principal:
    """Admins and members (owner or staff) of an active store: the catalog's editors."""
    principal = require_principal(principal)
    if not principal.is_admin and not principal.memberships:
        raise Forbidden("store staff and admins only", code="store_staff_required")
    return principal


def require_scope(principal: Principal, scope: str) -> None:
    if not principal.allows(scope):
        raise Forbidden(f"this API key lacks the '{scope}' scope", code="insufficient_scope")


def stores_for(
    principal: Principal | None, *, roles: tuple[str, ...] = STORE_ROLES
) -> QuerySet[Store]:
    """Stores the caller may manage with one of `roles`; admins see every store."""
    if principal is None:
        return Store.objects.none()
    if principal.is_admin:
        return Store.objects.all()
    return Store.objects.filter(
        memberships__user=principal.user, memberships__role__in=roles, is_active=True
    )


def get_store_for(
    principal: Principal | None, store_id: int, *, roles: tuple[str, ...] = STORE_ROLES
) -> Store:
    """The store with `store_id` if the caller may manage it; a 404 otherwise.

    404 rather than 403 so ids of other tenants' stores are not confirmed to exist.
    """
    store = stores_for(principal, roles=roles).filter(pk=store_id).first()
    if store is None:
        raise NotFound("store not found", code="store_not_found")
    return store
