"""The store dashboard: a store's inventory for its staff, with search, low-stock filter,
inline edits, the add-product flow with match candidates, and the barcode scanner.

The table is rendered here (it works without JavaScript); edits, matching and scanning
call the JSON API from the page with the session and its CSRF token.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from shelfwatch.accounts.authentication import page_principal
from shelfwatch.catalog.models import UNITS
from shelfwatch.inventory.selectors import store_items, stores_for

PAGE_SIZE = 200


@login_required
def store_list(request: HttpRequest) -> HttpResponse:
    stores = list(stores_for(page_principal(request)))
    if len(stores) == 1:
        return redirect("store-dashboard", store_id=stores[0].pk)
    return render(request, "inventory/stores.html", {"stores": stores})


@login_required
def dashboard(request: HttpRequest, store_id: int) -> HttpResponse:
    store = stores_for(page_principal(request)).filter(pk=store_id).first()
    if store is None:
        raise Http404("no such store")  # not 403: other tenants' ids stay unconfirmed
    q = request.GET.get("q", "").strip()
    low = request.GET.get("low") == "1"
    items = store_items(store, q=q, low=low)
    items = list(items.order_by("product__name")[: PAGE_SIZE + 1])
    context = {
        "store": store,
        "items": items[:PAGE_SIZE],
        "truncated": len(items) > PAGE_SIZE,
        "q": q,
        "low": low,
        "units": UNITS,
    }
    return render(request, "inventory/dashboard.html", context)
