"""The authorization checks every router uses: who is calling and what they may do.

Which stores a caller may manage is a query of the inventory app (`inventory.selectors.
stores_for`), so tenant walls stay in the queries there.
"""

from __future__ import annotations

from shelfwatch.accounts.principal import Principal
from shelfwatch.errors import NotAllowed, NotSignedIn


def require_principal(principal: Principal | None) -> Principal:
    """`principal` itself; None raises NotSignedIn."""
    if principal is None:
        raise NotSignedIn("authentication required")
    return principal


def require_admin(principal: Principal | None) -> Principal:
    """`principal` if it is a platform admin; raises NotSignedIn when None, NotAllowed otherwise."""
    principal = require_principal(principal)
    if not principal.is_admin:
        raise NotAllowed("platform admins only", code="admin_required")
    return principal


def require_store_staff(principal: Principal | None) -> Principal:
    """Admins and members (owner or staff) of an active store: the catalog's editors."""
    principal = require_principal(principal)
    if not principal.is_admin and not principal.memberships:
        raise NotAllowed("store staff and admins only", code="store_staff_required")
    return principal


def require_scope(principal: Principal, scope: str) -> None:
    """Raise NotAllowed unless `principal` holds `scope` (only API keys can lack one)."""
    if not principal.allows(scope):
        raise NotAllowed(f"this API key lacks the '{scope}' scope", code="insufficient_scope")
