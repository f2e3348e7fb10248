"""A fake Open Food Facts product API (v2) serving real records.

``GET /api/v2/product/{code}`` (``.json`` optional), with ``?fields=a,b`` selecting fields,
answers as their server does (checked against their API's integration tests):

* a known code: ``200 {"code", "product": {...the fields asked...}, "status": 1,
  "status_verbose": "product found"}``; a code is known with or without leading zeros, as
  they normalise codes;
* an unknown code: ``404 {"code", "status": 0, "status_verbose": "product not found"}``;
* over ``requests_per_minute`` (None: no limit), or `rate_limit_next`: ``429`` with
  ``Retry-After`` and an HTML body, as their front proxy sends it;
* `slow_next` delays an answer (timeouts), `fail_next` answers an error status;
* ``GET /images/products/...`` serves the pictures put in `images` (path -> bytes) as their
  image server does (``image/jpeg``, or by the name's extension), 404 for any other.

Records come from ``tests/data/openfoodfacts/`` (the API answer and the JSONL sample), or
from `products` given. Every request is in the log (`calls()`), User-Agent included.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from tests.fakes.json_service import Call, JsonService, Reply

DATA = Path(__file__).resolve().parent.parent / "data" / "openfoodfacts"
_PRODUCT_PATH = re.compile(r"/api/v2/product/([^/]+?)(?:\.json)?/?")


def sample_records() -> list[dict[str, Any]]:
    """The real records of tests/data/openfoodfacts: the JSONL sample, whose product
    7622210288257 is the whole product of the API answer kept there."""
    with gzip.open(DATA / "products.jsonl.gz", "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    answer = json.loads((DATA / "api_product_7622210288257.json").read_text())
    return [answer["product"] if r.get("code") == answer["code"] else r for r in records]


def _key(code: str) -> str:
    return code.lstrip("0")


class OpenFoodFactsFake(JsonService):
    """The product API on loopback; see the module docstring."""

    kind = "openfoodfacts"
    server_header = "nginx"

    def __init__(
        self,
        products: list[dict[str, Any]] | None = None,
        *,
        requests_per_minute: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.products = {_key(str(p["code"])): p for p in (products or sample_records())}
        self.requests_per_minute = requests_per_minute
        self.images: dict[str, bytes] = {}
        self._recent: deque[float] = deque()
        self._rate_lock = threading.Lock()

    def _over_rate(self) -> float | None:
        """Seconds until the oldest request of the last minute leaves it, when full."""
        if self.requests_per_minute is None:
            return None
        now = time.monotonic()
        with self._rate_lock:
            while self._recent and now - self._recent[0] >= 60:
                self._recent.popleft()
            if len(self._recent) >= self.requests_per_minute:
                return 60 - (now - self._recent[0])
            self._recent.append(now)
        return None

    def image_url(self, path: str, data: bytes) -> str:
        """Serve `data` at `/images/products/<path>`; its full URL."""
        full = f"/images/products/{path}"
        self.images[full] = data
        return f"{self.base_url}{full}"

    def handle(self, call: Call) -> Reply:
        if call.path.startswith("/images/"):
            data = self.images.get(call.path)
            if data is None:
                return Reply.text("Not Found", 404)
            kind = "image/png" if call.path.endswith(".png") else "image/jpeg"
            return Reply(200, data, kind)
        match = _PRODUCT_PATH.fullmatch(call.path)
        if call.method not in ("GET", "HEAD") or match is None:
            return Reply.text("Not Found", 404)
        wait = self._over_rate()
        if wait is not None:
            return self.rate_limit_reply(call, wait)
        code = match.group(1)
        product = self.products.get(_key(code)) if code.isdigit() else None
        if product is None:
            body = {"code": code, "status": 0, "status_verbose": "product not found"}
            return Reply.json(body, 404)
        fields = [f for f in (call.arg("fields") or "").split(",") if f]
        if fields and "all" not in fields:
            product = {f: product[f] for f in fields if f in product}
        body = {
            "code": code,
            "product": product,
            "status": 1,
            "status_verbose": "product found",
        }
        return Reply.json(body)

    def error_reply(self, status: int, call: Call) -> Reply:
        page = f"<html><body><h1>{status}</h1></body></html>"
        return Reply(status, page.encode(), "text/html")
