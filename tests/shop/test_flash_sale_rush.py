"""A rush on a flash sale through the HTTP API of real web processes: 500 attempts by 125
customers at 50 units, two per customer. Exactly 50 are sold at the sale price, nobody gets
more than two of them, later buyers pay the regular price, and stock never goes below
zero."""

from __future__ import annotations

import contextlib
import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.db.models import Sum
from django.utils import timezone

from tests.processes import web_server

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]

UNITS = 50
LIMIT = 2
CUSTOMERS = 125
ATTEMPTS = 500
CONCURRENCY = 48


def _setup():
    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.tokens import issue_access_token
    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem, Store
    from shelfwatch.shop.models import FlashSale, ShopSettings

    store = Store.objects.create(name="Rush Bakery", slug="rush-bakery")
    ShopSettings.objects.create(store=store, tax_rate_percent=Decimal("5"))
    product = Product.objects.create(name="Festival box", status="verified")
    item = StockItem.objects.create(
        store=store, product=product, quantity=1000, selling_price=Decimal("500.00")
    )
    now = timezone.now()
    sale = FlashSale.objects.create(
        store=store,
        product=product,
        sale_price=Decimal("99.00"),
        quantity_allotted=UNITS,
        per_customer_limit=LIMIT,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    users = User.objects.bulk_create(
        [User(email=f"rush{n}@example.com", password="!") for n in range(CUSTOMERS)]
    )
    tokens = {user.pk: issue_access_token(user=user)[0] for user in users}
    return item, sale, tokens


def _attempt(base: str, target: dict, token: str, quantity: int, key: str) -> tuple[int, int]:
    """One customer's try: put units in the cart, then check out."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        added = client.post("/api/v1/cart/lines", json={**target, "quantity": quantity})
        paid = client.post("/api/v1/checkout", json={}, headers={"Idempotency-Key": key})
    return added.status_code, paid.status_code


def test_no_overselling_and_no_customer_over_the_limit(subprocess_env, tmp_path):
    from shelfwatch.inventory.models import StockItem, StockMovement
    from shelfwatch.shop.models import FlashSale, OrderLine

    item, sale, tokens = _setup()
    target = {"store_id": item.store_id, "product_id": item.product_id}
    env = {**subprocess_env, "THROTTLE_ENABLED": "0"}
    users = itertools.cycle(tokens.items())
    plan = [
        (user_id, token, 1 + n % 2, f"rush-{n}")
        for n, (user_id, token) in zip(range(ATTEMPTS), users, strict=False)
    ]
    with contextlib.ExitStack() as stack:
        bases = [stack.enter_context(web_server(env, tmp_path / f"web{i}.log")) for i in (1, 2)]
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            outcomes = list(
                pool.map(lambda step: _attempt(bases[step[0] % 2], target, *step[1:]), plan)
            )
        # Holds taken after their owner's checkout ran are bought by one more checkout each.
        for user_id, token in tokens.items():
            httpx.post(
                bases[0] + "/api/v1/checkout",
                json={},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"last-{user_id}"},
                timeout=60,
            )

    statuses = {status for pair in outcomes for status in pair}
    assert statuses <= {201, 409, 422}, statuses  # created, refused, nothing left to buy
    added = sum(1 for a, _ in outcomes if a == 201)
    assert added >= UNITS // LIMIT
    sale = FlashSale.objects.get(pk=sale.pk)
    assert (sale.sold, sale.held) == (UNITS, 0)
    sold_lines = OrderLine.objects.filter(flash_sale=sale)
    assert sold_lines.aggregate(total=Sum("quantity"))["total"] == UNITS
    per_customer = sold_lines.values("order__user").annotate(units=Sum("quantity"))
    assert max(row["units"] for row in per_customer) <= LIMIT
    # Once the sale's units were gone, the rest sold at the regular price from stock.
    regular = OrderLine.objects.filter(stock_item=item, flash_sale__isnull=True)
    assert set(regular.values_list("unit_price", flat=True)) <= {Decimal("500.00")}
    taken = UNITS + (regular.aggregate(total=Sum("quantity"))["total"] or 0)
    item.refresh_from_db()
    assert item.quantity == 1000 - taken
    ledger = StockMovement.objects.filter(item=item).aggregate(total=Sum("delta"))["total"]
    assert ledger == -taken
    assert not StockItem.objects.filter(quantity__lt=0).exists()
