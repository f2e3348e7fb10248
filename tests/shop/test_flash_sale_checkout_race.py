"""Holders of a flash sale racing to check out when the store has fewer units in stock than
the sale holds: exactly the stock's units are sold, every refused checkout changes nothing
(its hold stays active and counted as held, ready for a later try), and the counters, the
ledger and the order lines agree afterwards."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

HOLDERS = 10
IN_STOCK = 4


def test_racing_holders_buy_exactly_the_stock_left_and_refused_holds_stay_active(
    shop_store, make_stock
):
    from shelfwatch.accounts.models import User
    from shelfwatch.inventory.models import StockMovement
    from shelfwatch.shop.carts import CartOwner, add_to_cart
    from shelfwatch.shop.checkout import CheckoutRequest, LinesShort, checkout
    from shelfwatch.shop.models import FlashSale, OrderLine, Reservation, ReservationStatus

    item = make_stock(shop_store, "Last trays", quantity=IN_STOCK, price="300.00")
    now = timezone.now()
    sale = FlashSale.objects.create(
        store=shop_store,
        product=item.product,
        sale_price=Decimal("100.00"),
        quantity_allotted=HOLDERS,
        per_customer_limit=1,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    holders = User.objects.bulk_create(
        [User(email=f"tray{n}@example.com", password="!") for n in range(HOLDERS)]
    )
    for user in holders:
        line = add_to_cart(
            owner=CartOwner(user=user),
            store_id=shop_store.pk,
            product_id=item.product_id,
            quantity=1,
        )
        assert line.reservation_id is not None

    start = threading.Barrier(HOLDERS)
    outcomes: dict[str, object] = {}

    def buy(user) -> None:
        try:
            start.wait(timeout=30)
            checkout(
                owner=CartOwner(user=user),
                idempotency_key="race",
                request=CheckoutRequest(store_id=shop_store.pk),
            )
            outcomes[user.email] = "paid"
        except BaseException as exc:
            outcomes[user.email] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(user,)) for user in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)

    paid = [email for email, outcome in outcomes.items() if outcome == "paid"]
    refused = [outcome for outcome in outcomes.values() if outcome != "paid"]
    assert len(paid) == IN_STOCK, outcomes
    assert all(isinstance(outcome, LinesShort) for outcome in refused), refused
    item.refresh_from_db()
    assert item.quantity == 0
    assert StockMovement.objects.filter(item=item, reason="sale").count() == IN_STOCK
    assert OrderLine.objects.filter(flash_sale=sale).count() == IN_STOCK
    sale.refresh_from_db()
    assert (sale.sold, sale.held) == (IN_STOCK, HOLDERS - IN_STOCK)
    holds = Reservation.objects.filter(sale=sale)
    assert set(
        holds.filter(status=ReservationStatus.CONVERTED).values_list("user__email", flat=True)
    ) == set(paid)
    assert holds.filter(status=ReservationStatus.ACTIVE, order__isnull=True).count() == (
        HOLDERS - IN_STOCK
    )
