"""Any shop's product pages, read through schema.org JSON-LD, OpenGraph or microdata.

Settings name the pages: `urls` (product pages), and/or `listing_url` (a category page
whose links matching `link_pattern` are the products) or `sitemap_url`. A page with
several distinct prices needs a choice: `price_selector` (the element holding the price:
`.class`, `#id`, `tag` or `tag.class`), `offer` (the wanted offer's sku, name or url, or
text found in them; the message lists the offers) or `price_choice` ("lowest" or "highest");
without one the source is reported as needing configuration, never guessed. One article
sold by several sellers is in stock when any seller has it, at the lowest price in stock.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from shelfwatch.http.outbound import FetchError
from shelfwatch.watch.adapters.base import (
    Fetcher,
    ItemState,
    NeedsConfiguration,
    PollResult,
    SourceProblem,
)
from shelfwatch.watch.adapters.page_data import (
    PageOffer,
    PageProduct,
    extract_product,
    page_links,
)
from shelfwatch.watch.adapters.page_markup import selector_is_valid

kind = "jsonld"
MAX_PAGES = 2000
DEFAULT_LINK_PATTERN = r"/(products?|p|item|dp)/[^/?#]+"


def clean_settings(settings: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Validated settings: product page URLs (at most MAX_PAGES), a listing or sitemap URL, or else
    `base_url` as the one page; raises NeedsConfiguration for anything invalid."""
    cleaned: dict[str, Any] = {}
    urls = settings.get("urls") or []
    if not isinstance(urls, list) or not all(
        isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls
    ):
        raise NeedsConfiguration("urls must be a list of http(s) product page URLs")
    if urls:
        cleaned["urls"] = list(dict.fromkeys(urls))[:MAX_PAGES]
    for key in ("listing_url", "sitemap_url"):
        value = str(settings.get(key) or "")
        if value:
            if not value.startswith(("http://", "https://")):
                raise NeedsConfiguration(f"{key} must be an http(s) URL")
            cleaned[key] = value
    pattern = str(settings.get("link_pattern") or "")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise NeedsConfiguration(f"link_pattern is not a regular expression: {exc}") from None
        cleaned["link_pattern"] = pattern
    if settings.get("offer"):
        cleaned["offer"] = str(settings["offer"])
    selector = str(settings.get("price_selector") or "")
    if selector:
        if not selector_is_valid(selector):
            raise NeedsConfiguration("price_selector is 'tag', '.class', '#id' or 'tag.class'")
        cleaned["price_selector"] = selector
    choice = settings.get("price_choice")
    if choice:
        if choice not in ("lowest", "highest"):
            raise NeedsConfiguration("price_choice is 'lowest' or 'highest'")
        cleaned["price_choice"] = choice
    if not (cleaned.get("urls") or cleaned.get("listing_url") or cleaned.get("sitemap_url")):
        if not base_url:
            raise NeedsConfiguration("give product page urls, a listing_url or a sitemap_url")
        cleaned["urls"] = [base_url]
    return cleaned


def _one_article(offers: list[PageOffer]) -> bool:
    """Offers of one article from different sellers (same sku and name, or none)."""
    sellers = [o.seller.lower() for o in offers]
    return (
        len({(o.sku.lower(), o.name.lower()) for o in offers}) == 1
        and all(sellers)
        and len(set(sellers)) == len(sellers)
    )


def _listing(offers: list[PageOffer]) -> str:
    named = [o.describe() for o in offers if o.sku or o.name or o.url or o.seller][:10]
    more = len(offers) - len(named)
    return "; ".join(named) + (f"; and {more} more" if more > 0 and named else "")


def chosen_offers(product: PageProduct, settings: dict[str, Any], url: str) -> list[PageOffer]:
    """The offers the item is: those matching the `offer` setting (exactly by sku, name or
    url, else as part of them), or every offer; NeedsConfiguration when none matches and
    the offers differ in price."""
    offers = product.offers
    wanted = str(settings.get("offer") or "").strip().lower()
    if not wanted:
        return offers
    exact = [o for o in offers if wanted in (o.sku.lower(), o.name.lower(), o.url.lower())]
    matching = exact or [o for o in offers if wanted in o.label.lower()]
    if matching:
        return matching
    if len({o.price for o in offers if o.price is not None}) > 1:
        listing = _listing(offers)
        raise NeedsConfiguration(
            f"no offer on {url} matches offer '{settings['offer']}'"
            + (f"; its offers: {listing}" if listing else "")
        )
    return offers


def chosen_price(product: PageProduct, settings: dict[str, Any], url: str) -> Decimal | None:
    """The page's price, or NeedsConfiguration when several differ and nothing chooses.

    One article from several sellers costs what the cheapest seller in stock asks.
    """
    return _chosen(chosen_offers(product, settings, url), settings, url)[0]


def _chosen(
    offers: list[PageOffer], settings: dict[str, Any], url: str
) -> tuple[Decimal | None, str]:
    """The price of `offers` and its currency ("" when no offer states one)."""
    priced = [o for o in offers if o.price is not None]
    prices = sorted({o.price for o in priced})
    if len(prices) <= 1:
        price = prices[0] if prices else None
    elif _one_article(priced):
        buyable = [o.price for o in priced if o.available] or prices
        price = min(buyable)
    elif settings.get("price_choice") == "lowest":
        price = prices[0]
    elif settings.get("price_choice") == "highest":
        price = prices[-1]
    else:
        shown = ", ".join(str(p) for p in prices[:5])
        listing = _listing(priced)
        if listing:
            raise NeedsConfiguration(
                f"{url} shows several prices ({shown}) in different offers: {listing}. "
                "Set 'offer' to the sku or name of the one to watch, or 'price_choice' "
                "('lowest' or 'highest')"
            )
        raise NeedsConfiguration(
            f"{url} shows several prices ({shown}); set 'price_selector', 'offer' or "
            "'price_choice' to pick one"
        )
    currency = next((o.currency for o in priced if o.price == price and o.currency), "")
    return price, currency or next((o.currency for o in offers if o.currency), "")


def item_from_page(html: str, *, url: str, settings: dict[str, Any]) -> ItemState | None:
    """The item a product page shows (None when it states no product), in the currency its
    markup states or, failing that, its price's sign; NeedsConfiguration when ambiguous."""
    product = extract_product(html, price_selector=settings.get("price_selector", ""))
    if product is None:
        return None
    offers = chosen_offers(product, settings, url)
    known = [o.available for o in offers if o.available is not None]
    price, currency = _chosen(offers, settings, url)
    if not currency and price is not None:
        currency = product.currency_shown_for(price)
    return ItemState(
        external_id=url,
        name=(product.name or url)[:500],
        available=any(known) if known else None,
        price=price,
        currency=currency,
        url=url,
        image_url=product.image if product.image.startswith(("http://", "https://")) else "",
        listed_at_url=url,
    )


def _sitemap_urls(xml_text: str) -> list[str]:
    try:
        root = ET.fromstring(xml_text)  # noqa: S314 - size-capped by the guarded client
    except ET.ParseError as exc:
        raise SourceProblem(f"the sitemap is not XML: {exc}", code="unexpected_response") from None
    return [
        (node.text or "").strip()
        for node in root.iter()
        if node.tag.rsplit("}", 1)[-1] == "loc" and (node.text or "").strip()
    ]


def product_urls(settings: dict[str, Any], fetcher: Fetcher) -> list[str]:
    """Every product page the settings name or lead to, in order, at most MAX_PAGES."""
    urls = list(settings.get("urls") or [])
    pattern = re.compile(settings.get("link_pattern") or DEFAULT_LINK_PATTERN)
    if settings.get("listing_url"):
        listing = fetcher.get(settings["listing_url"])
        if listing is None or listing.status != 200:
            raise SourceProblem("the listing page is not there", code="listing_missing")
        urls += [u for u in page_links(listing.text, listing.url) if pattern.search(u)]
    if settings.get("sitemap_url"):
        sitemap = fetcher.get(settings["sitemap_url"])
        if sitemap is None or sitemap.status != 200:
            raise SourceProblem("the sitemap is not there", code="sitemap_missing")
        found = _sitemap_urls(sitemap.text)
        if settings.get("link_pattern"):
            found = [u for u in found if pattern.search(u)]
        urls += found
    return list(dict.fromkeys(urls))[:MAX_PAGES]


def _page_item(url: str, page: Any, settings: dict[str, Any]) -> ItemState | None:
    """The item a fetched page shows (None when the page is gone), or the problem."""
    if isinstance(page, Exception):
        raise page
    if page.status in (404, 410):
        return None
    item = item_from_page(page.text, url=url, settings=settings)
    if item is None:
        raise NeedsConfiguration(
            f"{url} states no product offer (no JSON-LD, OpenGraph or microdata price)"
        )
    return item


def poll(
    *, base_url: str, settings: dict[str, Any], state: dict[str, Any], fetcher: Fetcher
) -> PollResult:
    """Fetch every product page, up to the host's concurrency at once.

    A page that fails (an HTTP error, a timeout, no readable offer, several prices and no
    choice) is reported in `page_errors` and its item kept as it was; the other pages still
    count. Only when every page fails does the poll fail, with the first page's problem.
    """
    result = PollResult()
    urls = product_urls(settings, fetcher)
    first_problem: Exception | None = None
    for url, page in fetcher.get_many(urls, conditional=True):
        if page is None:
            result.unchanged_urls.add(url)
            continue
        try:
            item = _page_item(url, page, settings)
        except (FetchError, SourceProblem) as exc:
            first_problem = first_problem or exc
            result.page_errors[url] = {"code": exc.code, "message": str(exc)[:500]}
            result.unchanged_urls.add(url)  # what it showed before still stands
            continue
        if item is not None:
            result.items.append(item)
    if first_problem is not None and len(result.page_errors) == len(urls):
        raise first_problem
    return result
