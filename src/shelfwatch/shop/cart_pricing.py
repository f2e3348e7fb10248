"""Carts priced as checkout prices them: each line by `pricing.price_line` (held flash
units at the sale price), per store with its tax and fee. For the cart page, the API and
checkout; reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from shelfwatch.inventory.models import StockItem
from shelfwatch.shop.models import Cart, CartLine, Fulfilment, ShopSettings
from shelfwatch.shop.pricing import Totals, price_line, shop_settings_for, totals_for


@dataclass
class PricedLine:
    line: CartLine
    unit_price: Decimal
    available: bool  # False when the store stopped selling it
    reservation_expires_at: datetime | None
    reservation_live: bool
    kind: str = "regular"  # see pricing.LinePrice
    local_name: str | None = None  # the product's regional name, where a page asked for it
    item: StockItem | None = None  # the stock item it sells from, if the store keeps one
    flash_sale_id: int | None = None  # the sale whose price a live hold gets

    @property
    def amount(self) -> Decimal:
        """The line's price: unit price times quantity, not rounded."""
        return self.unit_price * self.line.quantity

    @property
    def sellable(self) -> bool:
        """Whether checkout may sell it: as `pricing.sellable_item` decides."""
        return (
            self.item is not None
            and self.item.selling_price is not None
            and self.line.store.is_active
        )


@dataclass
class StoreCart:
    store_id: int
    store_name: str
    currency: str
    lines: list[PricedLine]
    totals: Totals


def price_lines(
    lines: list[CartLine],
    *,
    now: datetime | None = None,
    items: dict[tuple[int, int], StockItem] | None = None,
) -> list[PricedLine]:
    """Each line priced by `pricing.price_line` (held flash units at the sale price), with
    the stock item it sells from; the lines need product, store and reservation__sale
    loaded. Unsold lines are priced 0 and marked unavailable. `items` are stock items by
    (store id, product id) the caller has already read: when they cover every line, no
    query is made."""
    now = now or timezone.now()
    items = dict(items or {})
    missing = [line for line in lines if (line.store_id, line.product_id) not in items]
    if missing:
        items.update(
            ((item.store_id, item.product_id), item)
            for item in StockItem.objects.select_related("product", "store").filter(
                store_id__in={line.store_id for line in missing},
                product_id__in={line.product_id for line in missing},
            )
        )
    priced = []
    for line in lines:
        item = items.get((line.store_id, line.product_id))
        price = price_line(
            line, regular_price=item.selling_price if item is not None else None, now=now
        )
        priced.append(
            PricedLine(
                line=line,
                unit_price=price.unit_price if price.unit_price is not None else Decimal("0"),
                available=price.unit_price is not None and line.store.is_active,
                reservation_expires_at=line.reservation.expires_at if line.reservation else None,
                reservation_live=price.kind == "sale",
                kind=price.kind,
                item=item,
                flash_sale_id=price.flash_sale_id,
            )
        )
    return priced


def store_cart_of(
    priced: list[PricedLine],
    *,
    settings: ShopSettings,
    fulfilment: str = Fulfilment.PICKUP,
    discount: Decimal = Decimal("0"),
) -> StoreCart:
    """One store's priced lines with its totals (the unavailable lines left out)."""
    store = priced[0].line.store
    totals = totals_for(
        line_amounts=[p.amount for p in priced if p.available],
        settings=settings,
        fulfilment=fulfilment,
        discount=discount,
    )
    return StoreCart(store.pk, store.name, store.currency, priced, totals)


def priced_cart(cart: Cart | None, *, fulfilment: str = Fulfilment.PICKUP) -> list[StoreCart]:
    """The cart per store, each line priced by `pricing.price_line` as checkout prices it
    (held flash units at the sale price), with the store's tax and fee. For the cart page
    and the API."""
    if cart is None:
        return []
    lines = list(cart.lines.select_related("product", "store", "reservation", "reservation__sale"))
    return _price_by_store(lines, now=timezone.now(), fulfilment=fulfilment)


def _price_by_store(
    lines: list[CartLine],
    *,
    now: datetime,
    fulfilment: str = Fulfilment.PICKUP,
    items: dict[tuple[int, int], StockItem] | None = None,
    settings: dict[int, ShopSettings] | None = None,
) -> list[StoreCart]:
    by_store: dict[int, list[PricedLine]] = {}
    for priced in price_lines(lines, now=now, items=items):
        by_store.setdefault(priced.line.store_id, []).append(priced)
    settings = settings or {}
    return [
        store_cart_of(
            priced,
            settings=settings.get(store_id) or shop_settings_for(store_id),
            fulfilment=fulfilment,
        )
        for store_id, priced in by_store.items()
    ]


def priced_cart_after_add(line: CartLine) -> list[StoreCart]:
    """The cart `add_to_cart` just added `line` to, priced as `priced_cart` prices it, from
    what the add read and wrote (a query only for other stores' or products' data)."""
    lines = getattr(line, "cart_lines", None)
    if lines is None:
        return priced_cart(line.cart)
    return _price_by_store(
        lines, items=line.known_items, settings=line.known_settings, now=timezone.now()
    )
