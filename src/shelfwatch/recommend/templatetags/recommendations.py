"""`{% load recommendations %}`: the storefront's recommendation rows, for shop templates
(the shop app itself never imports this app; its templates name the tags).

    {% product_recommendations product store %}   bought together, also viewed, similar
    {% add_these_too store_cart %}                  for one store's part of the cart
"""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from shelfwatch.inventory.models import Store
from shelfwatch.recommend import selectors
from shelfwatch.recommend.shelves import shelf_entries

register = template.Library()

ROW_LENGTH = 6


def _language() -> str:
    return get_language() or "en"


def _for_page(picks: list[selectors.Pick], store: Store | None) -> list[selectors.Pick]:
    # With a store chosen the page sells from that store: what it lacks is left out.
    if store is not None:
        picks = [pick for pick in picks if pick.in_stock_here]
    return picks[:ROW_LENGTH]


@register.inclusion_tag("recommend/_product_rows.html")
def product_recommendations(product, store: Store | None) -> dict:
    """The product page's rows: frequently bought together, customers who viewed this also
    viewed, and similar products, in stock at the chosen store (in stock anywhere when
    none is chosen)."""
    language = _language()
    fetch = ROW_LENGTH * 2
    together = _for_page(selectors.bought_together(product, store=store, limit=fetch), store)
    viewed = _for_page(selectors.also_viewed(product, store=store, limit=fetch), store)
    similar = _for_page(selectors.similar_products(product, store=store, limit=fetch), store)
    return {
        "store": store,
        "LANGUAGE_CODE": language,
        "together": shelf_entries(together, store=store, language=language),
        "also_viewed": shelf_entries(viewed, store=store, language=language),
        "similar": shelf_entries(similar, store=store, language=language),
    }


@register.inclusion_tag("recommend/_add_these_too.html")
def add_these_too(store_cart) -> dict:
    """The cart page's row for one store's lines: what goes with all of them, in stock
    there (the store's own stock only, since the cart buys from that store)."""
    language = _language()
    store = Store.objects.filter(pk=store_cart.store_id, is_active=True).first()
    if store is None:
        return {"entries": []}
    product_ids = [priced.line.product_id for priced in store_cart.lines]
    picks = _for_page(
        selectors.add_these_too(product_ids, store=store, limit=ROW_LENGTH * 2), store
    )
    return {
        "store": store,
        "LANGUAGE_CODE": language,
        "entries": shelf_entries(picks, store=store, language=language),
    }
