"""Checkout: one store's cart lines become an order in ONE transaction, then payment.

Inside the transaction: the Idempotency-Key is claimed, every line is priced by the
server, every line's stock is taken through `inventory.stock.move_stock` (reason `sale`),
flash-sale holds are converted and points are redeemed. If any line is short nothing is
taken and the problem lists every short line. An offline provider (`manual`) is asked
inside the transaction; any other runs after the commit (a provider call must never hold
database locks), and a failed or timed-out payment cancels the order, which gives
everything back.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone

from shelfwatch.compiled_reads import CompiledRead
from shelfwatch.errors import Conflict, DomainError, Invalid, Malformed, NotSignedIn
from shelfwatch.events.publishing import NewEvent
from shelfwatch.inventory.models import MovementReason, StockItem, Store
from shelfwatch.inventory.stock import (
    InsufficientStock,
    LastWrite,
    PlannedMove,
    ShortAtCommit,
    move_stock_many,
)
from shelfwatch.loyalty.selectors import Balance, balances_for
from shelfwatch.shop import flash_sales, order_rows
from shelfwatch.shop.carts import (
    CartOwner,
    PricedLine,
    StoreCart,
    lines_of,
    price_lines,
    store_cart_of,
)
from shelfwatch.shop.customer_details import clean_name, clean_phone
from shelfwatch.shop.models import (
    CartLine,
    Fulfilment,
    Order,
    OrderLine,
    Reservation,
    ShopSettings,
)
from shelfwatch.shop.order_payment import pay_order, set_payment
from shelfwatch.shop.payments import get_provider
from shelfwatch.shop.pricing import ProductNotSold, Totals, not_sold, settings_of
from shelfwatch.shop.sale_counters import held_to_sold_cte

logger = logging.getLogger("shelfwatch.shop")

MAX_KEY_LENGTH = 100


class IdempotencyKeyRequired(Malformed):
    code = "idempotency_key_required"


class IdempotencyKeyReused(Invalid):
    code = "idempotency_key_reused"


class CartEmpty(Invalid):
    code = "cart_empty"


class StoreRequired(Invalid):
    code = "store_required"


class LinesShort(Conflict):
    code = "insufficient_stock"


class DeliveryNotOffered(Invalid):
    code = "delivery_not_offered"


@dataclass(frozen=True)
class CheckoutRequest:
    """What the buyer asked for; its hash pins an Idempotency-Key to one request."""

    store_id: int | None = None
    fulfilment: str = Fulfilment.PICKUP
    payment_method: str = "manual"
    points: int = 0
    note: str = ""
    name: str = ""
    phone: str = ""

    def digest(self) -> str:
        """A SHA-256 of every field: the same request under the same key gives the same digest."""
        raw = json.dumps(self.__dict__, sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    created: bool  # False when the key had already placed this order


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
    quoted = _quote(lines, settings=settings_of(lines[0].store), fulfilment=fulfilment)
    return replace(quoted, points=_points_quote(owner, quoted, points))


def _cart_lines(owner: CartOwner):
    """The owner's lines with all that checkout prices and takes them by, in one query:
    product, store and its shop settings, hold and sale, and the stock item as `item`."""
    return _with_pricing(lines_of(owner))


def _checkout_lines(owner: CartOwner) -> list[CartLine]:
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


def _quote(
    lines: list[CartLine], *, settings: ShopSettings, fulfilment: str, now=None
) -> CheckoutQuote:
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


def checkout(*, owner: CartOwner, idempotency_key: str, request: CheckoutRequest) -> CheckoutResult:
    """Place the order for the owner's cart lines of one store, exactly once per key.

    The same key with the same request returns the order it placed; with a different
    request it raises IdempotencyKeyReused (422). Raises CartEmpty, StoreRequired,
    ProductNotSold, LinesShort (409, listing the short lines), ReservationExpired and
    the loyalty problems, changing nothing; PaymentFailed after cancelling the order.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyRequired(
            f"send an Idempotency-Key header of 1 to {MAX_KEY_LENGTH} characters"
        )
    if request.fulfilment not in Fulfilment.values:
        raise Invalid("fulfilment is pickup or delivery", code="invalid_fulfilment")
    provider = get_provider(request.payment_method)
    digest = request.digest()
    # No look-up first: claiming the key is part of writing the order, and a key already
    # used fails it (a repeat is the rare case, so it pays the extra query).
    try:
        try:
            with transaction.atomic():
                order = _place(owner, key, digest, request, provider, commit=True)
        except ShortAtCommit:
            # A line fell short in the statement sent with the COMMIT, which rolled it all
            # back without saying what was left: again the slow way, for the refusal that
            # lists the short lines (or the order, if stock came back meanwhile).
            with transaction.atomic():
                order = _place(owner, key, digest, request, provider, commit=False)
    except (IntegrityError, DomainError):
        # The key was used before (or a concurrent request with it committed first): answer
        # with its order. The key is claimed after the cart is read, so a repeat finds its
        # cart empty: that refusal, too, looks for the order first.
        previous = _previous(owner, key, digest)
        if previous is None:
            raise
        return CheckoutResult(previous, created=False)
    if not getattr(provider, "offline", False):
        pay_order(order, provider, key)
        order.refresh_from_db()
    return CheckoutResult(order, created=True)


def _previous(owner: CartOwner, key: str, digest: str) -> Order | None:
    order = (
        Order.objects.select_related("store")
        .filter(checkout_owner=owner.key, checkout_key=key)
        .first()
    )
    if order is None:
        return None
    if order.checkout_request_hash != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different checkout request")
    return order


def _place(
    owner: CartOwner,
    key: str,
    digest: str,
    request: CheckoutRequest,
    provider,
    *,
    commit: bool,
) -> Order:
    lines = _checkout_lines(owner)
    store_ids = {line.store_id for line in lines}
    store_id = request.store_id
    if store_id is None:
        if len(store_ids) > 1:
            raise StoreRequired(
                "the cart holds several stores' products; name the store_id to check out",
                extra={"store_ids": sorted(store_ids)},
            )
        store_id = next(iter(store_ids), None)
    lines = [line for line in lines if line.store_id == store_id]
    if not lines:
        raise CartEmpty("the cart has nothing from that store")
    settings = settings_of(lines[0].store)
    if request.fulfilment == Fulfilment.DELIVERY and not settings.offers_delivery:
        raise DeliveryNotOffered("this store offers pickup only")

    now = timezone.now()
    quoted = _quote(lines, settings=settings, fulfilment=request.fulfilment, now=now)
    priced = quoted.store_cart.lines
    unsold = next((p for p in priced if not p.sellable), None)
    if unsold is not None:
        raise not_sold(store_id=store_id, product_id=unsold.line.product_id)
    expired = [
        {"line_id": p.line.pk, "product_id": p.line.product_id, "product": p.line.product.name}
        for p in priced
        if p.kind == "hold_expired"
    ]
    if expired:
        # The buyer chose the sale price; charging more without asking is not an option.
        raise flash_sales.ReservationExpired(
            "the flash-sale hold of a line ran out; update the line to hold it again "
            "(or to buy it at the regular price once the sale is over)",
            extra={"lines": expired},
        )
    totals = quoted.store_cart.totals
    store = quoted.store
    phone = clean_phone(request.phone, region=store.region)
    order = Order(
        store=store,
        user=owner.user,
        session_key="" if owner.user else (owner.session_key or ""),
        fulfilment=request.fulfilment,
        currency=store.currency,
        subtotal=totals.subtotal,
        tax=totals.tax,
        delivery_fee=totals.delivery_fee,
        total=totals.total,
        note=request.note[:500],
        customer_name=clean_name(request.name),
        customer_phone=phone,
        payment_provider=request.payment_method,
        checkout_owner=owner.key,
        checkout_key=key,
        checkout_request_hash=digest,
        created_at=now,
    )
    if getattr(provider, "offline", False):
        # Nothing to call: the payment terms are written with the order itself. Offline
        # providers are asked before the order has an id (see payments.base).
        set_payment(order, provider.charge(order=order, idempotency_key=key))
    # Inserting the order claims the key: of two requests with it, the second waits there
    # for the first to commit and then fails, before it has taken any stock. On
    # PostgreSQL the insert rides in the statement of the order's own rows, unless points
    # are redeemed, which need the order's id first.
    if request.points or not order_rows.one_statement_applies():
        order.save(force_insert=True)
    order_lines = [
        OrderLine(
            order=order,
            stock_item=p.item,
            product=p.line.product,
            product_name=p.line.product.name[:300],
            quantity=p.line.quantity,
            unit_price=p.unit_price,
            line_total=p.amount,
            flash_sale_id=p.flash_sale_id,
        )
        for p in priced
    ]
    held = [p.line.reservation for p in priced if p.flash_sale_id is not None]
    if request.points:
        _redeem(order, owner, request.points, quoted)
    # The customer's own rows, holds claimed included, before any hot row is touched.
    placed = order_rows.write_placed_rows(
        order=order,
        lines=order_lines,
        actor=owner.user,
        cart_line_ids=[p.line.pk for p in priced],
        holds=held,
        now=now,
    )
    order._prefetched_objects_cache = {
        **getattr(order, "_prefetched_objects_cache", {}),
        "lines": order_lines,  # for the answer: no re-read
    }
    # The hot rows last (stock items, then the sale rows), so their locks are held only
    # until the commit: under a rush every other checkout of the product queues on the
    # stock row for as long as this transaction holds it. The order's event is written
    # with the stock moves' in one batch, the held units of one sale become sold in the
    # same statement, and that statement goes with the COMMIT (see db_commit).
    _take_stock(order, priced, actor=owner.user, events=[placed], held=held, commit=commit)
    return order


def _take_stock(
    order: Order,
    priced: list[PricedLine],
    *,
    actor,
    events: list[NewEvent],
    held: list[Reservation],
    commit: bool,
) -> None:
    """Take every line's units, or none, and count the `held` units as sold: every short
    line is listed in the refusal (the checkout's transaction is then rolled back, so the
    batch needs no savepoint). With `commit` the moves' statement may end the transaction
    (ShortAtCommit when a line is short then)."""

    def count_sold() -> None:
        for reservation in held:
            flash_sales.count_sold(reservation=reservation)

    last = None
    sales = {reservation.sale_id for reservation in held}
    if len(sales) > 1:
        commit = False  # several sale rows: written one by one after the moves
    elif sales:
        sale_id = sales.pop()
        connection = connections[router.db_for_write(Order) or "default"]
        ctes, params = held_to_sold_cte(connection, sale_id, sum(r.quantity for r in held))
        last = LastWrite(ctes=ctes, params=params, fallback=count_sold)
    try:
        move_stock_many(
            moves=[PlannedMove(item=p.item, delta=-p.line.quantity) for p in priced],
            reason=MovementReason.SALE,
            reference=f"order {order.pk}",
            actor=actor,
            events=events,
            savepoint=False,
            last=last,
            commit=commit,
        )
    except ShortAtCommit:
        raise
    except InsufficientStock as exc:
        by_item = {entry["item_id"]: entry for entry in exc.extra.get("short", [exc.extra])}
        short = [
            {
                "line_id": p.line.pk,
                "product_id": p.line.product_id,
                "product": p.line.product.name,
                "requested": p.line.quantity,
                "available": by_item[p.item.pk].get("available"),
            }
            for p in priced
            if p.item.pk in by_item
        ]
        raise LinesShort(
            f"{len(short)} line(s) exceed the stock left; nothing was taken",
            extra={"lines": short},
        ) from exc
    if last is None:
        count_sold()


def _redeem(order: Order, owner: CartOwner, points: int, quoted: CheckoutQuote) -> None:
    if owner.user is None:
        raise NotSignedIn("sign in to redeem points", code="sign_in_required")
    from shelfwatch.loyalty.redemption import redeem_points

    discount = redeem_points(
        user=owner.user,
        store=order.store,
        points=points,
        order_total=order.subtotal,
        order_id=order.pk,
    )
    totals = quoted.totals_with(discount)
    order.discount, order.points_redeemed = totals.discount, points
    order.tax, order.total = totals.tax, totals.total
    order.save(update_fields=["discount", "points_redeemed", "tax", "total"])


__all__ = [
    "CheckoutQuote",
    "CheckoutRequest",
    "CheckoutResult",
    "PointsQuote",
    "ProductNotSold",
    "checkout",
    "quote",
]
