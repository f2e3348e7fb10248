"""What checking out one store's cart lines costs now, read and priced as checkout does.

`quote` answers the checkout page; `checkout_lines` and `quote_lines` are the same reads
and pricing that placing the order (`order_placement`) runs inside its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import F, FilteredRelation, Q

from shelfwatch.compiled_reads import CompiledRead
from shelfwatch.errors import DomainError
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.loyalty.selectors import Balance, balances_for
from shelfwatch.shop.carts import CartOwner, StoreCart, lines_of, price_lines, store_cart_of
from shelfwatch.shop.models import CartLine, Fulfilment, ShopSettings
from shelfwatch.shop.pricing import Totals, settings_of


@dataclass(frozen=True)
class PointsQuote:
    """The shopper's points at the store (None for a visitor) and what the asked points
    would take off, or the problem redeeming them would raise."""

    balance: Balance | None = None
    discount: Decimal = Decimal("0")
    problem: DomainError | None = None


@dataclass(frozen=True)
class CheckoutQuote:
    """What checking out one store's cart lines costs now, priced as checkout prices them:
    `store_cart` has the lines and the totals before points, `totals` those after them."""

    store_cart: StoreCart
    settings: ShopSettings
    fulfilment: str
    points: PointsQuote = PointsQuote()

    @property
    def store(self) -> Store:
        """The store whose lines these are."""
        return self.store_cart.lines[0].line.store

    @property
    def totals(self) -> Totals:
        """The totals after the quoted points' discount (none when they were refused)."""
        return self.totals_with(self.points.discount if self.points.problem is None else 0)

    def totals_with(self, discount: Decimal | int) -> Totals:
        """The totals after a points discount of `discount`."""
        return store_cart_of(
            self.store_cart.lines,
            settings=self.settings,
            fulfilment=self.fulfilment,
            discount=Decimal(discount),
        ).totals


def quote(
    *, owner: CartOwner, store_id: int, fulfilment: str = Fulfilment.PICKUP, points: int = 0
) -> CheckoutQuote | None:
    """What checking out the owner's lines of `store_id` would cost now, with what `points`
    would take off (or why they cannot); None when the cart has nothing from that store."""
    lines = list(_cart_lines(owner).filter(store_id=store_id))
    if not lines:
        return None
    quoted = quote_lines(lines, settings=settings_of(lines[0].store), fulfilment=fulfilment)
    return replace(quoted, points=_points_quote(owner, quoted, points))


def _cart_lines(owner: CartOwner):
    """The owner's lines with all that checkout prices and takes them by, in one query:
    product, store and its shop settings, hold and sale, and the stock item as `item`."""
    return _with_pricing(lines_of(owner))


def checkout_lines(owner: CartOwner) -> list[CartLine]:
    """`_cart_lines(owner)` as a list; a signed-in owner's, on the rush path, through SQL
    compiled once (see compiled_reads)."""
    if owner.user is not None:
        return _USER_LINES.rows(owner.user.pk, params=(owner.user.pk,))
    return list(_cart_lines(owner))


def _with_pricing(lines):
    return (
        lines.annotate(
            item=FilteredRelation(
                "store__stock_items",
                condition=Q(store__stock_items__product=F("product")),
            )
        )
        .select_related(
            "product", "store", "store__shop_settings", "reservation", "reservation__sale", "item"
        )
        .order_by("id")
    )


_USER_LINES = CompiledRead(
    CartLine, lambda user_id: _with_pricing(CartLine.objects.filter(cart__user_id=user_id))
)


def _items_of(lines: list[CartLine]) -> dict[tuple[int, int], StockItem]:
    """The stock items `_cart_lines` read along, by (store id, product id)."""
    items = {}
    for line in lines:
        item = line.item
        if item is not None:
            item.store, item.product = line.store, line.product  # the same rows
            items[(line.store_id, line.product_id)] = item
    return items


def quote_lines(
    lines: list[CartLine], *, settings: ShopSettings, fulfilment: str, now=None
) -> CheckoutQuote:
    """Price lines read by `checkout_lines` (or `quote`) with their store's settings."""
    priced = price_lines(lines, now=now, items=_items_of(lines))
    store_cart = store_cart_of(priced, settings=settings, fulfilment=fulfilment)
    return CheckoutQuote(store_cart=store_cart, settings=settings, fulfilment=fulfilment)


def _points_quote(owner: CartOwner, quoted: CheckoutQuote, points: int) -> PointsQuote:
    if owner.user is None:
        return PointsQuote()
    from shelfwatch.loyalty.redemption import quote_redemption

    store = quoted.store
    balance = next((b for b in balances_for(owner.user) if b.store_id == store.pk), None)
    if not points:
        return PointsQuote(balance=balance)
    try:
        discount = quote_redemption(
            user=owner.user,
            store=store,
            points=points,
            order_total=quoted.store_cart.totals.subtotal,
        )
    except DomainError as exc:
        return PointsQuote(balance=balance, problem=exc)
    return PointsQuote(balance=balance, discount=discount)
