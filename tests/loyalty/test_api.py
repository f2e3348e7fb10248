"""`/api/v1/loyalty`: balances, history, quotes, program settings and adjustments."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shelfwatch.accounts.tokens import issue_access_token
from shelfwatch.loyalty.models import Entry, Program
from tests.conftest import Caller
from tests.loyalty.ledger_support import balance, order_event

pytestmark = pytest.mark.django_db

BASE = "/api/v1/loyalty"


@pytest.fixture
def me(client, customer):
    return Caller(client, {"Authorization": "Bearer " + issue_access_token(user=customer)[0]})


def deliver(customer, store, order_id, total):
    order_event(
        order_id=order_id, store_id=store.pk, user_id=customer.pk, status="delivered", total=total
    )


def problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_balances_are_per_store_and_only_the_callers(
    me, callers, customer, program, store_a, store_b
):
    Program.objects.create(store=store_b, point_value=Decimal("0.50"))
    deliver(customer, store_a, 1, "2500")
    deliver(customer, store_b, 2, "1000")
    deliver(callers["users"]["customer"], store_a, 3, "9900")  # someone else's points
    body = me.get(BASE).json()
    assert [(b["store_id"], b["points"], b["value"]) for b in body] == [
        (store_a.pk, 25, "25.00"),
        (store_b.pk, 10, "5.00"),
    ]
    assert all(b["program_enabled"] for b in body)


def test_history_pages_newest_first_and_never_shows_others(me, callers, customer, program, store_a):
    for order_id in range(1, 6):
        deliver(customer, store_a, order_id, f"{order_id}00")
    deliver(callers["users"]["customer"], store_a, 99, "500")
    first = me.get(f"{BASE}/history?limit=2").json()
    assert [e["order_id"] for e in first["items"]] == [5, 4]
    second = me.get(f"{BASE}/history?limit=2&cursor={first['next_cursor']}").json()
    third = me.get(f"{BASE}/history?limit=2&cursor={second['next_cursor']}").json()
    assert [e["order_id"] for e in second["items"] + third["items"]] == [3, 2, 1]
    assert third["next_cursor"] is None
    assert third["items"][-1]["balance_after"] == 1 and first["items"][0]["balance_after"] == 15
    problem(me.get(f"{BASE}/history?cursor=nonsense"), 400, "invalid_cursor")


def test_history_narrowed_to_a_store(me, customer, program, store_a, store_b):
    Program.objects.create(store=store_b)
    deliver(customer, store_a, 1, "100")
    deliver(customer, store_b, 2, "200")
    items = me.get(f"{BASE}/history?store_id={store_b.pk}").json()["items"]
    assert [(e["store_id"], e["points"]) for e in items] == [(store_b.pk, 2)]


def test_a_quote_answers_the_discount_or_a_stable_problem(me, customer, program, store_a, store_b):
    deliver(customer, store_a, 1, "5000")
    ok = me.post(f"{BASE}/quote", {"store_id": store_a.pk, "points": 40, "order_total": "200.00"})
    assert ok.status_code == 200
    assert ok.json() == {
        "store_id": store_a.pk,
        "points": 40,
        "discount": "40.00",
        "currency": "INR",
    }
    quote = lambda **body: me.post(  # noqa: E731
        f"{BASE}/quote", {"store_id": store_a.pk, "order_total": "200.00", **body}
    )
    problem(quote(points=41), 422, "points_over_cap")
    problem(quote(points=51, order_total="1000"), 409, "insufficient_points")
    problem(quote(points=0), 422, "validation_error")
    problem(quote(points=5, store_id=store_b.pk), 409, "loyalty_disabled")
    problem(quote(points=5, store_id=987654), 404, "store_not_found")
    assert not Entry.objects.filter(kind="redeem").exists()


def test_store_staff_read_the_program_and_owners_change_it(callers, program, store_a, store_b):
    staff_a, owner_b, admin = callers["staff_a"], callers["owner_b"], callers["admin"]
    url_a = f"{BASE}/stores/{store_a.pk}/program"
    url_b = f"{BASE}/stores/{store_b.pk}/program"
    read = staff_a.get(url_a).json()
    assert (read["earn_per_amount"], read["max_redeem_percent"]) == ("100.00", 20)
    settings = {
        "enabled": True,
        "earn_points": 2,
        "earn_per_amount": "50.00",
        "point_value": "0.50",
        "max_redeem_percent": 30,
        "expiry_months": 6,
    }
    # Store staff may read but not change; another store's owner cannot even see it.
    problem(staff_a.request("PUT", url_a, settings), 404, "store_not_found")
    problem(owner_b.get(url_a), 404, "store_not_found")
    problem(owner_b.request("PUT", url_a, settings), 404, "store_not_found")
    problem(callers["customer"].get(url_a), 403, "store_staff_required")
    # The owner of B sets B up (it had no program: defaults, disabled); admins change A.
    assert owner_b.get(url_b).json()["enabled"] is False
    assert owner_b.request("PUT", url_b, settings).json()["earn_points"] == 2
    assert Program.objects.get(store=store_b).point_value == Decimal("0.50")
    assert admin.request("PUT", url_a, {**settings, "enabled": False}).status_code == 200
    program.refresh_from_db()
    assert program.enabled is False and program.expiry_months == 6
    problem(
        admin.request("PUT", url_a, {**settings, "max_redeem_percent": 101}),
        422,
        "validation_error",
    )
    program.refresh_from_db()
    assert program.max_redeem_percent == 30


def test_admins_adjust_with_a_reason_and_cannot_overdraw(callers, customer, program, store_a):
    url = f"{BASE}/stores/{store_a.pk}/adjustments"
    admin = callers["admin"]
    made = admin.post(url, {"user_id": customer.pk, "points": 25, "reason": "missed order"})
    assert made.status_code == 201
    assert made.json()["balance"] == 25 and made.json()["entry"]["kind"] == "adjust"
    entry = Entry.objects.get(kind="adjust")
    assert entry.actor == callers["users"]["admin"] and entry.reason == "missed order"
    problem(
        admin.post(url, {"user_id": customer.pk, "points": -26, "reason": "x"}),
        409,
        "insufficient_points",
    )
    problem(
        admin.post(url, {"user_id": customer.pk, "points": 0, "reason": "x"}), 422, "invalid_points"
    )
    problem(admin.post(url, {"user_id": 987654, "points": 5, "reason": "x"}), 404, "user_not_found")
    problem(admin.post(url, {"user_id": customer.pk, "points": 5}), 422, "validation_error")
    body = {"user_id": customer.pk, "points": 5, "reason": "x"}
    problem(callers["staff_a"].post(url, body), 403, "admin_required")
    assert balance(customer, store_a) == 25
