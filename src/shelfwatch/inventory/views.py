"""The store dashboard: a store's inventory for its staff, with search, low-stock filter,
inline edits, the add-product flow with match candidates, the barcode scanner, and photo
uploads (the product's catalog photo, or the store's own shelf photo).

The table is rendered here (it works without JavaScript); edits, matching and scanning
call the JSON API from the page with the session and its CSRF token. The page hands the
script its words in the page's language (`dashboard_words`), so what staff read is
written for people and translated, never the API's own wording.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelfwatch.accounts.authentication import page_principal
from shelfwatch.catalog import images
from shelfwatch.catalog.models import UNITS
from shelfwatch.catalog.selectors import get_product_for
from shelfwatch.errors import DomainError
from shelfwatch.inventory.models import StockItem
from shelfwatch.inventory.selectors import store_items, stores_for

PAGE_SIZE = 200


def dashboard_words() -> dict[str, str]:
    """What the dashboard's script says, in the request's language: by problem code (the
    API's `code`), by field for a refused value, and its own messages."""
    whole = _("Type a whole number, 0 or more.")
    price = _("Type a price of 0 or more, such as 4.50.")
    return {
        "saved": _("Saved."),
        "low": _("low"),
        "offline": _("Could not reach the server. Check the connection and try again."),
        "generic": _("That could not be saved. Check the value and try again."),
        "not_found": _("That item is gone: reload the page."),
        "permission_denied": _("You may not change this store."),
        "rate_limited": _("Too many changes at once: wait a moment and try again."),
        # A refused value, by the field it was typed in.
        "field:quantity": whole,
        "field:reorder_level": whole,
        "field:selling_price": price,
        "field:cost_price": price,
        "field:net_quantity": _("Type the pack size as a number, such as 500."),
        "field:name": _("Give the product a name."),
        "field:barcode": _("That barcode is not valid: check the digits."),
        # The API's problem codes.
        "negative_price": price,
        "invalid_price": price,
        "negative_quantity": whole,
        "invalid_quantity": whole,
        "reorder_level_required": whole,
        "invalid_name": _("Give the product a name."),
        "invalid_barcode": _("That barcode is not valid: check the digits."),
        "unknown_unit": _("Choose a unit from the list."),
        "duplicate_barcode": _("Another product already has this barcode."),
        "possible_duplicate": _(
            "This looks like a product already in the catalog. Pick it below, or press "
            "“None of these” again to create it anyway."
        ),
        "stock_item_exists": _("This store already stocks it: edit its row in the table."),
        "stock_item_not_found": _("That item is gone: reload the page."),
        "product_rejected": _("That product was turned down in review and cannot be stocked."),
        "product_merged": _("That product was merged into another: reload the page."),
        # The page's own messages.
        "reading": _("Reading the barcode…"),
        "no_barcode": _("No barcode found in that photo; try closer and in focus."),
        "found": _("Found %(code)s: type the counted quantity."),
        "not_stocked": _("%(code)s is not stocked here. Add it below."),
        "not_in_catalog": _("Not in the catalog yet: fill in the name and check."),
        "added": _("Added to the store."),
        "added_name": _("Added %(name)s to the store."),
        "already_stocked": _("This store already stocks it: edit its row in the table."),
        "stock_this": _("Stock this"),
        "stocked_here": _("already stocked here"),
        "go_to_row": _("Go to its row"),
        "likely_duplicate": _("This looks like a product the catalog already has."),
        "possible_matches": _("Possible matches below."),
        **candidate_reason_words(),
    }


def candidate_reason_words() -> dict[str, str]:
    """Why the catalog offers a candidate, in words for a shop owner, by the matcher's
    reason code (catalog/match_reasons.py); %(a)s and %(b)s are the values written in the
    reason. The script picks the name's wording by how alike the names are, says "same
    brand and size" for the two together, and shows a reason with no words here as the
    matcher wrote it."""
    return {
        "reason:same_barcode": _("same barcode"),
        "reason:different_barcodes": _("a different barcode"),
        "reason:same_image": _("same photo"),
        "reason:regional_name": _("same name in another language"),
        "reason:sounds_alike": _("name sounds the same in another script"),
        "reason:name_same": _("same name"),
        "reason:name_almost": _("name almost the same"),
        "reason:name_similar": _("similar name"),
        "reason:name_partly": _("name partly the same"),
        "reason:same_model": _("same model number %(a)s"),
        "reason:model_variants": _("another version of model %(a)s"),
        "reason:different_models": _("different model: %(a)s vs %(b)s"),
        "reason:model_suffixes_differ": _("model numbers end differently"),
        "reason:specifications_differ": _("different specifications"),
        "reason:numbers_differ": _("different numbers in the name: %(a)s"),
        "reason:edition_differs": _("different edition: %(a)s"),
        "reason:platform_differs": _("made for a different system: %(a)s"),
        "reason:colour_differs": _("different colour: %(a)s vs %(b)s"),
        "reason:accessory": _("one is an accessory for the other"),
        "reason:same_brand": _("same brand"),
        "reason:different_brands": _("different brand: %(a)s vs %(b)s"),
        "reason:brand_not_in_name": _("brand missing from one name"),
        "reason:same_quantity": _("same size"),
        "reason:same_brand_and_size": _("same brand and size"),
        "reason:different_quantity": _("different size: %(a)s vs %(b)s"),
    }


@login_required
def dashboard(request: HttpRequest, store_id: int) -> HttpResponse:
    store = stores_for(page_principal(request)).filter(pk=store_id).first()
    if store is None:
        raise Http404("no such store")  # not 403: other tenants' ids stay unconfirmed
    q = request.GET.get("q", "").strip()
    low = request.GET.get("low") == "1"
    items = store_items(store, q=q, low=low).prefetch_related("product__images__blob")
    items = list(items.order_by("product__name")[: PAGE_SIZE + 1])
    for item in items:
        pictures = list(item.product.images.all())
        item.thumbnail = images.image_urls(pictures[0].blob)["thumbnail"] if pictures else None
    context = {
        "store": store,
        "items": items[:PAGE_SIZE],
        "truncated": len(items) > PAGE_SIZE,
        "q": q,
        "low": low,
        "units": UNITS,
        "words": dashboard_words(),
        "staff_page": True,
    }
    return render(request, "inventory/dashboard.html", context)


PHOTO_PROBLEMS = {
    "image_too_large": lambda: _("That photo is too large. Take it again at a lower size."),
    "image_not_an_image": lambda: _("That file is not a photo: choose a JPEG, PNG or WebP."),
    "image_format_not_allowed": lambda: _("Choose a JPEG, PNG or WebP photo."),
    "image_corrupt": lambda: _("That photo could not be read. Try taking it again."),
    "image_dimensions_too_large": lambda: _(
        "That photo is too large. Take it again at a lower size."
    ),
    "too_many_images": lambda: _("This product has as many photos as it can show."),
    "product_merged": lambda: _("This product was merged into another: reload the page."),
}


@login_required
@require_POST
def upload_photo(request: HttpRequest, store_id: int, item_id: int) -> HttpResponse:
    """A photo for a stock item of a store the caller works in: `kind=product` shows it on
    the catalog product (every store's shop), `kind=shelf` keeps it as this store's own
    picture of its shelf. Then back to the dashboard with what happened."""
    principal = page_principal(request)
    store = stores_for(principal).filter(pk=store_id).first()
    item = None if store is None else StockItem.objects.filter(store=store, pk=item_id).first()
    if item is None:
        raise Http404("no such item")
    upload = request.FILES.get("photo")
    if upload is None:
        messages.error(request, _("Choose a photo first."))
        return redirect("store-dashboard", store_id=store.pk)
    try:
        if request.POST.get("kind") == "shelf":
            item.custom_images.add(images.store_image(data=upload))
        else:
            product = get_product_for(principal, item.product_id)
            images.ensure_accepts_images(product)
            blob = images.store_image(data=upload)
            images.attach_image(product=product, blob=blob, principal=principal)
    except DomainError as exc:  # ImageRejected included
        problem = PHOTO_PROBLEMS.get(exc.code)
        messages.error(request, problem() if problem else _("That photo could not be used."))
    else:
        messages.success(
            request,
            _("Photo added to %(name)s. The smaller sizes appear in a moment.")
            % {"name": item.product.name},
        )
    return redirect("store-dashboard", store_id=store.pk)
