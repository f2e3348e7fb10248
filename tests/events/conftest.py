"""Fixtures for the events tests: callers of every role, and a task backend that records."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shelfwatch.accounts.models import StoreMembership, User
from shelfwatch.accounts.tokens import issue_access_token
from shelfwatch.inventory.models import Store


@pytest.fixture
def recorded_tasks(settings):
    """Swap the task backend for one that records enqueues instead of running them."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import task_backends

    backend = task_backends["default"]
    backend.clear()
    yield backend
    backend.clear()


@dataclass
class Caller:
    user: User | None
    token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class Cast:
    store: Store
    other_store: Store
    anonymous: Caller
    customer: Caller
    staff: Caller
    admin: Caller


def _caller(user: User) -> Caller:
    token, _expires = issue_access_token(user=user)
    return Caller(user=user, token=token)


@pytest.fixture
def cast(db) -> Cast:
    """A store with a staff member, a customer, a platform admin, and a second store."""
    store = Store.objects.create(name="Corner Bakery", slug="corner-bakery")
    other = Store.objects.create(name="Other Bakery", slug="other-bakery")
    # No passwords: nobody logs in with one here, and hashing them dominates test time.
    customer = User.objects.create_user("customer@example.com", None)
    staff = User.objects.create_user("staff@example.com", None)
    StoreMembership.objects.create(user=staff, store=store, role="staff")
    admin = User.objects.create_superuser("admin@example.com", None)
    return Cast(
        store=store,
        other_store=other,
        anonymous=Caller(user=None, token=None),
        customer=_caller(customer),
        staff=_caller(staff),
        admin=_caller(admin),
    )
