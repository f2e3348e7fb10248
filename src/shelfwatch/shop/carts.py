"""Carts of signed-in customers and of anonymous visitors (by Django session).

A visitor's cart joins the customer's cart at sign-in (`merge_carts`, called from the
`user_logged_in` signal and by the API when a request carries both). Flash-sale units need
a signed-in customer, because the per-customer limit needs someone to count against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from shelfwatch.accounts.models import User
from shelfwatch.compiled_reads import CompiledRead
from shelfwatch.errors import Invalid, Malformed, NotFound, NotSignedIn
from shelfwatch.inventory.models import StockItem
from shelfwatch.shop import flash_sales, hold_rows
from shelfwatch.shop.cart_pricing import (  # noqa: F401 (where callers find them)
    PricedLine,
    StoreCart,
    price_lines,
    priced_cart,
    priced_cart_after_add,
    store_cart_of,
)
from shelfwatch.shop.models import (
    Cart,
    CartLine,
    Reservation,
    ReservationStatus,
    ShopSettings,
)
from shelfwatch.shop.pricing import sellable_item, settings_of
from shelfwatch.shop.selectors.sale_units import units_left_now

MAX_LINE_QUANTITY = 999


class InvalidQuantity(Invalid):
    code = "invalid_quantity"


class SignInRequired(NotSignedIn):
    code = "sign_in_required"


@dataclass(frozen=True)
class CartOwner:
    """Whose cart: a signed-in user, or the visitor holding a session key."""

    user: User | None = None
    session_key: str | None = None

    @property
    def key(self) -> str:
        """Identifies the buyer for idempotency keys: `user:<id>` or `session:<key>`."""
        return f"user:{self.user.pk}" if self.user else f"session:{self.session_key}"


VISITOR_KEY = "shop_visitor_cart"


def visitor_owner(session, *, create: bool = False) -> CartOwner:
    """The anonymous owner of a Django session (pages and API alike). With `create`, the
    session is saved first so it has a key; the key is also kept inside the session's
    data, which survives the key change at sign-in, so the cart can be merged then."""
    if session.session_key is None and create:
        session.save()
    key = session.session_key
    if key and create and session.get(VISITOR_KEY) != key:
        session[VISITOR_KEY] = key  # marks the session modified, so the cookie goes out
    return CartOwner(session_key=key)


def visitor_keys(session, cookie_key: str | None = None) -> list[str]:
    """Session keys that may own a visitor cart: the recorded one and the cookie's."""
    keys = [session.get(VISITOR_KEY) if session is not None else None, cookie_key]
    if session is not None:
        keys.append(session.session_key)
    return [key for key in dict.fromkeys(keys) if key]


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or quantity < 1 or quantity > MAX_LINE_QUANTITY:
        raise InvalidQuantity(f"quantity must be between 1 and {MAX_LINE_QUANTITY}")


def find_cart(owner: CartOwner) -> Cart | None:
    """The owner's cart if there is one (never creates)."""
    if owner.user is not None:
        return Cart.objects.filter(user=owner.user).first()
    if owner.session_key:
        return Cart.objects.filter(session_key=owner.session_key, user__isnull=True).first()
    return None


def lines_of(owner: CartOwner):
    """The lines of the owner's cart, as a queryset (one query, no cart look-up first)."""
    if owner.user is not None:
        return CartLine.objects.filter(cart__user=owner.user)
    if owner.session_key:
        return CartLine.objects.filter(cart__session_key=owner.session_key, cart__user__isnull=True)
    return CartLine.objects.none()


def get_or_create_cart(owner: CartOwner) -> Cart:
    """The owner's cart, created on first use; Malformed when there is neither a session
    nor a signed-in user to own it."""
    cart = find_cart(owner)
    if cart is not None:
        return cart
    if owner.user is None and not owner.session_key:
        raise Malformed("a cart needs a session or a signed-in user", code="no_cart_owner")
    fields = {"user": owner.user} if owner.user else {"session_key": owner.session_key}
    try:
        with transaction.atomic():
            return Cart.objects.create(**fields)
    except IntegrityError:  # a concurrent request created it first
        return find_cart(owner)


def add_to_cart(
    *,
    owner: CartOwner,
    store_id: int,
    product_id: int,
    quantity: int,
    flash_sale_id: int | None = None,
) -> CartLine:
    """Add `quantity` units of a product of a store, priced by the server.

    While a flash sale of the product runs and has units left, the line's whole quantity
    is held for the store's hold time at the sale price (signed-in customers only; fewer
    units left than asked is FlashSaleSoldOut with `units_left`). Once every unit is taken
    or the sale has ended, a line without a live hold is sold at the regular price from
    the store's stock (`line.price_note` says why). Raises
    InvalidQuantity, ProductNotSold, SignInRequired, FlashSaleLimitExceeded, and
    FlashSaleSoldOut or FlashSaleNotActive for a line whose live hold cannot grow,
    changing nothing. `priced_cart_after_add(line)` prices the cart as it is now.
    With `flash_sale_id` (the sale the buyer saw), FlashSaleNotActive comes first unless
    that very sale is the one running now.
    """
    # The running sale is read once, and first: the asked-for sale is checked against it
    # before anything else is looked at.
    sale = flash_sales.active_sale(store_id=store_id, product_id=product_id, for_user=owner.user)
    if flash_sale_id is not None and (sale is None or sale.pk != flash_sale_id):
        raise flash_sales.FlashSaleNotActive("that flash sale is not running now")
    _check_quantity(quantity)
    item = sellable_item(store_id=store_id, product_id=product_id, with_settings=True)
    note = ""
    if sale is not None and owner.user is None:
        if units_left_now(sale.pk):
            raise SignInRequired("sign in to buy at the flash sale price")
        sale, note = None, "sale_sold_out"  # nothing left to hold: the regular price
    settings = settings_of(item.store)
    with transaction.atomic():
        cart, lines = _locked_cart(owner)
        line = next(
            (one for one in lines if one.store_id == store_id and one.product_id == product_id),
            None,
        )
        total = quantity + (line.quantity if line is not None else 0)
        _check_quantity(total)
        live = line is not None and _live_reservation(line)
        if sale is None and live:
            # The line keeps its held units; more of them are not sold at the sale price.
            raise flash_sales.FlashSaleNotActive("the flash sale of this line has ended")
        # An expired hold goes back to the sale; a live one is replaced by a bigger hold.
        # Only a hold that was still active locked the sale row just now.
        released = line is not None and line.reservation_id is not None
        released = released and flash_sales.release(line.reservation)
        if line is not None and line.reservation_id:
            note = note or "sale_ended"
        refused_hold = None
        if sale is not None:
            decision = flash_sales.start_hold(
                sale=sale,
                user=owner.user,
                quantity=total,
                expires_by=line.reservation.expires_at if live else None,
                hold_for_minutes=settings.reservation_hold_minutes,
                write=False,
            )
            if decision.state == "planned":
                # Saved before the units are counted: from then on the hot sale row is
                # locked, so as little as possible comes after it.
                line, decision = hold_rows.write_hold(
                    planned=decision,
                    cart=cart,
                    line=line,
                    store_id=store_id,
                    product_id=product_id,
                    quantity=total,
                    unit_price=sale.sale_price,
                )
                decision = flash_sales.take_units(
                    started=decision, may_release_expired=not released
                )
                if decision.reserved:
                    line.reservation.sale = sale
                    _remember_cart(line, lines, item, settings)
                    return line  # held at the sale price: no note
                refused_hold = decision.reservation
            # Raises (undoing everything) unless the line may sell at the regular price.
            note = _fallback(decision, live)
        saved = hold_rows.save_line(
            cart=cart,
            line=line,
            store_id=store_id,
            product_id=product_id,
            quantity=total,
            unit_price=item.selling_price,
            reservation=None,
        )
        if refused_hold is not None:
            # Its units were never counted; without a savepoint per add, the row goes here.
            Reservation.objects.filter(pk=refused_hold.pk).delete()
    saved.price_note = note
    _remember_cart(saved, lines, item, settings)
    return saved


def _locked_cart(owner: CartOwner) -> tuple[Cart, list[CartLine]]:
    """The owner's cart (created on first use), locked until the caller's commit so the
    owner's concurrent adds take turns, and its lines as pricing needs them."""
    if owner.user is not None:
        found = _LOCKED_USER_CART.rows(owner.user.pk, params=(owner.user.pk,))
        cart = found[0] if found else get_or_create_cart(owner)
    else:
        # A visitor's cart is purged by `updated_at`, so each add touches it (and locks it).
        cart = get_or_create_cart(owner)
        Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    lines = _LOCKED_LINES.rows(cart.pk, params=(cart.pk,))
    for line in lines:
        line.cart = cart
    return cart, lines


# The add-to-cart path's reads, their SQL compiled once (see compiled_reads).
_LOCKED_USER_CART = CompiledRead(
    Cart,
    lambda user_id: Cart.objects.select_for_update().filter(user_id=user_id).order_by("pk")[:1],
    for_update=True,
)
_LOCKED_LINES = CompiledRead(
    CartLine,
    lambda cart_id: (
        CartLine.objects.filter(cart_id=cart_id)
        .select_for_update(of=("self",))
        .select_related("product", "store", "reservation", "reservation__sale")
        .order_by("id")
    ),
    for_update=True,
)


def _remember_cart(
    line: CartLine, lines: list[CartLine], item: StockItem, settings: ShopSettings
) -> None:
    """Keep what pricing the cart after this add needs, so it reads nothing it just wrote."""
    line.cart_lines = [line if one.pk == line.pk else one for one in lines]
    if all(one.pk != line.pk for one in lines):
        line.cart_lines.append(line)
    line.store, line.product = item.store, item.product  # the same rows: no look-up
    line.known_items = {(item.store_id, item.product_id): item}
    line.known_settings = {item.store_id: settings}


def _fallback(decision: flash_sales.HoldDecision, live: bool) -> str:
    """Why a refused hold may sell at the regular price instead ("sale_sold_out" or
    "sale_ended"); raises the refusal's problem when it may not: a live hold stays as it
    is, and while the sale has units left the shopper asks for fewer (or is at their
    limit)."""
    if live:
        raise decision.problem()
    if decision.reason == "not_active":
        return "sale_ended"
    left = decision.units_left if decision.reason == "sold_out" else None
    if left is None:  # counted now, in one statement: the caller's copy is stale
        left = units_left_now(decision.sale.pk) or 0
    if left:
        raise decision.problem()
    return "sale_sold_out"


def _live_reservation(line: CartLine, now: datetime | None = None) -> bool:
    reservation = line.reservation
    return (
        reservation is not None
        and reservation.status == ReservationStatus.ACTIVE
        and reservation.expires_at > (now or timezone.now())
    )


def _owned_line(owner: CartOwner, line_id: int) -> CartLine:
    cart = find_cart(owner)
    line = (
        CartLine.objects.select_related("reservation").filter(cart=cart, pk=line_id).first()
        if cart
        else None
    )
    if line is None:
        raise NotFound("no such line in your cart", code="cart_line_not_found")
    return line


def set_line_quantity(*, owner: CartOwner, line_id: int, quantity: int) -> CartLine:
    """Change a line's quantity. A held line is held again for the new quantity (a live
    hold keeps its expiry); a line whose hold ran out is held afresh while the sale runs
    with units left, else it falls back to the regular price (`line.price_note` says why).
    Raises InvalidQuantity, FlashSaleLimitExceeded, and FlashSaleSoldOut or
    FlashSaleNotActive for a live hold that cannot change, changing nothing."""
    _check_quantity(quantity)
    with transaction.atomic():
        line = _owned_line(owner, line_id)
        reservation = line.reservation if line.reservation_id else None
        line.price_note = ""
        if reservation is not None:
            live = _live_reservation(line)
            released = flash_sales.release(reservation)
            decision = flash_sales.reserve(
                sale=reservation.sale,
                user=owner.user,
                quantity=quantity,
                may_release_expired=not released,
                expires_by=reservation.expires_at if live else None,
            )
            if decision.reserved:
                line.reservation = decision.reservation
                line.quantity, line.unit_price = quantity, reservation.sale.sale_price
                line.save(update_fields=["quantity", "unit_price", "reservation"])
                return line
            line.price_note = _fallback(decision, live)
        line.unit_price = sellable_item(
            store_id=line.store_id, product_id=line.product_id
        ).selling_price
        line.quantity, line.reservation = quantity, None
        line.save(update_fields=["quantity", "unit_price", "reservation"])
        return line


def remove_line(*, owner: CartOwner, line_id: int) -> None:
    """Drop a line; its flash-sale hold, if any, goes back to the sale at once."""
    with transaction.atomic():
        line = _owned_line(owner, line_id)
        if line.reservation_id:
            flash_sales.release(line.reservation)
        line.delete()


def merge_carts(*, user: User, session_key: str | None) -> Cart | None:
    """Move the visitor cart of `session_key` into `user`'s cart; quantities of the same
    product add up. A line the customer holds flash-sale units for is kept as it is.
    Returns the user's cart, or None when there was nothing to merge."""
    if not session_key:
        return None
    with transaction.atomic():
        visitor = (
            Cart.objects.select_for_update()
            .filter(session_key=session_key, user__isnull=True)
            .first()
        )
        if visitor is None:
            return None
        cart = get_or_create_cart(CartOwner(user=user))
        mine = {(line.store_id, line.product_id): line for line in cart.lines.all()}
        for line in visitor.lines.all():
            existing = mine.get((line.store_id, line.product_id))
            if existing is None:
                CartLine.objects.filter(pk=line.pk).update(cart=cart)
            elif existing.reservation_id is None:
                existing.quantity = min(MAX_LINE_QUANTITY, existing.quantity + line.quantity)
                existing.save(update_fields=["quantity"])
        visitor.delete()
    return cart


def purge_visitor_carts(*, older_than: timedelta) -> int:
    """Delete visitor carts untouched for `older_than` (their session has expired by then);
    returns how many went. Visitor carts never hold flash-sale units."""
    cutoff = timezone.now() - older_than
    _, per_model = Cart.objects.filter(user__isnull=True, updated_at__lt=cutoff).delete()
    return per_model.get(Cart._meta.label, 0)
