"""A fake Shopify storefront speaking the public (unauthenticated) storefront endpoints.

Endpoints (``<handle>`` is the product handle; unknown or removed handles answer 404):

* ``GET /products.json?limit=<1..250, default 30>&page=<n, default 1>`` →
  ``{"products": [product, ...]}``; a page past the end is ``{"products": []}``. Without ``page``
  the response also carries a cursor ``Link: <.../products.json?limit=N&page_info=TOKEN>;
  rel="next"`` (and ``rel="previous"``) header, and ``?page_info=TOKEN`` continues from there.
  ``/collections/<handle>/products.json`` is the same filtered by category (``all`` = everything).
  A product: ``{"id": int, "title", "handle", "body_html", "published_at", "created_at",
  "updated_at", "vendor", "product_type", "tags": [..], "variants": [{"id": int, "title",
  "option1", "option2", "option3", "sku", "requires_shipping", "taxable", "featured_image",
  "available": bool, "price": "123.00", "grams", "compare_at_price": "150.00" | null,
  "position", "product_id", "created_at", "updated_at"}], "images": [{"id", "src", ...}],
  "options": [{"name", "position", "values"}]}``. Prices are strings with two decimals.
* ``GET /products/<handle>.json`` → ``{"product": {...}}`` in the admin-style shape: ``tags`` is
  one comma-separated string, variants carry ``price`` strings, ``price_currency``,
  ``inventory_management`` — and, as on real shops, **no** ``available`` field. Use
  products.json or the ``.js`` endpoint for availability.
* ``GET /products/<handle>.js`` (the AJAX API) → ``{"id", "title", "handle", "vendor", "type",
  "tags": [..], "price": 12300 (cents, int), "price_min", "price_max", "price_varies",
  "compare_at_price": cents | null, "available": bool (any variant), "variants": [{"id", "title",
  "available", "price": cents, "compare_at_price": cents | null, "sku", "options", ...}],
  "images": ["//cdn.shopify.com/..."], "url": "/products/<handle>", ...}``.
* ``GET /products/<handle>`` → the product HTML page with Shopify's markers:
  ``Shopify.shop = "<shop>.myshopify.com"``, ``cdn.shopify.com`` asset URLs,
  ``<meta name="shopify-digital-wallet">``, og:price tags and a JSON-LD Product.
* ``GET /`` → a home page linking to every product page.
* ``GET /meta.json`` → the shop's public facts: ``{"id", "name", "city", "province",
  "country", "currency": "USD", "domain", "url", "myshopify_domain", "description",
  "ships_to_countries", "money_format", "published_collections_count",
  "published_products_count"}``. products.json states no currency; this is where a client
  learns it (``currency=`` of the constructor).
* ``GET /cart.js`` → an empty cart: ``{"token", "note", "attributes", "original_total_price",
  "total_price", "total_discount", "total_weight", "item_count": 0, "items": [],
  "requires_shipping", "currency", "items_subtotal_price", "cart_level_discount_applications"}``.

A product added with ``without_handle=True`` is listed with ``"handle": null``; its pages
answer at ``/products/<id>`` (and ``.json``/``.js``) instead of a handle.

Every response has the headers ``X-ShopId``, ``X-Shopify-Stage: production`` and
``Powered-By: Shopify``. Inventory counts are not exposed (Shopify storefronts hide them);
``Product.quantity`` is ignored here. A product without explicit variants is rendered with one
"Default Title" variant. Listing and product responses carry ETag/Last-Modified.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
from decimal import Decimal
from typing import Any

from tests.fakes.shop_server import Product, Request, Response, ShopServer, Variant, iso_time

MAX_LIMIT = 250
DEFAULT_LIMIT = 30
TZ_HOURS = -4  # Shopify renders times in the shop's zone with an explicit offset


def money(value: Decimal | None) -> str | None:
    """Shopify's JSON money: a string with two decimals."""
    return None if value is None else f"{value:.2f}"


def cents(value: Decimal | None) -> int | None:
    """Shopify's AJAX money: an integer number of minor units."""
    return None if value is None else int((value * 100).to_integral_value())


class ShopifyShop(ShopServer):
    """A Shopify storefront. Variants: pass ``variants=[{"title": "1 kg", "price": "49.90",
    "available": False}, ...]`` to `add`; otherwise one default variant mirrors the product."""

    kind = "shopify"
    server_header = "cloudflare"
    default_currency = "USD"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        shop_domain: str = "fake-shop.myshopify.com",
        shop_id: int = 55512345,
        currency: str = "USD",
    ) -> None:
        super().__init__(host, port)
        self.shop_domain = shop_domain
        self.shop_id = shop_id
        self.default_currency = currency  # the shop's currency, and its products' by default
        self._product_ids = itertools.count(7_000_000_000_001)
        self._variant_ids = itertools.count(40_000_000_000_001)

    def new_id(self) -> str:
        return str(next(self._product_ids))

    def new_variant_id(self) -> str:
        return str(next(self._variant_ids))

    def add(self, name: str, price: Any, **kwargs: Any) -> Product:
        """As `ShopServer.add`; also ``product_type=`` and ``tags=[...]``. Ids are integers
        (as strings in the catalogue, ints on the wire)."""
        kwargs.setdefault("default_variant_id", self.new_variant_id())
        return super().add(name, price, **kwargs)

    def variant_ids(self, key: str) -> list[str]:
        """Ids of the variants as rendered (the default variant's id for a plain product)."""
        product = self.get(key)
        return [v.id for v in _variants(product)]

    # -- routing ------------------------------------------------------------------------------
    def extra_headers(self, request: Request) -> list[tuple[str, str]]:
        return [
            ("X-ShopId", str(self.shop_id)),
            ("X-Shopify-Stage", "production"),
            ("Powered-By", "Shopify"),
        ]

    def route(self, request: Request) -> Response:
        if request.method not in {"GET", "HEAD"}:
            return Response.json({"errors": "Method Not Allowed"}, 405)
        path = request.path.rstrip("/") or "/"
        if path == "/products.json":
            return self._listing(request, None)
        if path.startswith("/collections/") and path.endswith("/products.json"):
            collection = path.removeprefix("/collections/").removesuffix("/products.json")
            return self._listing(request, None if collection == "all" else collection)
        if path.startswith("/products/"):
            rest = path.removeprefix("/products/")
            for suffix, render in ((".json", self._product_json), (".js", self._product_js)):
                if rest.endswith(suffix):
                    return self._one(request, rest.removesuffix(suffix), render)
            return self._one(request, rest, self._product_page)
        if path == "/":
            return self._home()
        if path == "/meta.json":
            return self._meta()
        if path == "/cart.js":
            return self._cart()
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        if request.path.endswith((".json", ".js")):
            return Response.json({"errors": "Not Found"}, 404)
        return Response.html("<!doctype html><title>404 Not Found</title><h1>404</h1>", 404)

    def error_response(self, status: int, request: Request) -> Response:
        phrase = {429: "Too Many Requests", 500: "Internal Server Error"}.get(status, "Error")
        if request.path.endswith((".json", ".js")):
            return Response.json({"errors": phrase}, status)
        return Response.html(f"<!doctype html><title>{phrase}</title><h1>{phrase}</h1>", status)

    def _one(self, request: Request, handle: str, render: Any) -> Response:
        with self.catalogue.lock:
            product = self.catalogue.find(handle)
            if product is None or _path_key(product) != handle:
                return self.not_found(request)
            return render(product)

    def _meta(self) -> Response:
        with self.catalogue.lock:
            count = len(self.catalogue)
            collections = {c for p in self.catalogue.live() for c in p.categories}
        return Response.json(
            {
                "id": self.shop_id,
                "name": "Fake Shop",
                "city": "Ottawa",
                "province": "Ontario",
                "country": "CA",
                "currency": self.default_currency,
                "domain": self.shop_domain,
                "url": self.base_url,
                "myshopify_domain": self.shop_domain,
                "description": "",
                "ships_to_countries": ["CA", "US"],
                "money_format": "${{amount}}",
                "published_collections_count": len(collections),
                "published_products_count": count,
            }
        )

    def _cart(self) -> Response:
        return Response.json(
            {
                "token": f"c1-{self.shop_id:x}",
                "note": None,
                "attributes": {},
                "original_total_price": 0,
                "total_price": 0,
                "total_discount": 0,
                "total_weight": 0.0,
                "item_count": 0,
                "items": [],
                "requires_shipping": False,
                "currency": self.default_currency,
                "items_subtotal_price": 0,
                "cart_level_discount_applications": [],
            }
        )

    def _listing(self, request: Request, collection: str | None) -> Response:
        limit = request.int_arg("limit", DEFAULT_LIMIT)
        limit = max(1, min(limit, MAX_LIMIT))
        cursor_mode = request.arg("page") is None
        offset = 0
        token = request.arg("page_info")
        if token:
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(token + "==").decode())["o"])
            except (ValueError, KeyError, TypeError):
                return Response.json({"errors": {"page_info": "Invalid value."}}, 400)
        elif not cursor_mode:
            offset = (max(1, request.int_arg("page", 1)) - 1) * limit
        with self.catalogue.lock:
            items = [
                p for p in self.catalogue.live() if collection is None or collection in p.categories
            ]
            page = [self._listing_product(p) for p in items[offset : offset + limit]]
            total = len(items)
        headers: list[tuple[str, str]] = []
        if cursor_mode:
            base = self.url(request.path)
            links = []
            if offset + limit < total:
                links.append(
                    f'<{base}?limit={limit}&page_info={_token(offset + limit)}>; rel="next"'
                )
            if offset > 0:
                prev = max(0, offset - limit)
                links.append(f'<{base}?limit={limit}&page_info={_token(prev)}>; rel="previous"')
            if links:
                headers.append(("Link", ", ".join(links)))
        return Response.json({"products": page}, headers=headers, conditional=True)

    # -- renderers ----------------------------------------------------------------------------
    def _images(self, product: Product) -> list[dict[str, Any]]:
        src = product.image or (
            f"https://cdn.shopify.com/s/files/1/0{self.shop_id}/files/{product.handle}.jpg"
            f"?v={int(product.updated_at)}"
        )
        return [
            {
                "id": int(product.id) + 23_000_000_000_000,
                "created_at": iso_time(product.created_at, TZ_HOURS),
                "position": 1,
                "updated_at": iso_time(product.updated_at, TZ_HOURS),
                "product_id": int(product.id),
                "variant_ids": [],
                "src": src,
                "width": 1024,
                "height": 1024,
            }
        ]

    def _listing_product(self, product: Product) -> dict[str, Any]:
        variants = _variants(product)
        return {
            "id": int(product.id),
            "title": product.name,
            "handle": _handle(product),
            "body_html": f"<p>{html.escape(product.description)}</p>",
            "published_at": iso_time(product.created_at, TZ_HOURS),
            "created_at": iso_time(product.created_at, TZ_HOURS),
            "updated_at": iso_time(product.updated_at, TZ_HOURS),
            "vendor": product.brand or "Fake Shop",
            "product_type": product.attrs.get("product_type", ""),
            "tags": list(product.attrs.get("tags", [])),
            "variants": [
                {
                    "id": int(v.id),
                    "title": v.title,
                    "option1": v.title,
                    "option2": None,
                    "option3": None,
                    "sku": v.sku,
                    "requires_shipping": True,
                    "taxable": True,
                    "featured_image": None,
                    "available": v.available,
                    "price": money(v.price),
                    "grams": 0,
                    "compare_at_price": money(v.compare_at_price),
                    "position": i,
                    "product_id": int(product.id),
                    "created_at": iso_time(product.created_at, TZ_HOURS),
                    "updated_at": iso_time(product.updated_at, TZ_HOURS),
                }
                for i, v in enumerate(variants, 1)
            ],
            "images": self._images(product),
            "options": [{"name": "Title", "position": 1, "values": [v.title for v in variants]}],
        }

    def _product_json(self, product: Product) -> Response:
        variants = _variants(product)
        images = self._images(product)
        doc = {
            "id": int(product.id),
            "title": product.name,
            "body_html": f"<p>{html.escape(product.description)}</p>",
            "vendor": product.brand or "Fake Shop",
            "product_type": product.attrs.get("product_type", ""),
            "created_at": iso_time(product.created_at, TZ_HOURS),
            "handle": _handle(product),
            "updated_at": iso_time(product.updated_at, TZ_HOURS),
            "published_at": iso_time(product.created_at, TZ_HOURS),
            "template_suffix": None,
            "published_scope": "web",
            "tags": ", ".join(product.attrs.get("tags", [])),
            "variants": [
                {
                    "id": int(v.id),
                    "product_id": int(product.id),
                    "title": v.title,
                    "price": money(v.price),
                    "sku": v.sku,
                    "position": i,
                    "compare_at_price": money(v.compare_at_price),
                    "fulfillment_service": "manual",
                    "inventory_management": "shopify",
                    "option1": v.title,
                    "option2": None,
                    "option3": None,
                    "created_at": iso_time(product.created_at, TZ_HOURS),
                    "updated_at": iso_time(product.updated_at, TZ_HOURS),
                    "taxable": True,
                    "barcode": "",
                    "grams": 0,
                    "image_id": None,
                    "weight": 0.0,
                    "weight_unit": "kg",
                    "requires_shipping": True,
                    "price_currency": product.currency,
                    "compare_at_price_currency": product.currency if v.compare_at_price else "",
                }
                for i, v in enumerate(variants, 1)
            ],
            "options": [
                {
                    "id": int(product.id) + 1,
                    "product_id": int(product.id),
                    "name": "Title",
                    "position": 1,
                    "values": [v.title for v in variants],
                }
            ],
            "images": images,
            "image": images[0] if images else None,
        }
        return Response.json({"product": doc}, conditional=True)

    def _product_js(self, product: Product) -> Response:
        variants = _variants(product)
        prices = [cents(v.price) or 0 for v in variants]
        compares = [cents(v.compare_at_price) or 0 for v in variants]
        image = self._images(product)[0]["src"].removeprefix("https:")
        doc = {
            "id": int(product.id),
            "title": product.name,
            "handle": _handle(product),
            "description": f"<p>{html.escape(product.description)}</p>",
            "published_at": iso_time(product.created_at, TZ_HOURS),
            "created_at": iso_time(product.created_at, TZ_HOURS),
            "vendor": product.brand or "Fake Shop",
            "type": product.attrs.get("product_type", ""),
            "tags": list(product.attrs.get("tags", [])),
            "price": min(prices),
            "price_min": min(prices),
            "price_max": max(prices),
            "available": any(v.available for v in variants),
            "price_varies": min(prices) != max(prices),
            "compare_at_price": min(c for c in compares) or None,
            "compare_at_price_min": min(compares),
            "compare_at_price_max": max(compares),
            "compare_at_price_varies": min(compares) != max(compares),
            "variants": [
                {
                    "id": int(v.id),
                    "title": v.title,
                    "option1": v.title,
                    "option2": None,
                    "option3": None,
                    "sku": v.sku,
                    "requires_shipping": True,
                    "taxable": True,
                    "featured_image": None,
                    "available": v.available,
                    "name": product.name
                    if v.title == "Default Title"
                    else f"{product.name} - {v.title}",
                    "public_title": None if v.title == "Default Title" else v.title,
                    "options": [v.title],
                    "price": cents(v.price),
                    "weight": 0,
                    "compare_at_price": cents(v.compare_at_price),
                    "inventory_management": "shopify",
                    "barcode": "",
                    "requires_selling_plan": False,
                    "selling_plan_allocations": [],
                }
                for v in variants
            ],
            "images": [image],
            "featured_image": image,
            "options": [{"name": "Title", "position": 1, "values": [v.title for v in variants]}],
            "url": f"/products/{_path_key(product)}",
            "requires_selling_plan": False,
            "selling_plan_groups": [],
        }
        return Response.json(doc, conditional=True)

    def _product_page(self, product: Product) -> Response:
        variants = _variants(product)
        available = any(v.available for v in variants)
        esc = html.escape
        ld = {
            "@context": "http://schema.org/",
            "@type": "Product",
            "name": product.name,
            "url": self.url(f"/products/{_path_key(product)}"),
            "brand": {"@type": "Brand", "name": product.brand or "Fake Shop"},
            "offers": [
                {
                    "@type": "Offer",
                    "sku": v.sku,
                    "availability": "http://schema.org/"
                    + ("InStock" if v.available else "OutOfStock"),
                    "price": money(v.price),
                    "priceCurrency": product.currency,
                    "url": self.url(f"/products/{_path_key(product)}?variant={v.id}"),
                }
                for v in variants
            ],
        }
        meta = {
            "product": {
                "id": int(product.id),
                "vendor": product.brand,
                "type": product.attrs.get("product_type", ""),
                "variants": [
                    {"id": int(v.id), "price": cents(v.price), "name": v.title} for v in variants
                ],
            },
            "page": {"pageType": "product", "resourceType": "product"},
        }
        button = "Add to cart" if available else "Sold out"
        page = f"""<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>{esc(product.name)} &ndash; Fake Shop</title>
<link rel="canonical" href="{self.url(f"/products/{_path_key(product)}")}">
<link rel="preconnect" href="https://cdn.shopify.com" crossorigin>
<meta property="og:type" content="product">
<meta property="og:title" content="{esc(product.name)}">
<meta property="og:price:amount" content="{money(product.price)}">
<meta property="og:price:currency" content="{product.currency}">
<meta name="shopify-digital-wallet" content="/{self.shop_id}/digital_wallets/dialog">
<meta name="shopify-checkout-api-token" content="0f1e2d3c4b5a69788796a5b4c3d2e1f0">
<link href="//cdn.shopify.com/s/files/1/0{self.shop_id}/t/3/assets/base.css?v=1" rel="stylesheet">
<script>var Shopify = Shopify || {{}};
Shopify.shop = "{self.shop_domain}";
Shopify.locale = "en";
Shopify.currency = {{"active":"{product.currency}","rate":"1.0"}};
Shopify.theme = {{"name":"Dawn","id":130000000001,"role":"main"}};</script>
<script>window.ShopifyAnalytics = window.ShopifyAnalytics || {{}};
window.ShopifyAnalytics.meta = {json.dumps(meta)};</script>
<script type="application/ld+json">{json.dumps(ld)}</script>
</head><body>
<main><h1 class="product__title">{esc(product.name)}</h1>
<div class="price"><span class="price-item price-item--regular">${money(product.price)}</span></div>
<button type="submit" name="add" {"" if available else "disabled"}>{button}</button></main>
<script src="//cdn.shopify.com/s/files/1/0{self.shop_id}/t/3/assets/global.js?v=1" defer></script>
</body></html>"""
        return Response.html(page, conditional=True)

    def _home(self) -> Response:
        with self.catalogue.lock:
            links = "\n".join(
                f'<li><a href="/products/{_path_key(p)}">{html.escape(p.name)}</a></li>'
                for p in self.catalogue.live()
            )
        page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Fake Shop</title>
<link href="//cdn.shopify.com/s/files/1/0{self.shop_id}/t/3/assets/base.css" rel="stylesheet">
<script>var Shopify = Shopify || {{}}; Shopify.shop = "{self.shop_domain}";</script>
</head><body><ul>{links}</ul></body></html>"""
        return Response.html(page, conditional=True)


def _handle(product: Product) -> str | None:
    """The handle as the storefront shows it: None for a product added `without_handle`."""
    return None if product.attrs.get("without_handle") else product.handle


def _path_key(product: Product) -> str:
    """What follows ``/products/`` in the product's URLs: its handle, or its id without one."""
    return _handle(product) or product.id


def _variants(product: Product) -> list[Variant]:
    if product.variants:
        return product.variants
    return [
        Variant(
            id=str(product.attrs.get("default_variant_id", product.id)),
            title="Default Title",
            price=product.price,
            compare_at_price=product.compare_at_price,
            available=product.available,
            quantity=product.quantity,
            sku=product.sku,
        )
    ]


def _token(offset: int) -> str:
    raw = json.dumps({"o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
