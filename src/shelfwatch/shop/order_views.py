"""The order status page (live), the customer's cancel button, and the staff order board
of a store (live), where staff move orders along through `shop.orders.change_status`.

Who may read or move what is decided by the shop's selectors, inside their queries:
another customer's order or another store's board is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelfwatch.accounts.authentication import page_principal
from shelfwatch.errors import DomainError
from shelfwatch.http.problems import NotFound
from shelfwatch.shop import orders
from shelfwatch.shop.models import Fulfilment, OrderStatus
from shelfwatch.shop.page_wording import MOVE_LABELS, STATUS_LABELS, label_orders, problem_message
from shelfwatch.shop.selectors import orders as order_selectors
from shelfwatch.shop.views import shop_context

S = OrderStatus
# The steps an order goes through, by how the customer gets it.
STEPS = {
    Fulfilment.PICKUP: [S.PENDING, S.CONFIRMED, S.PREPARING, S.READY, S.DELIVERED],
    Fulfilment.DELIVERY: [S.PENDING, S.CONFIRMED, S.PREPARING, S.OUT_FOR_DELIVERY, S.DELIVERED],
}


def _readable_order(request: HttpRequest, order_id: int):
    try:
        return order_selectors.get_order_for(
            principal=page_principal(request),
            session_key=request.session.session_key,
            order_id=order_id,
        )
    except NotFound:
        raise Http404("no such order") from None


def _steps(order) -> list[dict]:
    steps = STEPS[order.fulfilment]
    reached = steps.index(order.status) if order.status in steps else -1
    return [
        {
            "status": status,
            "label": STATUS_LABELS[status],
            "done": i < reached,
            "current": i == reached,
        }
        for i, status in enumerate(steps)
    ]


def order_page(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order as its buyer (or its store's staff) sees it, following its status live."""
    order = _readable_order(request, order_id)
    label_orders([order])
    context = shop_context(
        request,
        order=order,
        steps=_steps(order),
        history=[
            {"at": change.at, "label": STATUS_LABELS.get(change.status, change.status)}
            for change in order.history.all()
        ],
        may_cancel=order.status in orders.CUSTOMER_CANCELLABLE,
    )
    return render(request, "shop/order.html", context)


@require_POST
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    """The buyer cancels their order, until the store starts preparing it."""
    order = _readable_order(request, order_id)
    try:
        if order.status not in orders.CUSTOMER_CANCELLABLE:
            raise orders.TransitionNotAllowed("the store is already preparing this order")
        orders.change_status(
            order=order,
            status=S.CANCELLED,
            actor=request.user if request.user.is_authenticated else None,
            reason="cancelled by the customer",
        )
    except DomainError as exc:
        messages.error(request, problem_message(exc))
    else:
        messages.success(request, _("Your order is cancelled."))
    return redirect("shop-order", order_id=order.pk)


@login_required
def stores_overview(request: HttpRequest) -> HttpResponse:
    """The stores the caller works in, each with its low-stock count, its open orders and
    links to its dashboard and order board; one store opens its dashboard at once."""
    stores = order_selectors.stores_overview(page_principal(request))
    if len(stores) == 1:
        return redirect("store-dashboard", store_id=stores[0]["store"].pk)
    return render(request, "shop/stores.html", {"rows": stores, "staff_page": True})


@login_required
def order_board(request: HttpRequest, store_id: int) -> HttpResponse:
    """A store's open orders by status and the latest finished ones, for its staff."""
    try:
        store, board = order_selectors.store_order_board(
            principal=page_principal(request), store_id=store_id
        )
    except NotFound:
        raise Http404("no such store") from None
    columns = [
        {"status": status, "label": STATUS_LABELS[status], "orders": label_orders(rows)}
        for status, rows in board["columns"].items()
    ]
    for column in columns:
        for order in column["orders"]:
            order.next_steps = [
                {"status": status, "label": MOVE_LABELS[status]}
                for status in sorted(orders.allowed_next(order), key=S.values.index)
            ]
    open_orders = [order for column in columns for order in column["orders"]]
    # The number given at checkout comes first; a signed-in customer who gave none may
    # have a verified WhatsApp number from their alerts.
    phones = order_selectors.customer_phones(
        [order.user_id for order in open_orders if order.user_id and not order.customer_phone]
    )
    for order in open_orders:
        order.customer_phone = order.customer_phone or phones.get(order.user_id, "")
    context = shop_context(
        request, board_store=store, columns=columns, done=label_orders(board["done"])
    )
    return render(request, "shop/board.html", context)


@login_required
@require_POST
def order_board_move(request: HttpRequest, store_id: int, order_id: int) -> HttpResponse:
    """Staff move an order of their store to the posted status, if that move is allowed."""
    principal = page_principal(request)
    try:
        order = order_selectors.board_order(
            principal=principal, store_id=store_id, order_id=order_id
        )
    except NotFound:
        order = None
    if (
        order is None
        or order_selectors.managed_order(principal=principal, order_id=order_id) is None
    ):
        raise Http404("no such order")
    try:
        orders.change_status(
            order=order,
            status=request.POST.get("status", ""),
            actor=request.user,
            reason=request.POST.get("reason", "").strip()[:500],
        )
    except DomainError as exc:
        messages.error(request, problem_message(exc))
    return redirect("shop-order-board", store_id=store_id)
