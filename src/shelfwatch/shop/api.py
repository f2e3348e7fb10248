"""`/api/v1/cart`, `/api/v1/checkout`, `/api/v1/orders` and `/api/v1/flash-sales`.

Carts and checkout work for anonymous visitors too (their Django session owns the cart);
a request that carries both a signed-in user and a visitor cart merges the two first.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from shelfwatch.accounts.authentication import optional_auth, principal_of, store_staff_auth
from shelfwatch.http.bounds import BoundedSchema, Id
from shelfwatch.http.cursors import decode_cursor, id_page
from shelfwatch.http.problems import Forbidden, NotFound
from shelfwatch.http.rendered import json_response
from shelfwatch.inventory.selectors import get_store_for
from shelfwatch.shop import carts, orders
from shelfwatch.shop.checkout import CheckoutRequest, checkout
from shelfwatch.shop.models import FlashSale, OrderStatus
from shelfwatch.shop.payloads import cart_out, flash_sales_out, order_out
from shelfwatch.shop.sale_management import (
    cancel_flash_sale,
    create_flash_sale,
    update_flash_sale,
)
from shelfwatch.shop.schemas import (
    CartLineIn,
    CartOut,
    CartQuantityIn,
    CheckoutIn,
    FlashSaleEdit,
    FlashSaleIn,
    FlashSaleOut,
    OrderOut,
    OrderPage,
    StatusIn,
)
from shelfwatch.shop.selectors.orders import (
    customer_orders,
    get_order_for,
    managed_order,
    store_board,
)
from shelfwatch.shop.selectors.sales import live_flash_sales, managed_flash_sales

cart_router = Router(tags=["cart"], auth=optional_auth)
checkout_router = Router(tags=["checkout"], auth=optional_auth)
orders_router = Router(tags=["orders"], auth=optional_auth)
flash_sales_router = Router(tags=["flash sales"])

MAX_PAGE = 100


def cart_owner(request: HttpRequest, *, create_session: bool = False) -> carts.CartOwner:
    """Whose cart this request works on; merges a visitor cart into a signed-in user's."""
    principal = principal_of(request)
    session = getattr(request, "session", None)
    if principal is not None:
        for key in carts.visitor_keys(session):
            carts.merge_carts(user=principal.user, session_key=key)
        if session is not None and carts.VISITOR_KEY in session:
            del session[carts.VISITOR_KEY]  # merged: later requests need not look again
        return carts.CartOwner(user=principal.user)
    if session is None:
        return carts.CartOwner()
    return carts.visitor_owner(session, create=create_session)


def _session_key(request: HttpRequest) -> str | None:
    session = getattr(request, "session", None)
    return session.session_key if session is not None else None


# --- cart -----------------------------------------------------------------------------------


@cart_router.get("", response=CartOut)
def read_cart(request: HttpRequest, fulfilment: str = "pickup"):
    """The cart per store, priced now: held flash-sale units at the sale price."""
    owner = cart_owner(request)
    return cart_out(carts.priced_cart(carts.find_cart(owner), fulfilment=fulfilment))


@cart_router.post("/lines", response={201: CartOut})
def add_line(request: HttpRequest, payload: CartLineIn):
    """Add a product of a store; a product in a running flash sale is reserved for the
    store's hold time (signed-in customers only). A price sent along is ignored."""
    line = carts.add_to_cart(
        owner=cart_owner(request, create_session=True),
        store_id=payload.store_id,
        product_id=payload.product_id,
        quantity=payload.quantity,
        flash_sale_id=payload.flash_sale_id,
    )
    # Rendered as is: the rush path's payload is plain values of CartOut's types already.
    return json_response(cart_out(carts.priced_cart_after_add(line)), status=201)


@cart_router.patch("/lines/{line_id}", response=CartOut)
def change_line(request: HttpRequest, line_id: int, payload: CartQuantityIn):
    owner = cart_owner(request)
    carts.set_line_quantity(owner=owner, line_id=line_id, quantity=payload.quantity)
    return cart_out(carts.priced_cart(carts.find_cart(owner)))


@cart_router.delete("/lines/{line_id}", response={204: None})
def delete_line(request: HttpRequest, line_id: int):
    """Remove a line; flash-sale units it held are free for others at once."""
    carts.remove_line(owner=cart_owner(request), line_id=line_id)
    return Status(204, None)


# --- checkout -------------------------------------------------------------------------------


@checkout_router.post("", response={200: OrderOut, 201: OrderOut})
def place_order(request: HttpRequest, payload: CheckoutIn):
    """Place the order for the cart's lines of one store. Send an `Idempotency-Key`
    header: repeating it returns the same order (200) instead of placing another."""
    result = checkout(
        owner=cart_owner(request),
        idempotency_key=request.headers.get("Idempotency-Key", ""),
        request=CheckoutRequest(
            store_id=payload.store_id,
            fulfilment=payload.fulfilment,
            payment_method=payload.payment_method,
            points=payload.points,
            note=payload.note,
            name=payload.name,
            phone=payload.phone,
        ),
    )
    # Rendered as is: the rush path's payload is plain values of OrderOut's types already.
    return json_response(order_out(result.order), status=201 if result.created else 200)


# --- orders ---------------------------------------------------------------------------------


class OrderFilters(BoundedSchema):
    status: str | None = None
    cursor: str | None = None
    limit: int = 20


def _page(orders_qs, filters: OrderFilters) -> dict:
    if filters.status:
        orders_qs = orders_qs.filter(status=filters.status)
    if filters.cursor:
        (before,) = decode_cursor(filters.cursor, int)
        orders_qs = orders_qs.filter(pk__lt=before)
    limit = min(max(filters.limit, 1), MAX_PAGE)
    rows, cursor = id_page(list(orders_qs.order_by("-pk")[: limit + 1]), limit)
    return {"items": [order_out(order) for order in rows], "next_cursor": cursor}


@orders_router.get("", response=OrderPage)
def my_orders(request: HttpRequest, filters: Query[OrderFilters]):
    """The caller's own orders, newest first (a visitor's: those of this session)."""
    return _page(
        customer_orders(principal=principal_of(request), session_key=_session_key(request)),
        filters,
    )


@orders_router.get("/store/{store_id}", response=OrderPage)
def order_board(request: HttpRequest, store_id: int, filters: Query[OrderFilters]):
    """A store's orders for its staff (the order board); another store's id is a 404."""
    return _page(store_board(principal=principal_of(request), store_id=store_id), filters)


@orders_router.get("/{order_id}", response=OrderOut)
def read_order(request: HttpRequest, order_id: int):
    return order_out(
        get_order_for(
            principal=principal_of(request), session_key=_session_key(request), order_id=order_id
        )
    )


@orders_router.post("/{order_id}/status", response=OrderOut)
def move_order(request: HttpRequest, order_id: int, payload: StatusIn):
    """Advance or cancel an order. Store staff and admins make any allowed move; the
    customer may only cancel, and only before the store starts preparing."""
    principal = principal_of(request)
    order = get_order_for(principal=principal, session_key=_session_key(request), order_id=order_id)
    if managed_order(principal=principal, order_id=order.pk) is None:
        if payload.status != OrderStatus.CANCELLED:
            raise Forbidden("only the store's staff move orders along", code="store_staff_required")
        if order.status not in orders.CUSTOMER_CANCELLABLE:
            raise orders.TransitionNotAllowed(
                "the store is already preparing this order; ask the store to cancel it",
                extra={"current_status": order.status},
            )
    actor = principal.user if principal else None
    orders.change_status(order=order, status=payload.status, actor=actor, reason=payload.reason)
    return order_out(
        get_order_for(principal=principal, session_key=_session_key(request), order_id=order.pk)
    )


# --- flash sales ----------------------------------------------------------------------------


class SaleFilters(BoundedSchema):
    store_id: Id | None = None
    product_id: Id | None = None


# Public reads, with optional credentials so signed-in callers get their own rate limit.
@flash_sales_router.get("", response=list[FlashSaleOut], auth=optional_auth)
def list_flash_sales(request: HttpRequest, filters: Query[SaleFilters]):
    """Running and upcoming sales with their units left; public."""
    sales = list(live_flash_sales(store_id=filters.store_id, product_id=filters.product_id)[:200])
    return flash_sales_out(sales)


@flash_sales_router.get("/{sale_id}", response=FlashSaleOut, auth=optional_auth)
def read_flash_sale(request: HttpRequest, sale_id: int):
    sale = FlashSale.objects.select_related("store", "product").filter(pk=sale_id).first()
    if sale is None:
        raise NotFound("flash sale not found", code="flash_sale_not_found")
    return flash_sales_out([sale])[0]


@flash_sales_router.post("", response={201: FlashSaleOut}, auth=store_staff_auth)
def add_flash_sale(request: HttpRequest, payload: FlashSaleIn):
    """Start a sale in a store the caller manages."""
    store = get_store_for(principal_of(request), payload.store_id)
    sale = create_flash_sale(store=store, **payload.dict(exclude={"store_id"}))
    sale = FlashSale.objects.select_related("store", "product").get(pk=sale.pk)
    return Status(201, flash_sales_out([sale])[0])


@flash_sales_router.patch("/{sale_id}", response=FlashSaleOut, auth=store_staff_auth)
def edit_flash_sale(request: HttpRequest, sale_id: int, payload: FlashSaleEdit):
    sale = managed_flash_sales(principal_of(request)).filter(pk=sale_id).first()
    if sale is None:
        raise NotFound("flash sale not found", code="flash_sale_not_found")
    update_flash_sale(sale=sale, changes=payload.dict(exclude_unset=True))
    return flash_sales_out([managed_flash_sales(principal_of(request)).get(pk=sale_id)])[0]


@flash_sales_router.delete("/{sale_id}", response={204: None}, auth=store_staff_auth)
def delete_flash_sale(request: HttpRequest, sale_id: int):
    """Cancel a sale that has not started (409 `flash_sale_already_started` once it has:
    end it by moving `ends_at` to now)."""
    sale = managed_flash_sales(principal_of(request)).filter(pk=sale_id).first()
    if sale is None:
        raise NotFound("flash sale not found", code="flash_sale_not_found")
    cancel_flash_sale(sale=sale)
    return Status(204, None)
