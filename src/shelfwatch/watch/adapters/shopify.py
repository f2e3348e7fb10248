"""Shopify storefronts: the public `products.json`, page by page.

A product is available when any of its variants is; its price is the lowest price among
the available variants (or among all when none is). Settings: `collection` (a collection
handle, to watch only that collection) and `handles` (watch only these products).
"""

from __future__ import annotations

from typing import Any

from shelfwatch.watch.adapters.base import (
    Fetcher,
    ItemState,
    NeedsConfiguration,
    PollResult,
    SourceProblem,
    to_price,
)

kind = "shopify"
PAGE_SIZE = 250
MAX_PAGES = 100


def clean_settings(settings: dict[str, Any], base_url: str) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    collection = str(settings.get("collection") or "").strip().strip("/")
    if collection:
        if not collection.replace("-", "").replace("_", "").isalnum():
            raise NeedsConfiguration(f"{collection!r} is not a collection handle")
        cleaned["collection"] = collection
    handles = settings.get("handles") or []
    if not isinstance(handles, list) or not all(isinstance(h, str) and h for h in handles):
        raise NeedsConfiguration("handles must be a list of product handles")
    if handles:
        cleaned["handles"] = sorted(set(handles))
    return cleaned


def listing_url(base_url: str, settings: dict[str, Any]) -> str:
    base = base_url.rstrip("/")
    if settings.get("collection"):
        return f"{base}/collections/{settings['collection']}/products.json"
    return f"{base}/products.json"


def item_from_product(product: dict[str, Any], *, base_url: str, listed_at: str) -> ItemState:
    """One `products.json` product as an ItemState."""
    variants = [v for v in product.get("variants") or [] if isinstance(v, dict)]
    available_variants = [v for v in variants if v.get("available")]
    # Some storefronts omit `available` on variants; then nothing says either way.
    known = any("available" in v for v in variants)
    priced = available_variants or variants
    prices = [p for p in (to_price(v.get("price")) for v in priced) if p is not None]
    images = product.get("images") or []
    image = images[0].get("src", "") if images and isinstance(images[0], dict) else ""
    handle = str(product.get("handle") or "")
    return ItemState(
        external_id=str(product.get("id") or handle),
        name=str(product.get("title") or handle)[:500],
        available=bool(available_variants) if known else None,
        price=min(prices) if prices else None,
        url=f"{base_url.rstrip('/')}/products/{handle}" if handle else "",
        image_url=image if image.startswith(("http://", "https://")) else "",
        listed_at_url=listed_at,
    )


def poll(
    *, base_url: str, settings: dict[str, Any], state: dict[str, Any], fetcher: Fetcher
) -> PollResult:
    url = listing_url(base_url, settings)
    wanted = set(settings.get("handles") or ())
    pages_before = int(state.get("pages") or 0)
    result = PollResult()
    for page in range(1, MAX_PAGES + 1):
        page_url = f"{url}?limit={PAGE_SIZE}&page={page}"
        response = fetcher.get(page_url, conditional=True)
        if response is None:
            result.unchanged_urls.add(page_url)
            if page >= pages_before:
                # The list ended on this page last time, and it has not changed since.
                result.state = {**state, "pages": page}
                return result
            continue
        if response.status in (404, 410):
            raise SourceProblem(f"{url} not found: not a Shopify storefront?", code="not_found")
        try:
            products = response.json().get("products")
        except (ValueError, AttributeError):
            products = None
        if not isinstance(products, list):
            raise SourceProblem(f"{page_url} is not products.json", code="unexpected_response")
        for product in products:
            if not isinstance(product, dict):
                continue
            if wanted and product.get("handle") not in wanted:
                continue
            result.items.append(item_from_product(product, base_url=base_url, listed_at=page_url))
        if len(products) < PAGE_SIZE:
            result.state = {**state, "pages": page}
            return result
    result.complete = False  # more pages than we read: do not call the rest gone
    return result
