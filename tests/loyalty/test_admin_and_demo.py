"""The admin pages for loyalty, and the demo data's program and points."""

from __future__ import annotations

import pytest

from shelfwatch.accounts.models import User
from shelfwatch.loyalty.ledger import adjust
from shelfwatch.loyalty.models import Entry, Program
from tests.loyalty.ledger_support import balance

pytestmark = pytest.mark.django_db


def test_the_admin_shows_balances_and_keeps_the_ledger_read_only(
    client, make_user, customer, program, store_a
):
    admin = make_user("root@example.com", admin=True)
    adjust(user=customer, store_id=store_a.pk, points=42, reason="welcome", actor=admin)
    client.force_login(admin)
    accounts = client.get("/admin/loyalty/account/")
    assert accounts.status_code == 200
    assert b"loyal@example.com" in accounts.content and b">42<" in accounts.content
    entry = Entry.objects.get()
    page = client.get(f"/admin/loyalty/entry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="points"' not in page.content
    assert client.get("/admin/loyalty/entry/add/").status_code == 403
    assert client.get(f"/admin/loyalty/program/{program.pk}/change/").status_code == 200


def test_the_demo_bakery_runs_a_program_and_the_demo_customer_has_points():
    from shelfwatch.ops.demo import load_demo_data

    load_demo_data()
    load_demo_data()  # a second load changes nothing
    ava = User.objects.get(email="ava.chen@shelfwatch.local")
    program = Program.objects.select_related("store").get()
    assert program.store.slug == "maple-street-bakery" and program.enabled
    assert balance(ava, program.store) == 120
