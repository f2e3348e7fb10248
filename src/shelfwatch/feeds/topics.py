"""Who may follow a dataset's `feed:<name>` topic: whoever may read the dataset."""

from __future__ import annotations

from shelfwatch.accounts.principal import Principal
from shelfwatch.feeds.models import Dataset, scope_for


def may_follow_feed(principal: Principal, name: str) -> bool:
    """True if the caller holds the dataset's read scope or owns the dataset."""
    if principal.allows(scope_for(name)):
        return True
    return Dataset.objects.filter(name=name, owner=principal.user).exists()
