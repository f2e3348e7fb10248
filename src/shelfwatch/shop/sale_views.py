"""The store dashboard's flash-sale pages: a store's running, upcoming and ended sales, a
form for a new one, a form to change one, and "End now".

Thin, like the JSON API beside them: `sale_forms` reads what was typed, `sale_management`
decides (its refusals become form errors), the selectors read. Who may see which store is
decided in the selectors' queries: another store's page or sale is a 404, a visitor who is
not signed in is sent to log in. Every time on these pages, shown or typed, is in the
store's own time zone, which the page names.
"""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from shelfwatch.accounts.authentication import page_principal
from shelfwatch.errors import DomainError, NotFound
from shelfwatch.inventory.models import Store
from shelfwatch.inventory.selectors import get_store_for
from shelfwatch.shop.models import FlashSale
from shelfwatch.shop.page_wording import problem_message
from shelfwatch.shop.sale_forms import NewSaleForm, SaleForm, add_service_error
from shelfwatch.shop.sale_management import (
    cancel_flash_sale,
    create_flash_sale,
    end_flash_sale,
    update_flash_sale,
)
from shelfwatch.shop.selectors import sales as sale_selectors


def _zone(store: Store) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(store.timezone)


def _store(request: HttpRequest, store_id: int) -> Store:
    try:
        return get_store_for(page_principal(request), store_id)
    except NotFound:
        raise Http404("no such store") from None  # not 403: other tenants' ids stay unknown


def _sale(request: HttpRequest, store: Store, sale_id: int) -> FlashSale:
    try:
        return sale_selectors.managed_sale(
            principal=page_principal(request), store_id=store.pk, sale_id=sale_id
        )
    except NotFound:
        raise Http404("no such flash sale") from None


def _page(request: HttpRequest, template: str, store: Store, **context):
    """Render a flash-sale page with the store's time zone active, so the form's times are
    shown in it as the list's are; a form with errors makes it a 422."""
    context = {"store": store, "staff_page": True, "zone": _zone(store), **context}
    status = 200
    if "form" in context:
        context["form"].describe_problems()
        status = 422 if context["form"].errors else 200
    with timezone.override(context["zone"]):
        return render(request, template, context, status=status)


@login_required
def sale_list(request: HttpRequest, store_id: int) -> HttpResponse:
    """The store's running, upcoming and latest ended sales."""
    try:
        store, board = sale_selectors.store_sale_board(
            principal=page_principal(request), store_id=store_id
        )
    except NotFound:
        raise Http404("no such store") from None
    groups = [
        {"state": "running", "heading": _("Running now"), "empty": _("No flash sale is running.")},
        {"state": "upcoming", "heading": _("Coming up"), "empty": _("No flash sale is planned.")},
        {"state": "ended", "heading": _("Ended"), "empty": _("No flash sale has ended yet.")},
    ]
    for group in groups:
        group["sales"] = board[group["state"]]
    return _page(request, "shop/flash_sales.html", store, groups=groups)


@login_required
@require_http_methods(["GET", "POST"])
def sale_new(request: HttpRequest, store_id: int) -> HttpResponse:
    """The form for a new sale of one of the store's priced products."""
    store = _store(request, store_id)
    # PostgreSQL refuses a NUL in a query's text: it is dropped from the search.
    q = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    items = sale_selectors.sale_products(store, q=q)
    data = request.POST if request.method == "POST" else None
    initial = {"product": request.GET.get("product", "")}
    form = NewSaleForm(data, initial=initial, items=items, currency=store.currency)
    if request.method == "POST":
        with timezone.override(_zone(store)):
            valid = form.is_valid()
        if valid:
            try:
                sale = create_flash_sale(
                    store=store,
                    product_id=form.cleaned_data["product"],
                    title=form.cleaned_data["title"],
                    sale_price=form.cleaned_data["sale_price"],
                    quantity_allotted=form.cleaned_data["quantity_allotted"],
                    per_customer_limit=form.cleaned_data["per_customer_limit"],
                    starts_at=form.cleaned_data["starts_at"],
                    ends_at=form.cleaned_data["ends_at"],
                )
            except DomainError as exc:
                add_service_error(form, exc, currency=store.currency)
            else:
                messages.success(
                    request,
                    _("Flash sale of %(name)s saved.") % {"name": sale.product.name},
                )
                return redirect("store-flash-sales", store_id=store.pk)
    return _page(
        request,
        "shop/flash_sale_form.html",
        store,
        form=form,
        q=q,
        no_products=not items and not q,
    )


@login_required
@require_http_methods(["GET", "POST"])
def sale_edit(request: HttpRequest, store_id: int, sale_id: int) -> HttpResponse:
    """The form to change a sale's price, units, limit, title or window."""
    store = _store(request, store_id)
    sale = _sale(request, store, sale_id)
    if request.method == "POST":
        form = SaleForm(request.POST)
        with timezone.override(_zone(store)):
            valid = form.is_valid()
        if valid:
            try:
                update_flash_sale(sale=sale, changes=form.changes(sale))
            except DomainError as exc:
                add_service_error(form, exc, currency=store.currency)
            else:
                messages.success(request, _("Flash sale saved."))
                return redirect("store-flash-sales", store_id=store.pk)
    else:
        form = SaleForm(
            initial={name: getattr(sale, name) for name in SaleForm.base_fields},
        )
    return _page(
        request,
        "shop/flash_sale_form.html",
        store,
        form=form,
        sale=sale,
    )


@login_required
@require_POST
def sale_end(request: HttpRequest, store_id: int, sale_id: int) -> HttpResponse:
    """End a running sale at once: its end moves to now and shoppers' pages hear that it
    ended (`end_flash_sale` decides under the row lock, so a repeat changes nothing)."""
    store = _store(request, store_id)
    sale = _sale(request, store, sale_id)
    try:
        ended = end_flash_sale(sale=sale)
    except DomainError as exc:
        if exc.code == "flash_sale_not_started":
            messages.error(
                request,
                _(
                    "That flash sale has not started yet: cancel it, or change its times to "
                    "move it."
                ),
            )
        else:
            messages.error(request, problem_message(exc))
    else:
        if ended:
            messages.success(
                request, _("The flash sale of %(name)s has ended.") % {"name": sale.product.name}
            )
        else:
            messages.info(request, _("That flash sale had already ended."))
    return redirect("store-flash-sales", store_id=store.pk)


@login_required
@require_POST
def sale_cancel(request: HttpRequest, store_id: int, sale_id: int) -> HttpResponse:
    """Cancel a sale that has not started: it is deleted (a started one is ended instead)."""
    store = _store(request, store_id)
    sale = _sale(request, store, sale_id)
    try:
        cancel_flash_sale(sale=sale)
    except DomainError as exc:
        messages.error(request, problem_message(exc))
    else:
        messages.success(
            request, _("The flash sale of %(name)s is cancelled.") % {"name": sale.product.name}
        )
    return redirect("store-flash-sales", store_id=store.pk)
