"""A sold-out flash sale sells at the regular price to everyone, even while the holders of
its last units are checking out: the shopper who adds the product at that moment gets the
regular price, never 409 `flash_sale_sold_out`."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = 12  # one per holder; the sale is full before the race starts
LATECOMERS = 12
ROUNDS = 3


def _full_sale(store, make_stock, round_number: int):
    """A running sale whose every unit is held, one each, by UNITS customers."""
    from shelfwatch.accounts.models import User
    from shelfwatch.shop.carts import CartOwner, add_to_cart
    from shelfwatch.shop.models import FlashSale

    item = make_stock(store, f"Festival box {round_number}", quantity=1000, price="500.00")
    now = timezone.now()
    sale = FlashSale.objects.create(
        store=store,
        product=item.product,
        sale_price=Decimal("99.00"),
        quantity_allotted=UNITS,
        per_customer_limit=1,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    holders = User.objects.bulk_create(
        [User(email=f"holder{round_number}-{n}@example.com", password="!") for n in range(UNITS)]
    )
    latecomers = User.objects.bulk_create(
        [User(email=f"late{round_number}-{n}@example.com", password="!") for n in range(LATECOMERS)]
    )
    for user in holders:
        line = add_to_cart(
            owner=CartOwner(user=user), store_id=store.pk, product_id=item.product_id, quantity=1
        )
        assert line.reservation_id is not None
    return item, sale, holders, latecomers


def _race(store, item, holders, latecomers, key: str) -> dict[str, object]:
    """The holders check out while the latecomers add the product, all released at once
    by a barrier; each one's outcome by email."""
    from shelfwatch.shop.carts import CartOwner, add_to_cart
    from shelfwatch.shop.checkout import CheckoutRequest, checkout

    start = threading.Barrier(len(holders) + len(latecomers))
    outcomes: dict[str, object] = {}

    def buy(user) -> None:
        try:
            start.wait(timeout=30)
            checkout(
                owner=CartOwner(user=user),
                idempotency_key=key,
                request=CheckoutRequest(store_id=store.pk),
            )
            outcomes[user.email] = "paid"
        except BaseException as exc:
            outcomes[user.email] = exc
        finally:
            connections.close_all()

    def add(user) -> None:
        try:
            start.wait(timeout=30)
            line = add_to_cart(
                owner=CartOwner(user=user),
                store_id=store.pk,
                product_id=item.product_id,
                quantity=1,
            )
            outcomes[user.email] = (line.unit_price, line.price_note)
        except BaseException as exc:
            outcomes[user.email] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(user,)) for user in holders]
    threads += [threading.Thread(target=add, args=(user,)) for user in latecomers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_latecomers_pay_the_regular_price_while_the_last_holds_are_checked_out(
    shop_store, make_stock
):
    from shelfwatch.shop.flash_sales import FlashSaleSoldOut
    from shelfwatch.shop.models import FlashSale

    for round_number in range(ROUNDS):
        item, sale, holders, latecomers = _full_sale(shop_store, make_stock, round_number)
        outcomes = _race(shop_store, item, holders, latecomers, key=f"round-{round_number}")

        for user in holders:
            assert outcomes[user.email] == "paid", outcomes[user.email]
        refused = {
            user.email: outcomes[user.email]
            for user in latecomers
            if isinstance(outcomes[user.email], FlashSaleSoldOut)
        }
        assert not refused, refused
        for user in latecomers:
            assert outcomes[user.email] == (Decimal("500.00"), "sale_sold_out")
        sale = FlashSale.objects.get(pk=sale.pk)
        assert (sale.sold, sale.held) == (UNITS, 0)
