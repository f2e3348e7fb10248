"""Shopify storefronts: the public `products.json`, page by page.

A product is available when any of its variants is; its price is the lowest price among
the available variants (or among all when none is). products.json does not state the
shop's currency: it is read from the storefront's `/meta.json` (or `/cart.js`) once a day
and kept in the source's state; when neither answers, items carry no currency and the poll
goes on. A product without a handle is linked as `/products/<id>`.

Settings: `collection` (a collection handle, to watch only that collection), `handles`
(watch only these products), `variants: true` (each variant its own item, "<product
id>:<variant id>", "Product - variant", linked with `?variant=<id>`) and `offer` (text in a
variant's sku, title or id, any case: only the variants it names count).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from shelfwatch.http.outbound import FetchError
from shelfwatch.watch.adapters.base import (
    Fetcher,
    HttpStatusProblem,
    ItemState,
    NeedsConfiguration,
    PollResult,
    SourceProblem,
    currency_code,
    to_price,
)
from shelfwatch.watch.adapters.storehippo import Offer, clean_variant_settings

kind = "shopify"
PAGE_SIZE = 250
MAX_PAGES = 100
CURRENCY_REFRESH = 24 * 3600  # seconds between two reads of the shop's currency
CURRENCY_RETRY = 3600  # after a failed read
CURRENCY_URLS = ("/meta.json", "/cart.js")
DEFAULT_VARIANT = "Default Title"  # the one variant Shopify gives a product without options


def clean_settings(settings: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Validated settings: a collection handle, product handles, and the variant options; raises
    NeedsConfiguration for anything invalid."""
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
    cleaned.update(clean_variant_settings(settings))
    return cleaned


def listing_url(base_url: str, settings: dict[str, Any]) -> str:
    """The URL of the shop's products.json, or of the configured collection's."""
    base = base_url.rstrip("/")
    if settings.get("collection"):
        return f"{base}/collections/{settings['collection']}/products.json"
    return f"{base}/products.json"


def _offer(variant: dict[str, Any], currency: str) -> Offer:
    return Offer(
        id=str(variant.get("id") or ""),
        name=str(variant.get("title") or "").strip(),
        sku=str(variant.get("sku") or ""),
        available=bool(variant.get("available")),
        price=to_price(variant.get("price"), structured=True),
        currency=currency,
        quantity=None,  # storefronts do not show stock counts
    )


def items_from_product(
    product: dict[str, Any],
    *,
    base_url: str,
    listed_at: str,
    currency: str = "",
    settings: dict[str, Any] | None = None,
) -> list[ItemState]:
    """The items one `products.json` product stands for: the product, or with the
    `variants` setting each of its chosen variants."""
    settings = settings or {}
    raw = [v for v in product.get("variants") or [] if isinstance(v, dict)]
    offers = [_offer(v, currency) for v in raw]
    # Some storefronts omit `available` on variants; then nothing says either way.
    known = any("available" in v for v in raw)
    wanted = settings.get("offer")
    chosen = ([o for o in offers if o.matches(wanted)] if wanted else []) or offers
    images = product.get("images") or []
    image = images[0].get("src", "") if images and isinstance(images[0], dict) else ""
    image = image if isinstance(image, str) else ""
    if image.startswith("//"):
        image = f"https:{image}"
    handle = str(product.get("handle") or "")
    product_id = str(product.get("id") or handle)
    path = handle or product_id
    url = f"{base_url.rstrip('/')}/products/{path}" if path else ""
    title = str(product.get("title") or handle)
    common = {
        "currency": currency,
        "image_url": image if image.startswith(("http://", "https://")) else "",
        "listed_at_url": listed_at,
    }
    options = not (len(offers) == 1 and offers[0].name == DEFAULT_VARIANT)
    if settings.get("variants") and options and chosen:
        return [
            ItemState(
                external_id=f"{product_id}:{o.id or n}"[:200],
                name=f"{title} - {o.name or o.sku or n}"[:500],
                available=o.available if known else None,
                price=o.price,
                url=f"{url}?variant={o.id}" if url and o.id else url,
                **common,
            )
            for n, o in enumerate(chosen, 1)
        ]
    in_stock = [o for o in chosen if o.available]
    prices = [o.price for o in in_stock or chosen if o.price is not None]
    picked = chosen[0] if len(chosen) == 1 and len(offers) > 1 else None
    return [
        ItemState(
            external_id=product_id,
            name=title[:500],
            available=bool(in_stock) if known else None,
            price=min(prices) if prices else None,
            url=f"{url}?variant={picked.id}" if url and picked and picked.id else url,
            **common,
        )
    ]


def item_from_product(
    product: dict[str, Any], *, base_url: str, listed_at: str, currency: str = ""
) -> ItemState:
    """One `products.json` product as a single ItemState (all its variants together)."""
    items = items_from_product(product, base_url=base_url, listed_at=listed_at, currency=currency)
    return items[0]


def _read_currency(base: str, fetcher: Fetcher) -> str:
    for path in CURRENCY_URLS:
        try:
            response = fetcher.get(f"{base}{path}")
        except (FetchError, HttpStatusProblem):
            continue
        if response is None or response.status != 200:
            continue
        try:
            data = response.json()
        except ValueError:
            continue
        found = currency_code(str(data.get("currency") or "")) if isinstance(data, dict) else ""
        if found:
            return found
    return ""


def shop_currency(
    base_url: str, state: dict[str, Any], fetcher: Fetcher, *, now: float | None = None
) -> tuple[str, dict[str, Any]]:
    """The shop's currency ("" when unknown) and the state entries to keep; read from the
    shop when the kept one is older than CURRENCY_REFRESH; a shop that does not answer
    leaves it as it was."""
    now = time.time() if now is None else now
    kept = str(state.get("currency") or "")
    try:
        due = float(state.get("currency_next_check") or 0) <= now
    except (TypeError, ValueError):
        due = True
    if not due:
        return kept, {}
    found = _read_currency(base_url.rstrip("/"), fetcher)
    if found:
        return found, {"currency": found, "currency_next_check": now + CURRENCY_REFRESH}
    return kept, {"currency_next_check": now + CURRENCY_RETRY}


def _read_listing(
    base_url: str,
    settings: dict[str, Any],
    state: dict[str, Any],
    fetcher: Fetcher,
    *,
    currency: str,
    conditional: bool,
) -> PollResult:
    url = listing_url(base_url, settings)
    wanted = set(settings.get("handles") or ())
    pages_before = int(state.get("pages") or 0)
    result = PollResult()
    for page in range(1, MAX_PAGES + 1):
        page_url = f"{url}?limit={PAGE_SIZE}&page={page}"
        response = fetcher.get(page_url, conditional=conditional)
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
            result.items += items_from_product(
                product,
                base_url=base_url,
                listed_at=page_url,
                currency=currency,
                settings=settings,
            )
        if len(products) < PAGE_SIZE:
            result.state = {**state, "pages": page}
            return result
    result.complete = False  # more pages than we read: do not call the rest gone
    result.state = state
    return result


def poll(
    *, base_url: str, settings: dict[str, Any], state: dict[str, Any], fetcher: Fetcher
) -> PollResult:
    """Read products.json page by page until a short page; 304 pages keep their items.
    The currency is read after the listing, so a shop that fails fails on its listing."""
    kept = str(state.get("currency") or "")
    result = _read_listing(base_url, settings, state, fetcher, currency=kept, conditional=True)
    currency, learned = shop_currency(base_url, state, fetcher)
    if not learned:
        return result
    if currency != kept:
        if result.unchanged_urls:
            # Items of unchanged pages would keep the old currency: read every page again.
            result = _read_listing(
                base_url, settings, state, fetcher, currency=currency, conditional=False
            )
        else:
            result.items = [replace(item, currency=currency) for item in result.items]
    result.state = {**(result.state or state), **learned}
    return result
