"""A fake ordinary web shop whose product data lives only in its HTML pages.

Each product page ``GET /p/<slug>`` is rendered in the product's *mode* (chosen per product by
the test with ``add(..., mode=...)`` or `JsonLdShop.set_mode`):

* ``"jsonld"`` — ``<script type="application/ld+json">`` with a schema.org ``Product`` whose
  ``offers`` is one ``Offer`` (a list of Offers when the product has variants), plus the visible
  price. ``"jsonld_graph"`` — the same Product inside ``{"@context", "@graph": [WebPage,
  BreadcrumbList, Product]}``. ``"jsonld_aggregate"`` — ``offers`` is an ``AggregateOffer``
  (``lowPrice``, ``highPrice``, ``offerCount``, ``priceCurrency``, ``availability`` and nested
  ``offers``).
* ``"opengraph"`` — no JSON-LD, only ``og:type=product``, ``og:title``, ``og:availability`` and
  ``product:availability`` (``"in stock"`` / ``"out of stock"``), and the price as
  ``product:price:amount`` / ``product:price:currency`` (``og_prefix="product"``, default) or
  ``og:price:amount`` / ``og:price:currency`` (``og_prefix="og"``); amounts like ``1299.00``.
* ``"microdata"`` — only ``itemscope itemtype="https://schema.org/Product"`` markup with
  ``itemprop="name"``, an ``Offer`` with ``<meta itemprop="priceCurrency" content>``,
  ``<span itemprop="price" content="1299.00">₹1,299.00</span>`` and
  ``<link itemprop="availability" href=".../InStock">``.
* ``"duplicate_price"`` — JSON-LD with ``"price": 1299`` (a number) and the same price visible
  as ``₹1,299.00``: one price in two formats, not two prices.
* ``"jsonld_graph_ref"`` — ``@graph`` where the Product's ``offers`` are ``{"@id": ...}``
  references to Offer nodes elsewhere in the graph, and each offer's ``seller`` a reference to
  an Organization node.
* ``"ambiguous"`` — no structured data; several distinct visible prices (variant prices, an
  MRP, "customers also bought" prices) with no markup saying which is the product's.
* ``"text"`` — no structured data; the price visible exactly once and "In stock" /
  "Out of stock" text.

Options per product: ``availability_style`` ``"https"`` (``https://schema.org/InStock``),
``"http"`` (``http://schema.org/OutOfStock``), ``"bare"`` (``InStock``) or ``"lower"``
(``instock``); ``price_style`` ``"number"`` (``1299`` / ``12.5``), ``"string"``
(``"1299.00"``), ``"indian"`` (``"Rs. 1,299"``) or ``"european"`` (``"1.299,00"``) for
JSON-LD and microdata prices; ``availability_value`` overrides the availability URL/text
outright (e.g. ``"https://schema.org/PreOrder"``); ``display_style`` for the visible price:
``"symbol"`` (``₹1,299.00``, default), ``"indian"`` (``Rs. 1,299/-``), ``"european"``
(``1.299,00 €``) or ``"devanagari"`` (``₹1,299.00`` in Devanagari digits); ``language``
``"hi"`` writes the stock wording and buttons in Hindi (``स्टॉक में`` / ``स्टॉक में नहीं``);
``offer_style`` ``"variants"`` (default: one offer per variant, with its sku and name) or
``"sellers"`` (the variants are sellers of one article: every offer has the product's sku
and a ``seller`` named by the variant's title).

Discovery: ``GET /`` links to the category pages; ``GET /c/<category>?page=N`` (``all`` = every
product) lists ``page_size`` products as ``<a class="product-link" href="/p/<slug>">`` with
``<link rel="next">`` / ``<a rel="next">`` to the next page; ``GET /sitemap.xml`` is a
``<urlset>`` of absolute product URLs with ``<lastmod>``; ``GET /robots.txt`` names the sitemap.
Removed products vanish from listings and the sitemap and their page answers 404.
"""

from __future__ import annotations

import html
import json
from decimal import Decimal
from typing import Any

from tests.fakes.shop_server import (
    Product,
    Request,
    Response,
    ShopServer,
    iso_time,
    json_number,
)

MODES = (
    "jsonld",
    "jsonld_graph",
    "jsonld_aggregate",
    "opengraph",
    "microdata",
    "duplicate_price",
    "ambiguous",
    "text",
    "jsonld_graph_ref",
)
_SCHEMA = {"https": "https://schema.org/", "http": "http://schema.org/", "bare": "", "lower": ""}
_PRICE_STYLES = {"number", "string", "indian", "european"}
_DISPLAY_STYLES = {"symbol", "indian", "european", "devanagari"}
_DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
_WORDS = {
    "en": {"in": "In stock", "out": "Out of stock", "add": "Add to cart", "sold": "Sold out"},
    "hi": {"in": "स्टॉक में", "out": "स्टॉक में नहीं", "add": "कार्ट में जोड़ें", "sold": "बिक गया"},
}
_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£"}


def display_price(amount: Decimal, currency: str, style: str = "symbol") -> str:
    """How the page shows money: ``₹1,299.00``, ``$12.50``, ``CHF 9.90``; ``style`` as the
    ``display_style`` option (``Rs. 1,299/-``, ``1.299,00 €``, Devanagari digits)."""
    symbol = _SYMBOLS.get(currency)
    text = f"{amount:,.2f}"
    if style == "indian":
        return f"Rs. {amount:,.0f}/-"
    if style == "european":
        european = text.replace(",", " ").replace(".", ",").replace(" ", ".")
        return f"{european} {symbol or currency}"
    if style == "devanagari":
        return f"{symbol or currency}{text.translate(_DEVANAGARI)}"
    return f"{symbol}{text}" if symbol else f"{currency} {text}"


def markup_price(amount: Decimal, style: str) -> Any:
    """A price as structured markup states it, in a ``price_style``."""
    if style == "string":
        return f"{amount:.2f}"
    if style == "indian":
        return f"Rs. {amount:,.0f}"
    if style == "european":
        return f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return json_number(amount)


class JsonLdShop(ShopServer):
    """Plain HTML shop with product pages in a per-product structured-data mode."""

    kind = "jsonld"
    server_header = "Apache"
    default_currency = "INR"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        page_size: int = 24,
        site_name: str = "Fake Store",
    ) -> None:
        super().__init__(host, port)
        self.page_size = page_size
        self.site_name = site_name

    def add(
        self,
        name: str,
        price: Any,
        *,
        mode: str = "jsonld",
        availability_style: str = "https",
        price_style: str = "number",
        og_prefix: str = "product",
        **kwargs: Any,
    ) -> Product:
        """As `ShopServer.add` plus the page mode and its options (see the module docstring)."""
        _check(mode, availability_style, price_style, og_prefix)
        _check_options(kwargs)
        return super().add(
            name,
            price,
            mode=mode,
            availability_style=availability_style,
            price_style=price_style,
            og_prefix=og_prefix,
            **kwargs,
        )

    def set_mode(self, key: str, mode: str, **options: Any) -> None:
        """Change a product's page mode and/or options (``availability_style``, ...)."""
        with self.catalogue.lock:
            product = self.catalogue.find(key)
            if product is None:
                raise KeyError(key)
            attrs = {**product.attrs, "mode": mode, **options}
            _check(
                attrs["mode"], attrs["availability_style"], attrs["price_style"], attrs["og_prefix"]
            )
            _check_options(attrs)
            product.attrs = attrs
            self.catalogue.touch()

    def product_url(self, key: str) -> str:
        return self.url(f"/p/{self.get(key).handle}")

    # -- routing ------------------------------------------------------------------------------
    def route(self, request: Request) -> Response:
        if request.method not in {"GET", "HEAD"}:
            return Response.text("Method Not Allowed", 405)
        path = request.path
        if path.startswith("/p/"):
            slug = path.removeprefix("/p/").strip("/")
            with self.catalogue.lock:
                product = self.catalogue.find(slug)
                if product is None or product.handle != slug:
                    return self.not_found(request)
                others = [p for p in self.catalogue.live() if p.id != product.id][:3]
                return Response.html(self._product_page(product, others), conditional=True)
        if path.startswith("/c/"):
            return self._category(request, path.removeprefix("/c/").strip("/"))
        if path == "/sitemap.xml":
            return self._sitemap()
        if path == "/robots.txt":
            return Response.text(f"User-agent: *\nAllow: /\nSitemap: {self.url('/sitemap.xml')}\n")
        if path == "/":
            return self._home()
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        return Response.html(
            "<!doctype html><html><head><title>Page not found</title></head>"
            "<body><h1>Sorry, this page does not exist.</h1></body></html>",
            404,
        )

    def error_response(self, status: int, request: Request) -> Response:
        return Response.html(
            f"<!doctype html><title>Error {status}</title><h1>{status}</h1>", status
        )

    # -- pages --------------------------------------------------------------------------------
    def _layout(self, title: str, head: str, body: str) -> str:
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} | {html.escape(self.site_name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{head}
</head><body>
<header><a href="/">{html.escape(self.site_name)}</a> <nav><a href="/c/all">All products</a></nav>
</header>
<main>
{body}
</main>
<footer>&copy; {html.escape(self.site_name)}</footer>
</body></html>"""

    def _availability(self, product: Product, available: bool | None = None) -> str:
        override = product.attrs.get("availability_value")
        if override:
            return str(override)
        available = product.in_stock if available is None else available
        style = product.attrs.get("availability_style", "https")
        word = "InStock" if available else "OutOfStock"
        return word.lower() if style == "lower" else _SCHEMA[style] + word

    def _ld_price(self, product: Product, amount: Decimal) -> Any:
        if product.attrs.get("mode") == "duplicate_price":
            return json_number(amount)
        return markup_price(amount, product.attrs.get("price_style", "number"))

    def _offer(
        self, product: Product, amount: Decimal, available: bool, sku: str, name: str = ""
    ) -> dict:
        offer = {
            "@type": "Offer",
            "price": self._ld_price(product, amount),
            "priceCurrency": product.currency,
            "availability": self._availability(product, available),
            "url": self.url(f"/p/{product.handle}"),
            "sku": sku,
            "itemCondition": "https://schema.org/NewCondition",
        }
        if name:
            offer["name"] = name
        return offer

    def _offer_list(self, product: Product) -> list[dict[str, Any]]:
        mode = product.attrs.get("mode", "jsonld")
        if product.variants and product.attrs.get("offer_style") == "sellers":
            offers = []
            for n, v in enumerate(product.variants, 1):
                offer = self._offer(product, v.price, v.available, product.sku or product.handle)
                seller = {"@type": "Organization", "name": v.title}
                if mode == "jsonld_graph_ref":
                    seller = {"@id": self.url(f"/seller/{n}")}
                offers.append({**offer, "seller": seller})
            return offers
        if product.variants:
            return [
                self._offer(
                    product, v.price, v.available, v.sku or v.id, f"{product.name} {v.title}"
                )
                for v in product.variants
            ]
        return [self._offer(product, product.price, product.available, product.sku or product.id)]

    def _ld_product(self, product: Product) -> dict[str, Any]:
        mode = product.attrs.get("mode", "jsonld")
        doc: dict[str, Any] = {
            "@type": "Product",
            "name": product.name,
            "sku": product.sku or product.handle,
            "image": product.image or self.url(f"/img/{product.handle}.jpg"),
            "description": product.description or product.name,
            "brand": {"@type": "Brand", "name": product.brand or self.site_name},
        }
        offers = self._offer_list(product)
        if mode == "jsonld_aggregate":
            prices = [v.price for v in product.variants] or [product.price]
            doc["offers"] = {
                "@type": "AggregateOffer",
                "lowPrice": self._ld_price(product, min(prices)),
                "highPrice": self._ld_price(product, max(prices)),
                "offerCount": len(offers),
                "priceCurrency": product.currency,
                "availability": self._availability(product),
                "offers": offers,
            }
        elif mode == "jsonld_graph_ref":
            doc["offers"] = [{"@id": f"#offer-{n}"} for n in range(1, len(offers) + 1)]
        else:
            doc["offers"] = offers[0] if len(offers) == 1 else offers
        return doc

    def _graph_extras(self, product: Product) -> list[dict[str, Any]]:
        """The Offer and seller nodes a ``jsonld_graph_ref`` Product points at."""
        nodes: list[dict[str, Any]] = [
            {"@id": f"#offer-{n}", **offer} for n, offer in enumerate(self._offer_list(product), 1)
        ]
        if product.variants and product.attrs.get("offer_style") == "sellers":
            nodes += [
                {"@type": "Organization", "@id": self.url(f"/seller/{n}"), "name": v.title}
                for n, v in enumerate(product.variants, 1)
            ]
        return nodes

    def _product_page(self, product: Product, others: list[Product]) -> str:
        mode = product.attrs.get("mode", "jsonld")
        esc = html.escape
        style = product.attrs.get("display_style", "symbol")
        shown = display_price(product.price, product.currency, style)
        words = _WORDS[product.attrs.get("language", "en")]
        stock_text = words["in"] if product.in_stock else words["out"]
        button = (
            f'<button class="add-to-cart">{words["add"]}</button>'
            if product.in_stock
            else f'<button class="add-to-cart" disabled>{words["sold"]}</button>'
        )
        head = f'<link rel="canonical" href="{self.url(f"/p/{product.handle}")}">'
        body = f'<h1 class="product-title">{esc(product.name)}</h1>\n'
        if mode in {
            "jsonld",
            "duplicate_price",
            "jsonld_aggregate",
            "jsonld_graph",
            "jsonld_graph_ref",
        }:
            ld = {"@context": "https://schema.org", **self._ld_product(product)}
            if mode in {"jsonld_graph", "jsonld_graph_ref"}:
                page_url = self.url(f"/p/{product.handle}")
                ld = {
                    "@context": "https://schema.org",
                    "@graph": [
                        {"@type": "WebPage", "@id": page_url, "url": page_url},
                        {
                            "@type": "BreadcrumbList",
                            "itemListElement": [
                                {"@type": "ListItem", "position": 1, "name": "Home", "item": "/"}
                            ],
                        },
                        self._ld_product(product),
                        *(self._graph_extras(product) if mode == "jsonld_graph_ref" else []),
                    ],
                }
            head += (
                '\n<script type="application/ld+json">'
                + json.dumps(ld, ensure_ascii=False, indent=1)
                + "</script>"
            )
            body += f'<div class="product-price"><span class="price">{shown}</span></div>\n'
            body += f'<p class="stock">{stock_text}</p>\n{button}\n'
        elif mode == "opengraph":
            prefix = "og" if product.attrs.get("og_prefix") == "og" else "product"
            availability = "in stock" if product.in_stock else "out of stock"
            head += f"""
<meta property="og:type" content="product">
<meta property="og:title" content="{esc(product.name)}">
<meta property="og:url" content="{self.url(f"/p/{product.handle}")}">
<meta property="og:availability" content="{availability}">
<meta property="product:availability" content="{availability}">
<meta property="{prefix}:price:amount" content="{product.price:.2f}">
<meta property="{prefix}:price:currency" content="{product.currency}">"""
            body += f'<div class="product-price">{shown}</div>\n<p>{stock_text}</p>\n{button}\n'
        elif mode == "microdata":
            micro_price = markup_price(product.price, product.attrs.get("price_style", "string"))
            if product.attrs.get("price_style", "number") == "number":
                micro_price = f"{product.price:.2f}"
            body = f"""<div itemscope itemtype="https://schema.org/Product">
<h1 class="product-title" itemprop="name">{esc(product.name)}</h1>
<meta itemprop="sku" content="{esc(product.sku or product.handle)}">
<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
<meta itemprop="priceCurrency" content="{product.currency}">
<span class="price" itemprop="price" content="{esc(str(micro_price))}">{shown}</span>
<link itemprop="availability" href="{self._availability(product)}">
<span>{stock_text}</span>
</div>
{button}
</div>
"""
        elif mode == "ambiguous":
            prices = [v.price for v in product.variants] or [product.price]
            mrp = (max(prices) * Decimal("1.25")).quantize(Decimal("1"))
            body += '<div class="prices">\n'
            for amount in prices:
                body += f'<span class="price">{display_price(amount, product.currency)}</span>\n'
            body += f'<span class="price">{display_price(mrp, product.currency)}</span>\n'
            body += "</div>\n<p>" + stock_text + "</p>\n" + button + "\n"
            body += '<section class="related"><h2>Customers also bought</h2>\n'
            # Related-product prices: the other products' where they differ, and always two
            # more, so the page never has a single obvious price.
            related = [o.price for o in others if o.price not in prices] + [
                (product.price * Decimal("0.4")).quantize(Decimal("1")),
                (product.price * Decimal("1.7")).quantize(Decimal("1")),
            ]
            for amount in related:
                body += '<div class="card"><span class="price">'
                body += f"{display_price(amount, product.currency)}</span></div>\n"
            body += "</section>\n"
        elif mode == "text":
            body += f"<p>Price: {shown}</p>\n<p>{stock_text}</p>\n{button}\n"
        page = self._layout(product.name, head, body)
        if product.attrs.get("language", "en") != "en":
            page = page.replace('<html lang="en">', f'<html lang="{product.attrs["language"]}">')
        return page

    def _category(self, request: Request, category: str) -> Response:
        page = max(1, request.int_arg("page", 1))
        with self.catalogue.lock:
            items = [
                p for p in self.catalogue.live() if category == "all" or category in p.categories
            ]
            if not items and category != "all":
                return self.not_found(request)
            start = (page - 1) * self.page_size
            chunk = items[start : start + self.page_size]
            cards = "\n".join(
                f'<li class="product-card"><a class="product-link" href="/p/{p.handle}">'
                f"{html.escape(p.name)}</a> "
                f'<span class="card-price">{display_price(p.price, p.currency)}</span></li>'
                for p in chunk
            )
            has_next = start + self.page_size < len(items)
        head = ""
        nav = ""
        if has_next:
            head += f'<link rel="next" href="/c/{category}?page={page + 1}">'
            nav += f'<a rel="next" href="/c/{category}?page={page + 1}">Next</a>'
        if page > 1:
            head += f'\n<link rel="prev" href="/c/{category}?page={page - 1}">'
        body = f'<h1>{html.escape(category.title())}</h1>\n<ul class="products">\n{cards}\n</ul>'
        body += f"\n<nav class=pagination>{nav}</nav>"
        return Response.html(self._layout(category.title(), head, body), conditional=True)

    def _home(self) -> Response:
        with self.catalogue.lock:
            categories = sorted({c for p in self.catalogue.live() for c in p.categories})
        links = "\n".join(
            f'<li><a href="/c/{c}">{html.escape(c.title())}</a></li>' for c in categories
        )
        body = (
            f'<ul class="categories">\n<li><a href="/c/all">All products</a></li>\n{links}\n</ul>'
        )
        return Response.html(self._layout("Home", "", body), conditional=True)

    def _sitemap(self) -> Response:
        with self.catalogue.lock:
            entries = "\n".join(
                f"  <url><loc>{self.url(f'/p/{p.handle}')}</loc>"
                f"<lastmod>{iso_time(p.updated_at)}</lastmod></url>"
                for p in self.catalogue.live()
            )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{entries}\n</urlset>\n"
        )
        return Response.text(xml, content_type="application/xml", conditional=True)


def _check(mode: str, availability_style: str, price_style: str, og_prefix: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if availability_style not in _SCHEMA:
        raise ValueError(f"availability_style must be one of {sorted(_SCHEMA)}")
    if price_style not in _PRICE_STYLES:
        raise ValueError(f"price_style must be one of {sorted(_PRICE_STYLES)}")
    if og_prefix not in {"product", "og"}:
        raise ValueError("og_prefix must be 'product' or 'og'")


def _check_options(options: dict[str, Any]) -> None:
    if options.get("display_style", "symbol") not in _DISPLAY_STYLES:
        raise ValueError(f"display_style must be one of {sorted(_DISPLAY_STYLES)}")
    if options.get("language", "en") not in _WORDS:
        raise ValueError(f"language must be one of {sorted(_WORDS)}")
    if options.get("offer_style", "variants") not in {"variants", "sellers"}:
        raise ValueError("offer_style must be 'variants' or 'sellers'")
