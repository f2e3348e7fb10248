"""Store-scoped querysets: a member reaches only their stores, an admin reaches all."""

from __future__ import annotations

import pytest

from shelfwatch.accounts.permissions import require_admin
from shelfwatch.accounts.principal import Principal
from shelfwatch.accounts.user_cache import active_user
from shelfwatch.errors import DomainError
from shelfwatch.http.problems import status_of
from shelfwatch.inventory.selectors import get_store_for, stores_for

pytestmark = pytest.mark.django_db


def principal(user) -> Principal:
    return Principal.of(active_user(user.pk), "jwt")


def test_staff_reach_their_store_only(callers, store_a, store_b):
    staff = principal(callers["users"]["staff_a"])
    assert list(stores_for(staff)) == [store_a]
    assert get_store_for(staff, store_a.pk) == store_a
    with pytest.raises(DomainError) as refused:
        get_store_for(staff, store_b.pk)
    # Not found rather than forbidden: another tenant's ids are not confirmed to exist.
    assert status_of(refused.value) == 404


def test_roles_narrow_the_stores(callers, store_b):
    owner = principal(callers["users"]["owner_b"])
    assert list(stores_for(owner, roles=("owner",))) == [store_b]
    staff = principal(callers["users"]["staff_a"])
    assert list(stores_for(staff, roles=("owner",))) == []


def test_admins_reach_every_store_and_customers_none(callers, store_a, store_b):
    admin = principal(callers["users"]["admin"])
    assert set(stores_for(admin)) == {store_a, store_b}
    customer = principal(callers["users"]["customer"])
    assert list(stores_for(customer)) == []
    assert list(stores_for(None)) == []
    with pytest.raises(DomainError) as refused:
        require_admin(customer)
    assert refused.value.code == "admin_required"


def test_inactive_stores_are_out_of_reach(callers, store_a):
    store_a.is_active = False
    store_a.save()
    staff = principal(callers["users"]["staff_a"])
    assert list(stores_for(staff)) == []
