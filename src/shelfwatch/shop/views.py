"""The storefront pages: home, the shelf (by category or search), the product page (with
its flash sale), the shopper's choice of store, "notify me when it's back", and the
account page (orders, points). Cart and checkout are in `checkout_views`, the order
status page and the staff order board in `order_views`.

Pages render on the server and work without JavaScript; availability and price then
follow the event stream from the page (shop/static/shop/live.js).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from shelfwatch.accounts.authentication import page_principal
from shelfwatch.http.cursors import BadCursor
from shelfwatch.http.problems import NotFound
from shelfwatch.loyalty.selectors import balances_for, history_for
from shelfwatch.notify.links import manage_token
from shelfwatch.shop import carts
from shelfwatch.shop.page_wording import label_entries, label_orders
from shelfwatch.shop.selectors import orders as order_selectors
from shelfwatch.shop.selectors import sales as sale_selectors
from shelfwatch.shop.selectors import storefront as selectors
from shelfwatch.shop.storefront_alerts import alert_item_for
from shelfwatch.whole_numbers import plain_whole_number


def _int_param(request: HttpRequest, name: str) -> int | None:
    return plain_whole_number(request.GET.get(name, "").strip(), max_digits=18)


def _language() -> str:
    return get_language() or "en"


def page_owner(request: HttpRequest, *, create: bool = False) -> carts.CartOwner:
    """The cart owner of a page request: the signed-in user, else the visitor's session
    (the sign-in signal merges a visitor cart into the user's)."""
    if request.user.is_authenticated:
        return carts.CartOwner(user=request.user)
    return carts.visitor_owner(request.session, create=create)


def shop_context(request: HttpRequest, **context) -> dict:
    """What every storefront page shows: the store picker, the chosen store and the
    number of units in the cart."""
    return {
        "stores": list(selectors.shop_stores()),
        "store": selectors.chosen_store(request.session),
        "cart_count": selectors.cart_count(carts.find_cart(page_owner(request))),
        **context,
    }


def home(request: HttpRequest) -> HttpResponse:
    """Search, the category tree, and the first products of the chosen store."""
    context = shop_context(request, categories=selectors.category_tree())
    store = context["store"]
    context["page"] = selectors.shelf(store=store, language=_language(), limit=8)
    if store is not None:
        context["sale_entries"] = selectors.sale_shelf(store=store, language=_language())
    else:
        context["sales_elsewhere"] = sale_selectors.running_sale_count()
    return render(request, "shop/home.html", context)


def product_list(request: HttpRequest) -> HttpResponse:
    """The chosen store's products (or the catalog's) by category and/or search words."""
    q = request.GET.get("q", "").strip()[:200]
    category = selectors.get_category(_int_param(request, "category"))
    if request.GET.get("category") and category is None:
        raise Http404("no such category")
    context = shop_context(request, q=q, category=category)
    try:
        context["page"] = selectors.shelf(
            store=context["store"],
            language=_language(),
            q=q,
            category_id=category.pk if category else None,
            cursor=request.GET.get("cursor") or None,
        )
    except BadCursor:
        # A stale or hand-made "more" link: start from the first page instead.
        query = request.GET.copy()
        query.pop("cursor", None)
        return redirect(f"{reverse('shop-products')}?{query.urlencode()}")
    if q and not context["page"].entries and not request.GET.get("cursor"):
        request.search_miss = q  # counted by request middleware (analytics)
    more = request.GET.copy()
    more["cursor"] = context["page"].next_cursor or ""
    context["more_query"] = more.urlencode()
    return render(request, "shop/product_list.html", context)


def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    try:
        product = selectors.storefront_product(product_id)
    except NotFound:
        raise Http404("no such product") from None
    if product.merged_into_id:
        return redirect("shop-product", product_id=product.merged_into_id, permanent=True)
    store = selectors.chosen_store(request.session)
    view = selectors.product_view(product, store=store, language=_language())
    sale = None
    if store is not None and view.stock is not None:
        sale = sale_selectors.product_flash_sale(store=store, product=product)
    return render(request, "shop/product.html", shop_context(request, view=view, sale=sale))


@require_POST
def choose_store(request: HttpRequest) -> HttpResponse:
    """Remember the store the shopper picked, then go back where they were."""
    store_id = plain_whole_number(request.POST.get("store", ""), max_digits=18)
    store = selectors.shop_stores().filter(pk=store_id).first() if store_id is not None else None
    if store is None:
        request.session.pop(selectors.STORE_SESSION_KEY, None)
    else:
        request.session[selectors.STORE_SESSION_KEY] = store.pk
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("shop-products")
    return HttpResponseRedirect(target)


@require_POST
def notify_me(request: HttpRequest, product_id: int) -> HttpResponse:
    """Send the shopper to the subscribe page with this product at their store ticked."""
    try:
        product = selectors.storefront_product(product_id)
    except NotFound:
        raise Http404("no such product") from None
    store = selectors.chosen_store(request.session)
    item = None if store is None else alert_item_for(store=store, product=product)
    if item is None:
        # No store chosen, not kept there, or the store takes no alerts: the page says so.
        return redirect("shop-product", product_id=product.pk)
    return redirect(f"{reverse('subscribe')}?source={item.source_id}&item={item.pk}")


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """Who is signed in, the alert contacts tied to the account with their links, the
    latest orders (live) and the loyalty points per store with their history."""
    contacts = [
        {
            "contact": contact,
            "subscriptions": contact.subscription_count,
            "manage_url": (
                reverse("alerts-manage", kwargs={"token": manage_token(contact)})
                if contact.is_verified
                else None
            ),
        }
        for contact in selectors.account_contacts(request.user)
    ]
    history, _cursor = history_for(request.user, limit=20)
    context = shop_context(
        request,
        contacts=contacts,
        orders=label_orders(
            order_selectors.orders_of(principal=page_principal(request), session_key=None)
        ),
        balances=balances_for(request.user),
        history=label_entries(history),
        email_verified=any(
            row["contact"].address == request.user.email and row["contact"].is_verified
            for row in contacts
        ),
    )
    return render(request, "shop/account.html", context)
