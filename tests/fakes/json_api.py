"""A fake shop with a generic, deliberately nested JSON API (for JMESPath-configured adapters).

* ``GET /v2/items?page=N&per_page=M`` (page from 1, ``per_page`` default `page_size`, max 100) →
  ``{"results": [item, ...], "count": <total>, "page": N,
  "next": "/v2/items?page=N+1" | null, "previous": "/v2/items?page=N-1" | null}``
  (``next``/``previous`` are relative URLs and keep a non-default ``per_page``).
* ``GET /v2/items/<sku>`` → one item; unknown or removed → ``404 {"error": {"code":
  "not_found", "message": ...}}``.

An item::

    {"sku": "SKU-1", "title": "...", "brand": "...", "url": "/items/<sku>",
     "stock": {"status": "in_stock" | "low_stock" | "sold_out", "count": 7 | null},
     "pricing": {"amount": "12.50", "currency": "EUR", "was": "15.00" | null},
     "updated_at": "2025-01-01T00:00:00Z"}

``status`` is ``sold_out`` when unavailable, ``low_stock`` when available with a count at or
below ``low_stock_at`` (off by default), else ``in_stock``. Amounts are strings with two
decimals. The item's key is ``Product.sku`` (defaulting to the product id).

With ``api_key`` set, every request needs ``X-API-Key: <key>``, else ``401 {"error": {"code":
"unauthorized", ...}}``. Responses carry ETag/Last-Modified.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.shop_server import Product, Request, Response, ShopServer, iso_time

MAX_PER_PAGE = 100


class JsonApiShop(ShopServer):
    """Generic JSON API shop; see the module docstring for the shapes."""

    kind = "json_api"
    server_header = "gunicorn"
    default_currency = "EUR"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        page_size: int = 20,
        api_key: str | None = None,
        low_stock_at: int | None = None,
    ) -> None:
        super().__init__(host, port)
        self.page_size = page_size
        self.api_key = api_key
        self.low_stock_at = low_stock_at

    def new_id(self) -> str:
        return f"SKU-{super().new_id()}"

    def add(self, name: str, price: Any, **kwargs: Any) -> Product:
        """As `ShopServer.add`; ``sku`` defaults to the id (``SKU-<n>``)."""
        product = super().add(name, price, **kwargs)
        if not product.sku:
            product = self.update(product.id, sku=product.id)
        return product

    def _item(self, product: Product) -> dict[str, Any]:
        if not product.available:
            status = "sold_out"
        elif (
            self.low_stock_at is not None
            and product.quantity is not None
            and product.quantity <= self.low_stock_at
        ):
            status = "low_stock"
        else:
            status = "in_stock"
        return {
            "sku": product.sku,
            "title": product.name,
            "brand": product.brand or None,
            "url": f"/items/{product.sku}",
            "stock": {"status": status, "count": product.quantity},
            "pricing": {
                "amount": f"{product.price:.2f}",
                "currency": product.currency,
                "was": None
                if product.compare_at_price is None
                else f"{product.compare_at_price:.2f}",
            },
            "updated_at": iso_time(product.updated_at),
        }

    def error_response(self, status: int, request: Request) -> Response:
        codes = {429: "rate_limited", 500: "internal_error", 503: "unavailable"}
        return Response.json(
            {"error": {"code": codes.get(status, "error"), "message": f"HTTP {status}"}}, status
        )

    def not_found(self, request: Request) -> Response:
        return Response.json({"error": {"code": "not_found", "message": "No such item"}}, 404)

    def route(self, request: Request) -> Response:
        if self.api_key is not None and request.header("x-api-key") != self.api_key:
            return Response.json(
                {"error": {"code": "unauthorized", "message": "Missing or bad X-API-Key"}}, 401
            )
        if request.method not in {"GET", "HEAD"}:
            return Response.json({"error": {"code": "method_not_allowed", "message": ""}}, 405)
        path = request.path.rstrip("/")
        if path == "/v2/items":
            return self._listing(request)
        if path.startswith("/v2/items/"):
            sku = path.removeprefix("/v2/items/")
            with self.catalogue.lock:
                for product in self.catalogue.live():
                    if product.sku == sku:
                        return Response.json(self._item(product), conditional=True)
        return self.not_found(request)

    def _listing(self, request: Request) -> Response:
        page = max(1, request.int_arg("page", 1))
        per_page = max(1, min(request.int_arg("per_page", self.page_size), MAX_PER_PAGE))
        with self.catalogue.lock:
            items = self.catalogue.live()
            total = len(items)
            start = (page - 1) * per_page
            results = [self._item(p) for p in items[start : start + per_page]]
        suffix = "" if per_page == self.page_size else f"&per_page={per_page}"
        return Response.json(
            {
                "results": results,
                "count": total,
                "page": page,
                "next": f"/v2/items?page={page + 1}{suffix}" if start + per_page < total else None,
                "previous": f"/v2/items?page={page - 1}{suffix}" if page > 1 else None,
            },
            conditional=True,
        )
