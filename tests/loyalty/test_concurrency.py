"""Under real concurrency (threads, each with its own connection, on a database that
commits) the balance never goes below zero and always equals the sum of the ledger."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from shelfwatch.loyalty.errors import InsufficientPoints
from shelfwatch.loyalty.expiry import expire_account
from shelfwatch.loyalty.ledger import adjust, lock_account
from shelfwatch.loyalty.models import Account, Entry, Program
from shelfwatch.loyalty.orders import earn_for_order, settle_cancelled_order
from shelfwatch.loyalty.redemption import redeem_points


@pytest.fixture
def setup(transactional_db, store_a, make_user):
    Program.objects.create(store=store_a, max_redeem_percent=100, point_value=Decimal("1"))
    return make_user("racer@example.com"), make_user("root@example.com", admin=True)


def run_together(jobs) -> None:
    start = threading.Barrier(len(jobs))

    def run(job) -> None:
        start.wait()
        try:
            job()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(jobs)) as pool:
        for future in [pool.submit(run, job) for job in jobs]:
            future.result()


def assert_ledger_consistent(account: Account) -> int:
    """Each entry's running balance is the sum of the ledger up to it, never negative, and
    the open lots hold exactly the balance."""
    running = 0
    for points, balance_after in (
        Entry.objects.filter(account=account).order_by("id").values_list("points", "balance_after")
    ):
        running += points
        assert balance_after == running >= 0
    left = Entry.objects.filter(account=account).aggregate(left=Sum("remaining"))["left"] or 0
    assert left == running
    return running


def test_concurrent_redemptions_never_overdraw(setup, store_a):
    customer, admin = setup
    adjust(user=customer, store_id=store_a.pk, points=50, reason="seed", actor=admin)
    won = []

    def redeemer(worker: int):
        def job():
            for n in range(20):
                try:
                    redeem_points(
                        user=customer,
                        store=store_a,
                        points=1,
                        order_total=Decimal("10"),
                        order_id=worker * 1000 + n,
                    )
                    won.append(1)
                except InsufficientPoints:
                    pass

        return job

    run_together([redeemer(w) for w in range(1, 7)])
    assert len(won) == 50
    account = Account.objects.get(user=customer, store=store_a)
    assert assert_ledger_consistent(account) == 0


def test_mixed_operations_keep_the_balance_equal_to_the_ledger(setup, store_a):
    customer, admin = setup
    orders = range(500, 512)  # earned by two racing consumers, then cancelled

    def earner():
        for order_id in orders:
            earn_for_order(
                user_id=customer.pk, store_id=store_a.pk, order_id=order_id, total=Decimal("1000")
            )

    def redeemer(base: int):
        def job():
            for n in range(12):
                with contextlib.suppress(InsufficientPoints):
                    redeem_points(
                        user=customer,
                        store=store_a,
                        points=7,
                        order_total=Decimal("100"),
                        order_id=base + n,
                    )

        return job

    def canceller():
        for order_id in [*orders, *range(2000, 2012, 2)]:
            settle_cancelled_order(order_id=order_id)

    def adjuster():
        for _ in range(10):
            with contextlib.suppress(InsufficientPoints):
                adjust(user=customer, store_id=store_a.pk, points=-3, reason="fix", actor=admin)
            adjust(user=customer, store_id=store_a.pk, points=4, reason="bonus", actor=admin)

    def expirer():
        for _ in range(6):
            expire_account(user_id=customer.pk, store_id=store_a.pk, cutoff=timezone.now())

    with transaction.atomic():  # the account exists before the race, as after any first order
        lock_account(user_id=customer.pk, store_id=store_a.pk)
    run_together(
        [earner, earner, redeemer(2000), redeemer(3000), canceller, adjuster, expirer, expirer]
    )
    account = Account.objects.get(user=customer, store=store_a)
    final = assert_ledger_consistent(account)
    per_order = (
        Entry.objects.filter(order_id__isnull=False)
        .values("order_id", "kind")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not per_order.exists(), "an order earned, redeemed or was settled twice"
    assert Entry.objects.filter(kind="earn").count() <= len(orders)
    assert Entry.objects.filter(lot__isnull=False).values("lot").distinct().count() == (
        Entry.objects.filter(kind="expire").count()
    )
    total = Entry.objects.filter(account=account).aggregate(total=Sum("points"))["total"]
    assert final == total
