"""Product facts from an HTML page: schema.org JSON-LD, then OpenGraph, then microdata.

`extract_product(html)` reads what the page states about its product: name, image and the
offers (price, currency, availability). Prices are normalised to Decimal, so "1,299.00"
and 1299 are one price. Standard library only: the parser needs scripts, meta tags and
itemprop attributes, not a DOM.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from shelfwatch.watch.adapters.base import to_price

IN_STOCK = {"instock", "limitedavailability", "onlineonly", "instoreonly", "in stock", "instock."}
OUT_OF_STOCK = {
    "outofstock",
    "soldout",
    "discontinued",
    "preorder",
    "presale",
    "backorder",
    "out of stock",
    "oos",
}


@dataclass(frozen=True)
class PageOffer:
    price: Decimal | None
    currency: str
    available: bool | None
    label: str  # sku, offer name or url: what a selector can match
    origin: str  # "json-ld", "opengraph" or "microdata"


@dataclass
class PageProduct:
    name: str = ""
    image: str = ""
    sku: str = ""
    offers: list[PageOffer] = field(default_factory=list)

    def distinct_prices(self) -> list[Decimal]:
        return sorted({o.price for o in self.offers if o.price is not None})


def availability_of(value: Any) -> bool | None:
    """schema.org / OpenGraph availability ("https://schema.org/InStock", "instock",
    "out of stock") as True/False; None when it says nothing we know."""
    if not isinstance(value, str) or not value.strip():
        return None
    word = value.strip().rstrip("/").rsplit("/", 1)[-1].lower()
    if word in IN_STOCK:
        return True
    if word in OUT_OF_STOCK:
        return False
    return None


_VISIBLE_PRICE = re.compile(r"(?:₹|Rs\.?|INR|\$|€|£)\s?(\d[\d,]*(?:\.\d{1,2})?)")
_OUT_TEXT = re.compile(r"\b(out of stock|sold out|currently unavailable|notify me)\b", re.I)
_IN_TEXT = re.compile(r"\b(in stock|add to cart|add to bag|buy now)\b", re.I)
_SELECTOR = re.compile(r"^(?P<tag>[a-z][a-z0-9]*)?(?:\.(?P<cls>[\w-]+)|#(?P<id>[\w-]+))?$")


def selector_is_valid(selector: str) -> bool:
    return _selector_parts(selector) is not None


def _selector_parts(selector: str) -> tuple[str, str, str] | None:
    """`tag`, `.class`, `#id` or `tag.class`; None for anything else."""
    match = _SELECTOR.match(selector.strip())
    if match is None or not any(match.groups()):
        return None
    return match["tag"] or "", match["cls"] or "", match["id"] or ""


class _PageParser(HTMLParser):
    def __init__(self, selector: str = "") -> None:
        super().__init__(convert_charrefs=True)
        self.selector = _selector_parts(selector) if selector else None
        self.selected: list[str] = []
        self.visible: list[str] = []
        self._skip = 0
        self._select_depth = 0
        self._select_tag = ""
        self.scripts: list[str] = []
        self.meta: dict[str, list[str]] = {}
        self.itemprops: list[tuple[str, str]] = []
        self.links: list[str] = []
        self.title = ""
        self._in_title = False
        self._in_ld = False
        self._ld_parts: list[str] = []
        self._text_prop: str | None = None
        self._text_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag in ("script", "style", "noscript", "template"):
            self._skip += 1
        if tag == "title":
            self._in_title = True
        if self._select_depth and tag == self._select_tag:
            self._select_depth += 1
        elif self.selector and not self._select_depth and not self.selected:
            want_tag, want_class, want_id = self.selector
            if (
                (not want_tag or tag == want_tag)
                and (not want_class or want_class in values.get("class", "").split())
                and (not want_id or values.get("id") == want_id)
            ):
                self._select_depth, self._select_tag = 1, tag
        if tag == "script" and "ld+json" in values.get("type", "").lower():
            self._in_ld = True
            self._ld_parts = []
            return
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").lower()
            if key and "content" in values:
                self.meta.setdefault(key, []).append(values["content"])
            if values.get("itemprop") and "content" in values:
                self.itemprops.append((values["itemprop"].lower(), values["content"]))
            return
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        prop = values.get("itemprop", "").lower()
        if prop:
            if "content" in values:
                self.itemprops.append((prop, values["content"]))
            elif tag == "link" and values.get("href"):
                self.itemprops.append((prop, values["href"]))
            elif tag not in ("img", "link"):
                self._text_prop = prop
                self._text_parts = []

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self._ld_parts.append(data)
            return
        if self._in_title:
            self.title += data
            return
        if self._text_prop is not None:
            self._text_parts.append(data)
        if not self._skip:
            self.visible.append(data)
            if self._select_depth:
                self.selected.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "template") and self._skip:
            self._skip -= 1
        if tag == "title":
            self._in_title = False
        if self._select_depth and tag == self._select_tag:
            self._select_depth -= 1
        if tag == "script" and self._in_ld:
            self._in_ld = False
            self.scripts.append("".join(self._ld_parts))
        elif self._text_prop is not None:
            text = " ".join("".join(self._text_parts).split())
            if text:
                self.itemprops.append((self._text_prop, text))
            self._text_prop = None


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {str(n).rsplit("/", 1)[-1].lower() for n in names if n}


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every object in a JSON-LD document, @graph and nesting included."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, list):
            stack.extend(reversed(current))
        elif isinstance(current, dict):
            found.append(current)
            stack.extend(
                v for k, v in current.items() if k != "offers" and isinstance(v, (dict, list))
            )
    return found


def _first_text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("name") or ""
    return str(value or "").strip()


def _offers_of(product: dict[str, Any]) -> list[PageOffer]:
    raw = product.get("offers")
    queue = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    offers: list[PageOffer] = []
    while queue:
        offer = queue.pop(0)
        if not isinstance(offer, dict):
            continue
        nested = offer.get("offers")
        if "aggregateoffer" in _types(offer) and nested:
            queue.extend(nested if isinstance(nested, list) else [nested])
            continue
        price = to_price(offer.get("price"))
        if price is None:
            spec = offer.get("priceSpecification")
            spec = spec[0] if isinstance(spec, list) and spec else spec
            if isinstance(spec, dict):
                price = to_price(spec.get("price"))
        if price is None and offer.get("lowPrice") is not None:
            price = to_price(offer.get("lowPrice"))
        label = " ".join(
            str(offer.get(k) or "") for k in ("sku", "name", "url") if offer.get(k)
        ).strip()
        offers.append(
            PageOffer(
                price=price,
                currency=str(offer.get("priceCurrency") or "")[:3].upper(),
                available=availability_of(offer.get("availability")),
                label=label,
                origin="json-ld",
            )
        )
    return offers


def _from_json_ld(scripts: list[str]) -> PageProduct | None:
    for script in scripts:
        try:
            document = json.loads(script.strip())
        except ValueError:
            continue
        for node in _walk(document):
            if not {"product", "productgroup", "individualproduct"} & _types(node):
                continue
            product = PageProduct(
                name=_first_text(node.get("name")),
                image=_first_text(node.get("image")),
                sku=str(node.get("sku") or ""),
                offers=_offers_of(node),
            )
            for variant in node.get("hasVariant") or []:
                if isinstance(variant, dict):
                    product.offers.extend(_offers_of(variant))
            return product
    return None


def _from_opengraph(meta: dict[str, list[str]]) -> list[PageOffer]:
    amounts = meta.get("product:price:amount") or meta.get("og:price:amount") or []
    currency = (meta.get("product:price:currency") or meta.get("og:price:currency") or [""])[0]
    availability = (meta.get("product:availability") or meta.get("og:availability") or [""])[0]
    available = availability_of(availability.replace(" ", ""))
    offers = [
        PageOffer(
            price=to_price(amount),
            currency=currency[:3].upper(),
            available=available,
            label="",
            origin="opengraph",
        )
        for amount in amounts
    ]
    if not offers and available is not None:
        offers.append(PageOffer(None, currency[:3].upper(), available, "", "opengraph"))
    return offers


def _from_microdata(itemprops: list[tuple[str, str]]) -> list[PageOffer]:
    prices = [to_price(v) for k, v in itemprops if k in ("price", "lowprice")]
    currency = next((v for k, v in itemprops if k == "pricecurrency"), "")
    availability = next(
        (
            a
            for a in (availability_of(v) for k, v in itemprops if k == "availability")
            if a is not None
        ),
        None,
    )
    offers = [
        PageOffer(p, currency[:3].upper(), availability, "", "microdata") for p in prices if p
    ]
    if not offers and availability is not None:
        offers.append(PageOffer(None, currency[:3].upper(), availability, "", "microdata"))
    return offers


def _from_text(parser: _PageParser) -> list[PageOffer]:
    """Last resort for pages without markup: prices written in the (selected) text."""
    text = " ".join(parser.selected if parser.selector else parser.visible)
    whole = " ".join(parser.visible)
    available = False if _OUT_TEXT.search(whole) else True if _IN_TEXT.search(whole) else None
    prices = {to_price(m.group(1)) for m in _VISIBLE_PRICE.finditer(text)}
    return [PageOffer(p, "", available, "", "text") for p in sorted(prices) if p is not None]


def extract_product(html: str, *, price_selector: str = "") -> PageProduct | None:
    """The product the page describes, or None when it states none of the ways we read.

    Markup first (JSON-LD, OpenGraph, microdata); a page without any is read as text:
    prices written with a currency sign (only inside `price_selector`, when given) and
    "in stock" / "out of stock" wording.
    """
    parser = _PageParser(price_selector)
    parser.feed(html)
    parser.close()
    product = _from_json_ld(parser.scripts) or PageProduct()
    if not any(o.price is not None for o in product.offers) or not any(
        o.available is not None for o in product.offers
    ):
        # JSON-LD missing or partial: the other vocabularies fill in.
        extra = _from_opengraph(parser.meta) or _from_microdata(parser.itemprops)
        product.offers.extend(extra or ([] if product.offers else _from_text(parser)))
    if not product.name:
        product.name = (parser.meta.get("og:title") or [""])[0] or next(
            (v for k, v in parser.itemprops if k == "name"), ""
        )
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
    parser = _PageParser()
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
