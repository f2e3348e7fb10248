"""Who may read or refresh a dataset, decided without revealing which datasets exist.

Readers: admins, the dataset's owner, and API keys holding `feeds:<name>`; a reader starts
a refresh only if it also holds `write` (only API keys can lack it). The dataset is
always looked up, whether or not the caller will be let in, and a caller who holds no
right to the name gets 403 whether the dataset exists or not: neither the status nor the
time taken tells a stranger which names are taken.
"""

from __future__ import annotations

from django.db.models import QuerySet

from shelfwatch.accounts.permissions import require_principal
from shelfwatch.accounts.principal import Principal
from shelfwatch.errors import NotAllowed, NotFound
from shelfwatch.feeds.lookup import dataset_named
from shelfwatch.feeds.models import Dataset, scope_for


def datasets_for(principal: Principal) -> QuerySet[Dataset]:
    """Datasets `principal` may read."""
    if principal.is_admin:
        return Dataset.objects.all()
    names = [scope[len("feeds:") :] for scope in principal.scopes if scope.startswith("feeds:")]
    owned = Dataset.objects.filter(owner=principal.user)
    return owned | Dataset.objects.filter(name__in=names) if names else owned


def get_dataset_for(principal: Principal | None, name: str) -> Dataset:
    """The dataset called `name` if the caller may use it: 401, 403 or 404 otherwise."""
    principal = require_principal(principal)
    dataset = dataset_named(name[:64])
    allowed = principal.is_admin or principal.allows(scope_for(name))
    if dataset is not None and dataset.owner_id == principal.user.pk:
        allowed = True
    if not allowed:
        raise NotAllowed(
            f"this caller lacks the '{scope_for(name)}' scope", code="dataset_forbidden"
        )
    if dataset is None:
        raise NotFound("no dataset by that name", code="dataset_not_found")
    return dataset


def require_refresh_right(principal: Principal) -> None:
    """Raise NotAllowed unless a reader of a dataset may also start its refresh: a rebuild is
    work done on the caller's word, so it takes the `write` scope, as `POST .../refresh`."""
    if not principal.allows("write"):
        raise NotAllowed(
            "starting a refresh needs the API key's 'write' scope; this key may only read",
            code="refresh_not_allowed",
        )


def get_dataset_to_manage(principal: Principal | None, name: str) -> Dataset:
    """The dataset called `name` if the caller may change or delete it: its owner or an admin."""
    principal = require_principal(principal)
    dataset = get_dataset_for(principal, name)
    if not principal.is_admin and dataset.owner_id != principal.user.pk:
        raise NotAllowed(
            "only the dataset's owner or an admin may change it", code="dataset_owner_required"
        )
    return dataset
