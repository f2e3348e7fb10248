"""The checkout's side: quoting and redeeming points inside its own transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from shelfwatch.errors import DomainError
from shelfwatch.loyalty.ledger import adjust
from shelfwatch.loyalty.models import Entry
from shelfwatch.loyalty.redemption import quote_redemption, redeem_points
from tests.loyalty.ledger_support import balance, order_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def holder(program, store_a, customer):
    """The customer holding 100 points at store A from a delivered ₹10,000 order."""
    order_event(
        order_id=1, store_id=store_a.pk, user_id=customer.pk, status="delivered", total="10000"
    )
    return customer


def codes(call) -> str:
    with pytest.raises(DomainError) as raised:
        call()
    return raised.value.code


def test_a_quote_prices_points_and_writes_nothing(holder, store_a, program):
    program.point_value = Decimal("0.25")
    program.save()
    before = Entry.objects.count()
    discount = quote_redemption(user=holder, store=store_a, points=100, order_total=Decimal("500"))
    assert discount == Decimal("25.00")
    assert Entry.objects.count() == before


def test_redeeming_writes_one_entry_and_returns_the_discount(holder, store_a):
    with transaction.atomic():
        discount = redeem_points(
            user=holder, store=store_a, points=60, order_total=Decimal("300"), order_id=7
        )
    assert discount == Decimal("60.00")
    assert balance(holder, store_a) == 40
    entry = Entry.objects.get(order_id=7)
    assert (entry.kind, entry.points, entry.balance_after) == ("redeem", -60, 40)


@pytest.mark.parametrize(
    ("points", "total", "code"),
    [
        (101, "10000", "insufficient_points"),  # more than held
        (61, "300", "points_over_cap"),  # ₹61 is above 20% of ₹300
        (0, "300", "invalid_points"),
        (-5, "300", "invalid_points"),
        (10, "0", "invalid_order_total"),
    ],
)
def test_a_refused_redemption_changes_nothing(holder, store_a, points, total, code):
    before = list(Entry.objects.values_list("pk", "remaining"))
    redeem = lambda: redeem_points(  # noqa: E731
        user=holder, store=store_a, points=points, order_total=Decimal(total), order_id=8
    )
    quote = lambda: quote_redemption(  # noqa: E731
        user=holder, store=store_a, points=points, order_total=Decimal(total)
    )
    assert codes(redeem) == code
    assert codes(quote) == code
    assert list(Entry.objects.values_list("pk", "remaining")) == before


def test_over_the_cap_says_how_many_points_fit(holder, store_a):
    with pytest.raises(DomainError) as raised:
        quote_redemption(user=holder, store=store_a, points=80, order_total=Decimal("249.99"))
    assert raised.value.extra == {"max_points": 49, "max_discount": "49.99"}


def test_a_refusal_leaves_the_checkouts_transaction_usable(holder, store_a):
    with transaction.atomic():
        with pytest.raises(DomainError):
            redeem_points(
                user=holder, store=store_a, points=500, order_total=Decimal("99999"), order_id=9
            )
        redeem_points(user=holder, store=store_a, points=20, order_total=Decimal("200"), order_id=9)
    assert balance(holder, store_a) == 80


def test_a_checkout_that_rolls_back_takes_its_redemption_with_it(holder, store_a):
    with pytest.raises(RuntimeError), transaction.atomic():
        redeem_points(user=holder, store=store_a, points=50, order_total=Decimal("500"), order_id=3)
        raise RuntimeError("payment failed")
    assert balance(holder, store_a) == 100
    assert not Entry.objects.filter(order_id=3).exists()


def test_one_order_redeems_once(holder, store_a):
    redeem_points(user=holder, store=store_a, points=10, order_total=Decimal("500"), order_id=4)
    again = lambda: redeem_points(  # noqa: E731
        user=holder, store=store_a, points=10, order_total=Decimal("500"), order_id=4
    )
    assert codes(again) == "already_redeemed"
    assert balance(holder, store_a) == 90


def test_no_program_or_a_disabled_one_refuses(holder, store_a, store_b, program):
    call = lambda store: redeem_points(  # noqa: E731
        user=holder, store=store, points=1, order_total=Decimal("500"), order_id=5
    )
    assert codes(lambda: call(store_b)) == "loyalty_disabled"
    program.enabled = False
    program.save()
    assert codes(lambda: call(store_a)) == "loyalty_disabled"
    assert balance(holder, store_a) == 100


def test_redemptions_spend_the_oldest_lots_first(holder, store_a, make_user):
    admin = make_user("boss@example.com", admin=True)
    adjust(user=holder, store_id=store_a.pk, points=30, reason="birthday", actor=admin)
    redeem_points(user=holder, store=store_a, points=110, order_total=Decimal("600"), order_id=6)
    lots = list(
        Entry.objects.filter(points__gt=0).order_by("id").values_list("remaining", flat=True)
    )
    assert lots == [0, 20]  # the 100 from the order went first, then 10 of the 30
    assert balance(holder, store_a) == 20


def test_points_belong_to_the_store_that_gave_them(holder, store_a, store_b):
    from shelfwatch.loyalty.models import Program

    Program.objects.create(store=store_b)
    call = lambda: redeem_points(  # noqa: E731
        user=holder, store=store_b, points=1, order_total=Decimal("500"), order_id=10
    )
    assert codes(call) == "insufficient_points"
    assert balance(holder, store_b) == 0
