"""The rush path's reads whose SQL is compiled once answer for each call's own values:
the first call fixes the SQL text, later calls with other stores, products, customers and
times must still get their own rows (a parameter out of place would mix them up)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shelfwatch.compiled_reads import CompiledRead
from shelfwatch.inventory.models import StockItem
from shelfwatch.shop import flash_sales, pricing
from shelfwatch.shop.models import FlashSale, Reservation, ReservationStatus
from shelfwatch.shop.pricing import ProductNotSold, sellable_item

pytestmark = pytest.mark.django_db


def _sale(store, item, *, starts_in_minutes: int = -1, price: str = "1.00") -> FlashSale:
    now = timezone.now()
    return FlashSale.objects.create(
        store=store,
        product=item.product,
        title="Rush",
        sale_price=Decimal(price),
        quantity_allotted=5,
        per_customer_limit=2,
        starts_at=now + timedelta(minutes=starts_in_minutes),
        ends_at=now + timedelta(hours=1),
    )


def test_sellable_items_are_found_for_each_store_and_product_asked(shop_store, store_b, make_stock):
    bread = make_stock(shop_store, "Sourdough", quantity=5, price="120.00")
    tea = make_stock(store_b, "Masala tea", quantity=5, price="15.50")
    for _round in range(2):
        found = sellable_item(
            store_id=shop_store.pk, product_id=bread.product_id, with_settings=True
        )
        assert (found.pk, found.selling_price, found.store.name) == (
            bread.pk,
            Decimal("120.00"),
            shop_store.name,
        )
        assert found.store.shop_settings.tax_rate_percent == Decimal("5")
        found = sellable_item(store_id=store_b.pk, product_id=tea.product_id, with_settings=True)
        assert (found.pk, found.product.name) == (tea.pk, "Masala tea")
    assert pricing._SELLABLE_WITH_SETTINGS.compiled()  # the fast path was taken
    # Each store sells only its own product, and a closed store sells nothing.
    with pytest.raises(ProductNotSold):
        sellable_item(store_id=store_b.pk, product_id=bread.product_id, with_settings=True)
    store_b.is_active = False
    store_b.save()
    with pytest.raises(ProductNotSold):
        sellable_item(store_id=store_b.pk, product_id=tea.product_id, with_settings=True)


def test_the_running_sale_and_a_customers_dropped_hold_are_read_for_each_call(
    shop_store, store_b, make_stock, make_user
):
    bread = make_stock(shop_store, "Sourdough", quantity=5, price="120.00")
    tea = make_stock(store_b, "Masala tea", quantity=5, price="15.50")
    later = make_stock(store_b, "Later cake", quantity=5, price="9.00")
    on_bread, on_tea = _sale(shop_store, bread, price="2.00"), _sale(store_b, tea, price="3.00")
    _sale(store_b, later, starts_in_minutes=30)
    anna, ben = make_user("anna@example.com"), make_user("ben@example.com")
    expires = timezone.now() + timedelta(minutes=5)
    Reservation.objects.create(
        sale=on_tea, user=ben, quantity=1, status=ReservationStatus.RELEASED, expires_at=expires
    )
    for _round in range(2):
        found = flash_sales.active_sale(
            store_id=shop_store.pk, product_id=bread.product_id, for_user=anna
        )
        assert (found.pk, found.sale_price, found.dropped_hold_until) == (
            on_bread.pk,
            Decimal("2.00"),
            None,
        )
        found = flash_sales.active_sale(
            store_id=store_b.pk, product_id=tea.product_id, for_user=ben
        )
        assert (found.pk, found.dropped_hold_until) == (on_tea.pk, expires)
        found = flash_sales.active_sale(
            store_id=store_b.pk, product_id=tea.product_id, for_user=anna
        )
        assert (found.pk, found.dropped_hold_until) == (on_tea.pk, None)
        assert flash_sales._ACTIVE_FOR_USER.compiled()  # the fast path was taken
        # Not started yet, and a product of the other store: no sale.
        assert (
            flash_sales.active_sale(store_id=store_b.pk, product_id=later.product_id, for_user=anna)
            is None
        )
        assert (
            flash_sales.active_sale(store_id=store_b.pk, product_id=bread.product_id, for_user=anna)
            is None
        )


def test_a_read_whose_values_do_not_line_up_still_answers_through_the_orm(shop_store, make_stock):
    bread = make_stock(shop_store, "Sourdough", quantity=5, price="120.00")
    cake = make_stock(shop_store, "Cake", quantity=5, price="80.00")
    read = CompiledRead(
        StockItem, lambda product_id: StockItem.objects.filter(product_id=product_id)
    )
    # Given in the wrong form (text for a number): never compiled, still right every time.
    assert not read.compiled()
    assert [item.pk for item in read.rows(bread.product_id, params=(str(bread.product_id),))] == [
        bread.pk
    ]
    assert [item.pk for item in read.rows(cake.product_id, params=(str(cake.product_id),))] == [
        cake.pk
    ]
    assert not read.compiled()


def _state_of(instance, seen: tuple = ()) -> dict:
    """An instance as far as Django and callers can tell: its attributes, its state, and
    (recursively) the related instances select_related cached on it (a back reference to
    an instance already described is named by its class)."""
    state = instance._state
    seen = (*seen, id(instance))
    return {
        "class": type(instance),
        "attributes": {k: v for k, v in instance.__dict__.items() if k != "_state"},
        "adding": state.adding,
        "db": state.db,
        "related": {
            name: (None if obj is None else type(obj) if id(obj) in seen else _state_of(obj, seen))
            for name, obj in state.__dict__.get("fields_cache", {}).items()
        },
    }


def test_compiled_instances_are_the_ones_the_queryset_builds(shop_store, make_stock):
    bread = make_stock(shop_store, "Sourdough", quantity=5, price="120.00")
    for _round in range(2):
        (compiled,) = pricing._SELLABLE_WITH_SETTINGS.rows(
            shop_store.pk, bread.product_id, params=(bread.product_id, shop_store.pk)
        )
        (built,) = pricing._sellable_items(shop_store.pk, bread.product_id, with_settings=True)
        assert _state_of(compiled) == _state_of(built)
        assert _state_of(compiled)["related"]  # select_related rows were compared too
    assert pricing._SELLABLE_WITH_SETTINGS.compiled()


def test_a_model_with_init_receivers_is_built_through_its_init(shop_store, make_stock):
    from django.db.models.signals import post_init

    bread = make_stock(shop_store, "Sourdough", quantity=5, price="120.00")
    read = CompiledRead(StockItem, lambda pk: StockItem.objects.filter(pk=pk))
    read.rows(bread.pk, params=(bread.pk,))
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_init.connect(receiver, sender=StockItem)
    try:
        (item,) = read.rows(bread.pk, params=(bread.pk,))
    finally:
        post_init.disconnect(receiver, sender=StockItem)
    assert read.compiled() and seen == [bread.pk] and item.pk == bread.pk


def test_a_signed_in_rush_add_and_checkout_take_the_compiled_reads(sale, shoppers):
    from django.test import Client

    from shelfwatch.shop import carts, checkout_quote

    ((_user, headers),) = shoppers(1)
    client = Client(headers=headers)
    body = {
        "store_id": sale.store_id,
        "product_id": sale.product_id,
        "flash_sale_id": sale.pk,
        "quantity": 1,
    }
    added = client.post("/api/v1/cart/lines", body, content_type="application/json")
    assert added.status_code == 201, added.content
    assert added.json()["stores"][0]["lines"][0]["price_kind"] == "sale"
    paid = client.post(
        "/api/v1/checkout", {}, content_type="application/json", headers={"Idempotency-Key": "k1"}
    )
    assert paid.status_code == 201, paid.content
    assert paid.json()["lines"][0]["flash_sale_id"] == sale.pk
    for read in (carts._LOCKED_USER_CART, carts._LOCKED_LINES, checkout_quote._USER_LINES):
        assert read.compiled()
