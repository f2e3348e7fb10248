"""The cart and checkout pages: add to cart, change or remove lines, and place the order.

Thin views over `shop.carts` and `shop.checkout`: prices, tax, fees and flash-sale holds
are the server's, never the form's. Every form works without JavaScript; POSTs redirect
(or re-render with the problem named) so a reload never repeats them.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelfwatch.errors import DomainError
from shelfwatch.http.problems import status_of
from shelfwatch.inventory.models import StockItem
from shelfwatch.shop import carts
from shelfwatch.shop.checkout import CheckoutQuote, CheckoutRequest, LinesShort, checkout, quote
from shelfwatch.shop.models import Fulfilment
from shelfwatch.shop.page_wording import problem_message
from shelfwatch.shop.pricing import shop_settings_for
from shelfwatch.shop.selectors import orders as order_selectors
from shelfwatch.shop.selectors import storefront as selectors
from shelfwatch.shop.views import page_owner, shop_context
from shelfwatch.whole_numbers import plain_whole_number

MAX_NOTE = 500

# The largest id a database key holds (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def _int(raw: str | None, default: int = 0) -> int | None:
    """A form's whole number: `default` when blank, None when not a plain number."""
    raw = (raw or "").strip()
    if not raw:
        return default
    return plain_whole_number(raw, max_digits=9)


def _over_stock(request: HttpRequest, *, store_id: int, product_id: int, wanted: int) -> bool:
    """Whether `wanted` units (the line's whole quantity) is more than the store has; if
    so the shopper is told how many there are. Checkout checks again under lock: this is
    the early word, so nobody fills a cart with units that are not on the shelf."""
    stock = StockItem.objects.filter(store_id=store_id, product_id=product_id).first()
    if stock is None or wanted <= stock.quantity:
        return False
    if stock.quantity <= 0:
        messages.error(request, _("Sorry, this is out of stock right now."))
    else:
        messages.error(
            request,
            ngettext(
                "Only %(count)d is in stock: choose %(count)d or fewer.",
                "Only %(count)d are in stock: choose %(count)d or fewer.",
                stock.quantity,
            )
            % {"count": stock.quantity},
        )
    return True


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    """Add the posted product of the chosen store; the server prices it (and reserves
    flash-sale units). Then the cart, or the product page with the problem."""
    product_id = _int(request.POST.get("product"), 0)
    quantity = _int(request.POST.get("quantity"), 1)
    store = selectors.chosen_store(request.session)
    if not product_id:
        raise Http404("no such product")
    if store is None:
        messages.error(request, _("Choose a store first."))
        return redirect("shop-product", product_id=product_id)
    if quantity is not None and quantity > 0:
        in_cart = (
            carts.lines_of(page_owner(request))
            .filter(store=store, product_id=product_id)
            .values_list("quantity", flat=True)
            .first()
            or 0
        )
        if _over_stock(
            request, store_id=store.pk, product_id=product_id, wanted=in_cart + quantity
        ):
            return redirect("shop-product", product_id=product_id)
    try:
        line = carts.add_to_cart(
            owner=page_owner(request, create=True),
            store_id=store.pk,
            product_id=product_id,
            quantity=quantity if quantity is not None else -1,
        )
    except carts.SignInRequired:
        _ask_to_sign_in(request, product_id)
        return redirect("shop-product", product_id=product_id)
    except DomainError as exc:
        messages.error(request, problem_message(exc))
        return redirect("shop-product", product_id=product_id)
    messages.success(request, _("Added to your cart."))
    _say_price_note(request, line)
    return redirect("shop-cart")


def _ask_to_sign_in(request: HttpRequest, product_id: int) -> None:
    """A visitor pressed "Add to cart" while the product's flash sale runs. Sale units go
    to customers with an account (the per-customer limit is counted per account), so
    nothing is added: they are told why, with links to sign in or sign up that bring them
    back to this product."""
    back = {"next": reverse("shop-product", args=[product_id])}
    messages.warning(
        request,
        format_html(
            _(
                "This product is in a flash sale, and the sale price is for customers "
                "with an account, so that each customer's limit can be kept. Nothing was "
                'added to your cart. <a href="{sign_in}">Sign in to buy at the flash sale '
                'price</a> or <a href="{sign_up}">create an account</a>: you come straight '
                "back to this product."
            ),
            sign_in=f"{reverse('login')}?{urlencode(back)}",
            sign_up=f"{reverse('sign-up')}?{urlencode(back)}",
        ),
    )


def _say_price_note(request: HttpRequest, line) -> None:
    """Tell the shopper when a flash-sale line fell back to the regular price."""
    if line.price_note == "sale_sold_out":
        messages.info(request, _("The flash sale is sold out: this is at the regular price."))
    elif line.price_note == "sale_ended":
        messages.info(request, _("The flash sale has ended: this is at the regular price."))


def cart_page(request: HttpRequest) -> HttpResponse:
    """The cart per store: lines at today's prices, holds and their expiry, totals."""
    cart = carts.find_cart(page_owner(request))
    store_carts = carts.priced_cart(cart)
    selectors.name_cart_lines(store_carts, get_language() or "en")
    context = shop_context(request, store_carts=store_carts)
    return render(request, "shop/cart.html", context)


@require_POST
def cart_line_update(request: HttpRequest, line_id: int) -> HttpResponse:
    """Set a line's quantity (0 removes it); a held flash-sale line is reserved again."""
    quantity = _int(request.POST.get("quantity"), -1)
    try:
        line = carts.lines_of(page_owner(request)).filter(pk=line_id).first()
        if quantity == 0:
            carts.remove_line(owner=page_owner(request), line_id=line_id)
        elif (
            line is not None
            and quantity
            and quantity > line.quantity
            and _over_stock(
                request, store_id=line.store_id, product_id=line.product_id, wanted=quantity
            )
        ):
            pass
        else:
            line = carts.set_line_quantity(
                owner=page_owner(request), line_id=line_id, quantity=quantity or -1
            )
            _say_price_note(request, line)
    except DomainError as exc:
        messages.error(request, problem_message(exc))
    return redirect("shop-cart")


@require_POST
def cart_line_remove(request: HttpRequest, line_id: int) -> HttpResponse:
    """Drop a line; its flash-sale hold goes back to the sale."""
    try:
        carts.remove_line(owner=page_owner(request), line_id=line_id)
    except DomainError as exc:
        messages.error(request, problem_message(exc))
    return redirect("shop-cart")


def _checkout_form(request: HttpRequest) -> dict:
    data = request.POST if request.method == "POST" else request.GET
    points = _int(data.get("points"), 0)
    return {
        "fulfilment": data.get("fulfilment", Fulfilment.PICKUP),
        "points": points,
        "points_raw": (data.get("points") or "").strip()[:12],
        "address": data.get("address", "").strip()[:300],
        "note": data.get("note", "").strip()[:MAX_NOTE],
        "name": data.get("name", "").strip()[:150],
        "phone": data.get("phone", "").strip()[:40],
    }


def _points_shown(owner: carts.CartOwner, quoted: CheckoutQuote, points: int | None) -> dict:
    """The points box: the shopper's balance here and what the points take off, or why not."""
    shown = {"balance": quoted.points.balance, "discount": quoted.points.discount, "error": None}
    if owner.user is None:
        return shown
    if points is None:
        shown["error"] = _("Enter a whole number of points.")
    elif quoted.points.problem is not None:
        shown["error"] = problem_message(quoted.points.problem)
    return shown


def _place(request: HttpRequest, owner, form: dict, store_id: int):
    """Place the posted order: (its id, None, [], 302), or (None, problem, short lines,
    status) for the form to show. Runs even when the cart is empty by now, so a form sent
    twice finds the order its key placed the first time."""
    if form["fulfilment"] == Fulfilment.DELIVERY and not form["address"]:
        return None, _("Enter the delivery address."), [], 422
    if form["points"] is None:
        return None, _("Enter a whole number of points."), [], 422
    if owner.user is None and not form["phone"]:
        # A guest has no account the store could reach them through.
        return None, _("Enter a phone number so the store can reach you."), [], 422
    try:
        result = checkout(
            owner=owner,
            idempotency_key=request.POST.get("idempotency_key", ""),
            request=CheckoutRequest(
                store_id=store_id,
                fulfilment=form["fulfilment"],
                payment_method="manual",
                points=form["points"],
                note="\n".join(filter(None, [form["address"], form["note"]]))[:MAX_NOTE],
                name=form["name"],
                phone=form["phone"],
            ),
        )
    except LinesShort as exc:
        return None, problem_message(exc), exc.extra.get("lines", []), 409
    except DomainError as exc:
        return None, problem_message(exc), [], status_of(exc)
    return result.order.pk, None, [], 302


def checkout_page(request: HttpRequest, store_id: int) -> HttpResponse:
    """GET: the order summary and form (with a fresh Idempotency-Key); POST: place the
    order, or with `preview` only re-price it (fulfilment, points) without placing."""
    if store_id > MAX_ID:
        # Names no store, and the database could not even be asked about it.
        raise Http404("no such store")
    owner = page_owner(request)
    form = _checkout_form(request)
    settings = shop_settings_for(store_id)
    if form["fulfilment"] not in Fulfilment.values or (
        form["fulfilment"] == Fulfilment.DELIVERY and not settings.offers_delivery
    ):
        form["fulfilment"] = Fulfilment.PICKUP
    problem, short, status = None, [], 200
    if request.method == "GET" and owner.user is not None:
        form["name"] = form["name"] or owner.user.name
        form["phone"] = form["phone"] or order_selectors.customer_phones([owner.user.pk]).get(
            owner.user.pk, ""
        )
    if request.method == "POST" and not request.POST.get("preview"):
        order_id, problem, short, status = _place(request, owner, form, store_id)
        if order_id is not None:
            return redirect("shop-order", order_id=order_id)
    quoted = quote(
        owner=owner,
        store_id=store_id,
        fulfilment=form["fulfilment"],
        points=form["points"] or 0,
    )
    if quoted is None:
        messages.error(request, problem or _("Your cart has nothing from this store."))
        return redirect("shop-cart")
    context = shop_context(
        request,
        store_cart=quoted.store_cart,
        shop_store=quoted.store,
        offers_delivery=settings.offers_delivery,
        delivery_fee=settings.delivery_fee,
        totals=quoted.totals,
        form=form,
        quote=_points_shown(owner, quoted, form["points"]),
        problem=problem,
        short_lines=short,
        short_ids={row.get("line_id") for row in short},
        # A new key per rendered form: submitting it twice places one order.
        idempotency_key=uuid.uuid4().hex,
    )
    return render(request, "shop/checkout.html", context, status=status)
