"""The per-process user cache behind authentication: fast, and never stale in its own process."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shelfwatch.accounts import user_cache
from shelfwatch.accounts.models import StoreMembership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache(settings):
    settings.AUTH_CACHE_SECONDS = 60
    user_cache.forget()
    yield
    user_cache.forget()


def test_a_cached_user_costs_no_queries(make_user):
    user = make_user("cached@example.com")
    assert user_cache.active_user(user.pk).user.email == "cached@example.com"
    with CaptureQueriesContext(connection) as queries:
        again = user_cache.active_user(user.pk)
    assert len(queries) == 0
    assert again.user.pk == user.pk


def test_each_caller_gets_its_own_copy(make_user):
    user = make_user("copy@example.com")
    first = user_cache.active_user(user.pk)
    first.user.name = "changed by one request"
    assert user_cache.active_user(user.pk).user.name == ""


def test_saving_a_user_or_membership_drops_the_entry(make_user, store_a):
    user = make_user("member@example.com")
    assert user_cache.active_user(user.pk).memberships == ()
    StoreMembership.objects.create(user=user, store=store_a, role="owner")
    assert [m.store_id for m in user_cache.active_user(user.pk).memberships] == [store_a.pk]
    user.is_active = False
    user.save()
    assert user_cache.active_user(user.pk) is None


def test_deactivating_a_store_hides_its_membership(make_user, store_a):
    user = make_user("member@example.com")
    StoreMembership.objects.create(user=user, store=store_a, role="staff")
    assert len(user_cache.active_user(user.pk).memberships) == 1
    store_a.is_active = False
    store_a.save()
    assert user_cache.active_user(user.pk).memberships == ()


def test_zero_seconds_turns_the_cache_off(make_user, settings):
    settings.AUTH_CACHE_SECONDS = 0
    user = make_user("uncached@example.com")
    user_cache.active_user(user.pk)
    with CaptureQueriesContext(connection) as queries:
        user_cache.active_user(user.pk)
    assert len(queries) == 2


def test_a_load_reads_memberships_by_store_name_through_compiled_sql(make_user, store_a, store_b):
    user = make_user("two-stores@example.com")
    StoreMembership.objects.create(user=user, store=store_b, role="staff")
    StoreMembership.objects.create(user=user, store=store_a, role="owner")
    loaded = user_cache.active_user(user.pk)
    names = sorted([(store_a.name, store_a.pk, "owner"), (store_b.name, store_b.pk, "staff")])
    assert [(m.store_name, m.store_id, m.role) for m in loaded.memberships] == names
    assert loaded.user.email == "two-stores@example.com"
    assert user_cache._ACTIVE_USER.compiled() and user_cache._MEMBERSHIPS.compiled()
    user_cache.forget()
    other = make_user("other@example.com")
    assert user_cache.active_user(other.pk).memberships == ()
    assert user_cache.active_user(other.pk).user.email == "other@example.com"
