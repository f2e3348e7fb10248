"""Prices as the server sets them: a store's selling price, a flash sale's price for held
units, and the store's tax rate and delivery fee. Whatever price a client sends is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from shelfwatch.compiled_reads import CompiledRead
from shelfwatch.errors import Invalid
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.shop.models import CartLine, Fulfilment, ReservationStatus, ShopSettings

CENT = Decimal("0.01")


class ProductNotSold(Invalid):
    code = "product_not_sold"


def money(value: Decimal) -> Decimal:
    """`value` rounded to whole cents, halves away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def shop_settings_for(store_id: int) -> ShopSettings:
    """The store's shop settings; the defaults (no tax, no fee, 10-minute holds) if unset."""
    found = ShopSettings.objects.filter(store_id=store_id).first()
    return found or ShopSettings(store_id=store_id)


def settings_of(store: Store) -> ShopSettings:
    """The store's shop settings, as `shop_settings_for` gives them, without a query when
    they were read along with the store (`select_related("store__shop_settings")`)."""
    try:
        return store.shop_settings
    except ShopSettings.DoesNotExist:
        return ShopSettings(store_id=store.pk)


def sellable_item(*, store_id: int, product_id: int, with_settings: bool = False) -> StockItem:
    """The stock item through which `store_id` sells `product_id` at a price (with its
    product, store and, `with_settings`, the store's shop settings in the same query).

    Raises ProductNotSold when the store does not stock it, has no price for it, or is
    closed.
    """
    if with_settings:
        # The add-to-cart path: its SQL is compiled once (see compiled_reads).
        found = _SELLABLE_WITH_SETTINGS.rows(store_id, product_id, params=(product_id, store_id))
        item = found[0] if found else None
    else:
        item = _sellable_items(store_id, product_id, with_settings=False).first()
    if item is None:
        raise not_sold(store_id=store_id, product_id=product_id)
    return item


def _sellable_items(store_id: int, product_id: int, *, with_settings: bool):
    related = ["product", "store"] + (["store__shop_settings"] if with_settings else [])
    return (
        StockItem.objects.select_related(*related)
        .filter(store_id=store_id, product_id=product_id, store__is_active=True)
        .exclude(selling_price__isnull=True)
        .order_by("pk")
    )


_SELLABLE_WITH_SETTINGS = CompiledRead(
    StockItem,
    lambda store_id, product_id: _sellable_items(store_id, product_id, with_settings=True)[:1],
)


def not_sold(*, store_id: int, product_id: int) -> ProductNotSold:
    """The problem of a product `store_id` does not sell (for the caller to raise)."""
    return ProductNotSold(
        "this store does not sell that product",
        extra={"store_id": store_id, "product_id": product_id},
    )


@dataclass
class Totals:
    """What an order of some lines costs, all in the store's currency."""

    subtotal: Decimal
    discount: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")
    delivery_fee: Decimal = Decimal("0")
    total: Decimal = Decimal("0")


def totals_for(
    *,
    line_amounts: list[Decimal],
    settings: ShopSettings,
    fulfilment: str = Fulfilment.PICKUP,
    discount: Decimal = Decimal("0"),
) -> Totals:
    """Subtotal, then the discount, then tax on what is left, then the delivery fee."""
    subtotal = money(sum(line_amounts, Decimal("0")))
    discount = min(money(discount), subtotal)
    taxable = subtotal - discount
    tax = money(taxable * settings.tax_rate_percent / Decimal("100"))
    fee = money(settings.delivery_fee) if fulfilment == Fulfilment.DELIVERY else Decimal("0.00")
    return Totals(
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        delivery_fee=fee,
        total=taxable + tax + fee,
    )


@dataclass(frozen=True)
class LinePrice:
    """How a cart line is priced now. `kind` is "sale" (units held at the sale price),
    "hold_expired" (its hold ran out: checkout refuses it until the line is updated) or
    "regular"; `unit_price` is None when the store no longer sells the product."""

    unit_price: Decimal | None
    flash_sale_id: int | None
    kind: str


def price_line(line: CartLine, *, regular_price: Decimal | None, now: datetime) -> LinePrice:
    """The one pricing rule of cart lines, for the cart and checkout alike: a live hold
    sells at its sale's price, anything else at the store's price."""
    reservation = line.reservation if line.reservation_id else None
    if reservation is None:
        return LinePrice(regular_price, None, "regular")
    if reservation.status == ReservationStatus.ACTIVE and reservation.expires_at > now:
        return LinePrice(reservation.sale.sale_price, reservation.sale_id, "sale")
    return LinePrice(regular_price, None, "hold_expired")
