"""Product facts from an HTML page: schema.org JSON-LD, then microdata, then OpenGraph.

`extract_product(html)` reads what the page states about its product: name, image and the
offers (price, currency, availability, and the sku, name, url and seller that tell offers
apart). Markup values are read as schema.org prescribes (`parse_price(structured=True)`),
visible text as shops write it; "1299.00" in markup and "₹1,299" on screen are one price.
Standard library only: the parser needs scripts, meta tags and itemprop attributes, not a
DOM (bench/page_extraction.py compares it with extruct).
"""

from __future__ import annotations

import html
import json
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin

from shelfwatch.watch.adapters.base import ParsedPrice, currency_code, parse_price
from shelfwatch.watch.adapters.page_markup import PageParser

# Availability words once lower-cased and stripped of spaces, "_" and "-" ("in stock",
# "in_stock", "InStock" alike); Hindi as Indian shops write it.
IN_STOCK = {
    "instock",
    "limitedavailability",
    "onlineonly",
    "instoreonly",
    "madetoorder",
    "availablefororder",
    "available",
    "स्टॉकमें",
    "उपलब्ध",
    "उपलब्धहै",
}
OUT_OF_STOCK = {
    "outofstock",
    "soldout",
    "discontinued",
    "preorder",
    "presale",
    "backorder",
    "oos",
    "unavailable",
    "स्टॉकमेंनहीं",
    "स्टॉकखत्म",
    "स्टॉकख़त्म",
    "उपलब्धनहीं",
    "बिकगया",
}
_PRODUCT_TYPES = {"product", "productgroup", "individualproduct", "productmodel", "vehicle"}
# Products a page mentions besides its own: related, similar, listed.
_ELSEWHERE = {"isrelatedto", "issimilarto", "itemlistelement", "isaccessoryorsparepartfor"}


@dataclass(frozen=True)
class PageOffer:
    """One offer the page states; `price` None when it states none."""

    price: Decimal | None
    currency: str
    available: bool | None
    origin: str  # "json-ld", "microdata", "opengraph" or "text"
    sku: str = ""
    name: str = ""
    url: str = ""
    seller: str = ""

    @property
    def label(self) -> str:
        """Sku, name and url: the text an `offer` setting is matched against."""
        return " ".join(p for p in (self.sku, self.name, self.url) if p)

    def describe(self) -> str:
        """How a message names this offer so the user can copy it into `offer`."""
        key = self.sku or self.name or self.url or self.seller or "an offer"
        text = f"'{key}'"
        if self.sku and self.name:
            text += f" ({self.name})"
        if self.seller:
            text += f" from {self.seller}"
        if self.price is not None:
            text += f" {self.price}{' ' + self.currency if self.currency else ''}"
        if self.available is not None:
            text += " in stock" if self.available else " out of stock"
        return text


@dataclass
class PageProduct:
    """The product a page describes; `text` is its visible text, for currency signs."""

    name: str = ""
    image: str = ""
    sku: str = ""
    offers: list[PageOffer] = field(default_factory=list)
    text: str = field(default="", repr=False)

    def distinct_prices(self) -> list[Decimal]:
        """The different prices of the offers, lowest first; offers without a price are left out."""
        return sorted({o.price for o in self.offers if o.price is not None})

    def currency_shown_for(self, amount: Decimal) -> str:
        """The currency of a visible price equal to `amount`; "" when none says."""
        for found in visible_prices(self.text):
            if found.amount == amount and found.currency:
                return found.currency
        return ""


def availability_of(value: Any) -> bool | None:
    """schema.org / OpenGraph availability ("https://schema.org/InStock", "instock",
    "out of stock", "स्टॉक में") as True/False; None when it says nothing we know."""
    if not isinstance(value, str) or not value.strip():
        return None
    word = re.split(r"[/:#]", value.strip().rstrip("/"))[-1]
    word = re.sub(r"[\s_.-]+", "", word).lower()
    if word in IN_STOCK:
        return True
    if word in OUT_OF_STOCK:
        return False
    return None


# Money on screen: a sign before the amount ("₹1,299", "Rs. 99", "CHF 1'299.00") or after
# it ("1.299,00 €", "1 299,50 zł"); spaces group thousands only before a trailing sign,
# so "₹450 100 g" stays 450.
_SIGNS = (
    r"₹|रु\.?|Rs\.?|INR|US\$|[CAR]\$|S\$|HK\$|\$|€|EUR|£|GBP|zł|PLN|CHF|Fr\.|kr\.?|SEK|NOK"
    r"|DKK|¥|JPY|USD|AED"
)
_AMOUNT_BEFORE = r"\d{1,3}(?:[,.'\u2019]\d{2,3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_AMOUNT_AFTER = r"\d{1,3}(?:[,.'\u2019\u00a0\u202f ]\d{2,3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_VISIBLE_PRICE = re.compile(
    rf"(?<![^\W\d_])(?:{_SIGNS})\s?(?:{_AMOUNT_BEFORE})(?!\d)"
    rf"|(?<![\d.,'])(?:{_AMOUNT_AFTER})\s?(?:{_SIGNS})(?![^\W\d_])",
    re.IGNORECASE,
)
_OUT_TEXT = re.compile(
    r"\b(out of stock|sold out|currently unavailable|notify me)\b"
    r"|स्टॉक में नहीं|स्टॉक ख़?त्म|उपलब्ध नहीं|बिक गया",
    re.IGNORECASE,
)
_IN_TEXT = re.compile(
    r"\b(in stock|add to cart|add to bag|buy now)\b"
    r"|स्टॉक में|कार्ट में (?:जोड़ें|डालें)|अभी खरीदें",
    re.IGNORECASE,
)


def visible_prices(text: str) -> list[ParsedPrice]:
    """Every amount written with a currency sign or code in `text`, in order."""
    found = (parse_price(m.group()) for m in _VISIBLE_PRICE.finditer(text))
    return [p for p in found if p.amount is not None]


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {re.split(r"[/:#]", str(n))[-1].lower() for n in names if n}


# A comma before a closing bracket, outside strings: themes that loop over offers or
# variants often leave one, and browsers' readers forgive it.
_TRAILING_COMMA = re.compile(r'("(?:\\.|[^"\\])*")|,\s*(?=[}\]])')


def _load_json_ld(script: str) -> Any:
    text = script.strip()
    # Old CMS templates wrap the block in an HTML comment or CDATA markers.
    text = re.sub(r"^\s*(?:<!--|//\s*<!\[CDATA\[)|(?:-->|//\s*\]\]>)\s*$", "", text).strip()
    for attempt in (text, _TRAILING_COMMA.sub(r"\1", text)):
        try:
            # strict=False: raw newlines inside strings, which templates often leave.
            return json.loads(attempt, strict=False)
        except (ValueError, RecursionError):
            continue
    return None


def product_nodes(documents: Iterable[Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The Product objects of JSON-LD documents, the page's own first, and every object by
    its @id (for offers and sellers given as references)."""
    by_id: dict[str, Any] = {}
    products: list[tuple[int, int, dict[str, Any]]] = []
    # Breadth first, so a top-level Product comes before the related products it lists.
    queue: deque[tuple[Any, int, bool]] = deque((doc, 0, False) for doc in documents)
    order = 0
    while queue:
        node, depth, elsewhere = queue.popleft()
        if isinstance(node, list):
            queue.extend((n, depth, elsewhere) for n in node)
            continue
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("@id"), str) and len(node) > 1:
            by_id.setdefault(node["@id"], node)
        if _PRODUCT_TYPES & _types(node):
            products.append((1 if elsewhere else 0, order, node))
            order += 1
        for key, value in node.items():
            if key in ("offers", "hasVariant") or not isinstance(value, (dict, list)):
                continue
            queue.append((value, depth + 1, elsewhere or key.lower() in _ELSEWHERE))
    products.sort(key=lambda entry: entry[:2])
    return [p for _, _, p in products], by_id


def _value(value: Any) -> Any:
    """A JSON-LD value as given: the first of a list, the @value of a value object."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value")
    return value


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("name") or ""
    # Templates often entity-escape JSON-LD text ("Tea &amp; Biscuits") and wrap lines.
    return " ".join(html.unescape(str(value or "")).split())


def _resolve(value: Any, by_id: dict[str, Any]) -> Any:
    if isinstance(value, dict) and set(value) == {"@id"}:
        return by_id.get(value["@id"], value)
    return value


def _offer_price(offer: dict[str, Any]) -> tuple[ParsedPrice, str]:
    """The offer's price and the currency its markup states."""
    currency = _text(offer.get("priceCurrency"))
    price = parse_price(_value(offer.get("price")), structured=True)
    if price.amount is None:
        specs = offer.get("priceSpecification")
        specs = specs if isinstance(specs, list) else [specs]
        # A list price or strike-through price is what it used to cost, not the price.
        specs = [s for s in specs if isinstance(s, dict) and s.get("price") is not None]
        current = [s for s in specs if not re.search(r"list|strike", _text(s.get("priceType")))]
        for spec in current or specs:
            price = parse_price(_value(spec.get("price")), structured=True)
            currency = currency or _text(spec.get("priceCurrency"))
            break
    if price.amount is None and offer.get("lowPrice") is not None:
        price = parse_price(_value(offer.get("lowPrice")), structured=True)
    return price, currency


def _offers_of(
    product: dict[str, Any], by_id: dict[str, Any], origin: str, inherited: dict[str, Any]
) -> list[PageOffer]:
    raw = _resolve(product.get("offers"), by_id)
    queue = [
        (_resolve(o, by_id), inherited)
        for o in (raw if isinstance(raw, list) else [raw] if raw else [])
    ]
    offers: list[PageOffer] = []
    while queue:
        offer, outer = queue.pop(0)
        if not isinstance(offer, dict):
            continue
        nested = _resolve(offer.get("offers"), by_id)
        if "aggregateoffer" in _types(offer) and nested:
            # The aggregate's currency and availability hold for offers that omit theirs.
            context = {
                **outer,
                **{k: offer[k] for k in ("priceCurrency", "availability") if k in offer},
            }
            queue.extend(
                (_resolve(n, by_id), context)
                for n in (nested if isinstance(nested, list) else [nested])
            )
            continue
        price, currency = _offer_price(offer)
        seller = _resolve(offer.get("seller") or offer.get("offeredBy"), by_id)
        offers.append(
            PageOffer(
                price=price.amount,
                currency=currency_code(currency or _text(outer.get("priceCurrency")))
                or price.currency,
                available=availability_of(
                    _text(offer.get("availability")) or _text(outer.get("availability"))
                ),
                origin=origin,
                sku=_text(offer.get("sku")) or _text(outer.get("sku")),
                name=_text(offer.get("name")) or _text(outer.get("name")),
                url=_text(offer.get("url")),
                seller=_text(seller),
            )
        )
    return offers


def product_from_nodes(
    products: list[dict[str, Any]], by_id: dict[str, Any], origin: str
) -> PageProduct | None:
    """The page's product from schema.org Product objects (JSON-LD, or microdata read into
    the same shape): the first with offers, its variants' offers included."""
    if not products:
        return None
    node = next((p for p in products if p.get("offers") or p.get("hasVariant")), products[0])
    product = PageProduct(
        name=_text(node.get("name")),
        image=_text(node.get("image")),
        sku=_text(node.get("sku")),
        offers=_offers_of(node, by_id, origin, {}),
    )
    variants = node.get("hasVariant") or []
    for variant in variants if isinstance(variants, list) else [variants]:
        variant = _resolve(variant, by_id)
        if isinstance(variant, dict):
            own = {k: variant[k] for k in ("sku", "name") if variant.get(k)}
            product.offers.extend(_offers_of(variant, by_id, origin, own))
    return product


def _from_json_ld(scripts: list[str]) -> PageProduct | None:
    products, by_id = product_nodes(_load_json_ld(s) for s in scripts)
    return product_from_nodes(products, by_id, "json-ld")


def _from_microdata(parser: PageParser) -> PageProduct | None:
    products, by_id = product_nodes(parser.items)
    product = product_from_nodes(products, by_id, "microdata")
    if product is None or not product.offers:
        # No Product item: Offer items, or loose itemprops, stand for the page's offer.
        offers = [i for i in parser.items if "offer" in " ".join(_types(i))]
        loose = parser.loose if "price" in parser.loose or "availability" in parser.loose else {}
        if offers or loose:
            holder = {"offers": offers or [{**loose, "@type": "Offer"}]}
            found = _offers_of(holder, by_id, "microdata", {})
            product = product or PageProduct(name=_text(parser.loose.get("name")))
            product.offers = found
    return product


def _from_opengraph(meta: dict[str, list[str]]) -> list[PageOffer]:
    amounts = meta.get("product:price:amount") or meta.get("og:price:amount") or []
    stated = (meta.get("product:price:currency") or meta.get("og:price:currency") or [""])[0]
    availability = (meta.get("product:availability") or meta.get("og:availability") or [""])[0]
    available = availability_of(availability)
    offers = []
    for amount in amounts:
        price = parse_price(amount, structured=True)
        currency = currency_code(stated) or price.currency
        offers.append(PageOffer(price.amount, currency, available, "opengraph"))
    if not offers and available is not None:
        offers.append(PageOffer(None, currency_code(stated), available, "opengraph"))
    return offers


def _text_availability(visible: str) -> bool | None:
    return False if _OUT_TEXT.search(visible) else True if _IN_TEXT.search(visible) else None


def _from_text(parser: PageParser, visible: str) -> list[PageOffer]:
    """Last resort for pages without markup: prices written in the (selected) text."""
    text = " ".join(parser.selected) if parser.selector else visible
    available = _text_availability(visible)
    prices: dict[Decimal, str] = {}
    for found in visible_prices(text):
        if found.amount is not None and not prices.get(found.amount):
            prices[found.amount] = found.currency
    return [PageOffer(p, prices[p], available, "text") for p in sorted(prices)]


def _fill(offers: list[PageOffer], extra: list[PageOffer]) -> list[PageOffer]:
    """`offers` with the price, availability or currency none of them states taken from
    `extra` (another vocabulary on the page) when that says one thing; `extra` appended
    when it states several prices and `offers` none, so the choice is not hidden."""
    if not extra:
        return offers
    if not offers:
        return list(extra)
    prices = {o.price for o in extra if o.price is not None}
    availability = {o.available for o in extra if o.available is not None}
    currencies = {o.currency for o in extra if o.currency}
    filled = offers
    if all(o.price is None for o in offers):
        if len(prices) > 1:
            return offers + [o for o in extra if o.price is not None]
        if prices:
            filled = [replace(o, price=next(iter(prices))) for o in filled]
    if all(o.available is None for o in offers) and len(availability) == 1:
        filled = [replace(o, available=next(iter(availability))) for o in filled]
    if len(currencies) == 1:
        filled = [o if o.currency else replace(o, currency=next(iter(currencies))) for o in filled]
    return filled


def extract_product(html: str, *, price_selector: str = "") -> PageProduct | None:
    """The product the page describes, or None when it states none of the ways we read.

    Markup first (JSON-LD, then microdata, then OpenGraph, each filling in what the ones
    before leave unsaid); a page without any is read as text: prices written with a currency
    sign (only inside `price_selector`, when given) and "in stock" / "out of stock" wording.
    """
    parser = PageParser(price_selector)
    parser.feed(html)
    parser.close()
    visible = " ".join(parser.visible)
    product = _from_json_ld(parser.scripts) if parser.scripts else None
    micro = _from_microdata(parser) if parser.items or parser.loose else None
    product = product or micro or PageProduct()
    product.text = visible
    if micro is not None and micro is not product:
        product.offers = _fill(product.offers, micro.offers)
    product.offers = _fill(product.offers, _from_opengraph(parser.meta))
    if not product.offers:
        product.offers = _from_text(parser, visible)
    elif all(o.price is None for o in product.offers) or all(
        o.available is None for o in product.offers
    ):
        # Markup that leaves the price or the stock unsaid: the visible page may say it, but
        # only an unambiguous text price stands in for the markup's.
        shown = _from_text(parser, visible)
        if len(shown) > 1:
            shown = [PageOffer(None, "", shown[0].available, "text")]
        product.offers = _fill(product.offers, shown)
    if not product.name:
        product.name = (parser.meta.get("og:title") or [""])[0]
    if not product.name and parser.title:
        # "Product | Site name": the part before the separator names the product.
        product.name = re.split(r"\s[|\u2013-]\s", parser.title.strip(), maxsplit=1)[0]
    if not product.image:
        product.image = (parser.meta.get("og:image") or [""])[0]
    if not product.offers:
        return None
    return product


_HREF_SCHEMES = re.compile(r"^(https?:)?//|^/|^[\w./-]")


def page_links(html: str, base_url: str) -> list[str]:
    """Absolute http(s) links of a page, in order, without fragments or duplicates."""
    parser = PageParser()
    parser.feed(html)
    parser.close()
    seen: list[str] = []
    for href in parser.links:
        if not _HREF_SCHEMES.match(href):
            continue
        absolute = urljoin(base_url, href).split("#", 1)[0]
        if absolute.startswith(("http://", "https://")) and absolute not in seen:
            seen.append(absolute)
    return seen
