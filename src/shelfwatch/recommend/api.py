"""`/api/v1/products/{id}/recommendations` (public, as the product) and
`/api/v1/recommendations/for-me` (signed in)."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from ninja import Query, Router

from shelfwatch.accounts.authentication import api_auth, optional_auth, principal_of
from shelfwatch.accounts.permissions import require_principal
from shelfwatch.catalog.selectors import get_product_for
from shelfwatch.inventory.models import Store
from shelfwatch.recommend import selectors
from shelfwatch.recommend.schemas import ForMeOut, ProductRecommendationsOut, StoreQuery

products_router = Router(tags=["recommendations"])
recommendations_router = Router(tags=["recommendations"])


def _picks_out(picks: list[selectors.Pick], store: Store | None) -> list[dict]:
    """The picks as API entries; their products' regional names must be prefetched."""
    out = []
    for pick in picks:
        regional: dict[str, list[str]] = {}
        for entry in pick.product.regional_names.all():
            regional.setdefault(entry.language, []).append(entry.name)
        out.append(
            {
                "id": pick.product.pk,
                "name": pick.product.name,
                "brand": pick.product.brand,
                "regional_names": regional,
                "price": pick.stock.selling_price if pick.stock else None,
                "currency": store.currency if store is not None else None,
                "in_stock_here": pick.in_stock_here,
                "reason": pick.reason,
            }
        )
    return out


@products_router.get(
    "/{product_id}/recommendations", response=ProductRecommendationsOut, auth=optional_auth
)
def for_product(request: HttpRequest, product_id: int, query: Query[StoreQuery]):
    """Bought together with the product, also viewed with it, and similar products: in
    stock only, those in stock at `store` first. A product the caller may not see is a
    404."""
    product = get_product_for(principal_of(request), product_id)
    store = selectors.store_for(query.store)
    together = selectors.bought_together(product, store=store)
    viewed = selectors.also_viewed(product, store=store)
    similar = selectors.similar_products(product, store=store)
    # One query for the regional names of all three lists.
    prefetch_related_objects([p.product for p in (*together, *viewed, *similar)], "regional_names")
    return {
        "product": product.pk,
        "store": query.store,
        "together": _picks_out(together, store),
        "also_viewed": _picks_out(viewed, store),
        "similar": _picks_out(similar, store),
    }


@recommendations_router.get("/for-me", response=ForMeOut, auth=api_auth)
def for_me(request: HttpRequest, query: Query[StoreQuery]):
    """For the signed-in caller, from their own orders: what they buy again and what goes
    with it, in stock only, those in stock at `store` first."""
    principal = require_principal(principal_of(request))
    store = selectors.store_for(query.store)
    picks = selectors.for_you(principal.user, store=store)
    prefetch_related_objects([pick.product for pick in picks], "regional_names")
    return {"store": query.store, "items": _picks_out(picks, store)}
