"""Placing an order: one store's cart lines become an order, its rows and its stock moves,
inside the caller's transaction (see `checkout`, which owns the transaction, the key and
the payment).

Every line is priced by the server, every line's stock is taken through
`inventory.stock.move_stock_many` (reason `sale`), flash-sale holds are converted and
points are redeemed; if any line is short nothing is taken and the problem lists every
short line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connections, router
from django.utils import timezone

from shelfwatch.errors import Conflict, Invalid, NotSignedIn
from shelfwatch.events.publishing import NewEvent
from shelfwatch.inventory.models import MovementReason
from shelfwatch.inventory.stock import (
    InsufficientStock,
    LastWrite,
    PlannedMove,
    ShortAtCommit,
    move_stock_many,
)
from shelfwatch.shop import flash_sales, order_rows
from shelfwatch.shop.carts import CartOwner, PricedLine
from shelfwatch.shop.checkout_quote import CheckoutQuote, checkout_lines, quote_lines
from shelfwatch.shop.customer_details import clean_name, clean_phone
from shelfwatch.shop.models import Fulfilment, Order, OrderLine, Reservation
from shelfwatch.shop.order_payment import set_payment
from shelfwatch.shop.pricing import not_sold, settings_of
from shelfwatch.shop.sale_counters import held_to_sold_cte

if TYPE_CHECKING:
    from shelfwatch.shop.checkout import CheckoutRequest


class CartEmpty(Invalid):
    code = "cart_empty"


class StoreRequired(Invalid):
    code = "store_required"


class LinesShort(Conflict):
    code = "insufficient_stock"


class DeliveryNotOffered(Invalid):
    code = "delivery_not_offered"


def place_order(
    *,
    owner: CartOwner,
    key: str,
    digest: str,
    request: CheckoutRequest,
    provider,
    commit: bool,
) -> Order:
    """Write the order of the owner's lines of the requested store, claiming `key`, and take
    their stock, in the caller's transaction. Raises StoreRequired, CartEmpty,
    DeliveryNotOffered, ProductNotSold, ReservationExpired, LinesShort and the loyalty
    problems; with `commit`, ShortAtCommit when the stock statement sent with the COMMIT
    found a line short (nothing is written then)."""
    lines = checkout_lines(owner)
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
    quoted = quote_lines(lines, settings=settings, fulfilment=request.fulfilment, now=now)
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
