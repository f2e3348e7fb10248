"""The shared base of the fake external shops: a real HTTP/1.1 server on a loopback address.

A `ShopServer` binds `host:port` (port 0 picks a free port), serves from a background thread and
is used as a context manager::

    with ShopifyShop(host="127.0.0.2") as shop:
        shop.add("Whey 1 kg", Decimal("49.90"))
        httpx.get(shop.url("/products.json"))

It owns a thread-safe `Catalogue` that a test mutates between polls, fault injection that applies
to the next requests (errors, 429 with Retry-After, slow answers, oversized streamed bodies,
redirects), conditional requests (ETag / Last-Modified, 304 without a body) and a request log for
assertions about what a client sent and when.

Subclasses implement `route(request) -> Response` and render the catalogue in their platform's
format; everything else (faults, validators, logging) happens here, on the server, lifecycle,
fault queue and request log of `tests.fakes.threaded_http` (which the notification fakes'
`JsonService` shares), so every fake behaves the same way at the HTTP level.
"""

from __future__ import annotations

import contextlib
import copy
import email.utils
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler
from random import Random
from typing import Any

from tests.fakes.faults import Fault
from tests.fakes.threaded_http import (
    RequestLog,
    Stopped,
    ThreadedFake,
    has_body,
    json_body,
    phrase,
    read_headers,
    retry_after_header,
    split_target,
    write_head,
)

# ---------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------


def to_decimal(value: Decimal | str | int | float | None) -> Decimal | None:
    """Money in, `Decimal` out; floats go through `str` so 12.3 stays 12.3, not 12.2999..."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value)


def json_number(value: Decimal | None) -> int | float | None:
    """A Decimal as the JSON number a platform would emit: 450 for whole amounts, 12.5 else."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)


@dataclass
class Variant:
    """One purchasable option of a product (size, flavour); only some platforms have them."""

    id: str
    title: str
    price: Decimal
    compare_at_price: Decimal | None = None
    available: bool = True
    quantity: int | None = None
    sku: str = ""


@dataclass
class Product:
    """A product as the fakes store it; each platform renders it in its own format.

    `available` and `quantity` are independent on purpose: real shops report stock counts that
    disagree with the availability flag, and adapters must decide by the flag the platform means.
    When `variants` is non-empty the product is available when any variant is (`in_stock`), and
    `price` is kept equal to the lowest variant price.
    """

    id: str
    handle: str
    name: str
    price: Decimal
    brand: str = ""
    compare_at_price: Decimal | None = None
    currency: str = "INR"
    available: bool = True
    quantity: int | None = None
    variants: list[Variant] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    sku: str = ""
    image: str = ""
    description: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    # Platform-specific knobs (e.g. the JSON-LD page mode, StoreHippo substores).
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def in_stock(self) -> bool:
        if self.variants:
            return any(v.available for v in self.variants)
        return self.available

    def copy(self) -> Product:
        return replace(
            self,
            variants=[replace(v) for v in self.variants],
            categories=list(self.categories),
            attrs=copy.deepcopy(self.attrs),
        )


class Catalogue:
    """Thread-safe product store with a version and a Last-Modified time.

    Every mutation bumps `version`. `last_modified` is the time of the last change in whole
    seconds, except that a change made in the same second as an already-served Last-Modified
    moves it one second further (HTTP dates have one-second resolution; without this a client's
    If-Modified-Since would wrongly get a 304). Products are addressed by id or handle ("key").
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._products: dict[str, Product] = {}
        self._by_handle: dict[str, str] = {}
        self.version = 0
        self.last_modified = int(time.time())
        self._served = False

    # -- reading ------------------------------------------------------------------------------
    def _find(self, key: str) -> Product:
        key = str(key)
        product = self._products.get(key)
        if product is None and key in self._by_handle:
            product = self._products[self._by_handle[key]]
        if product is None:
            raise KeyError(f"no product {key!r}")
        return product

    def get(self, key: str) -> Product:
        """A copy of the product with this id or handle; KeyError when absent."""
        with self.lock:
            return self._find(key).copy()

    def find(self, key: str) -> Product | None:
        """The live product (not a copy) or None; call only while holding `lock`."""
        try:
            return self._find(key)
        except KeyError:
            return None

    def products(self) -> list[Product]:
        """Copies of all products in insertion order."""
        with self.lock:
            return [p.copy() for p in self._products.values()]

    def live(self) -> list[Product]:
        """The live products in insertion order; call only while holding `lock`."""
        return list(self._products.values())

    def __len__(self) -> int:
        return len(self._products)

    def __contains__(self, key: object) -> bool:
        with self.lock:
            return str(key) in self._products or str(key) in self._by_handle

    # -- writing ------------------------------------------------------------------------------
    def touch(self) -> None:
        """Record that the catalogue changed (new version, later Last-Modified)."""
        with self.lock:
            self.version += 1
            floor = self.last_modified + 1 if self._served else self.last_modified
            self.last_modified = max(int(time.time()), floor)
            self._served = False

    def served_last_modified(self) -> int:
        """The Last-Modified to send now; remembers it was seen so the next change moves it."""
        with self.lock:
            self._served = True
            return self.last_modified

    def put(self, product: Product) -> Product:
        with self.lock:
            if product.id in self._products:
                raise ValueError(f"duplicate product id {product.id!r}")
            if product.handle in self._by_handle:
                raise ValueError(f"duplicate handle {product.handle!r}")
            now = time.time()
            product.created_at = product.created_at or now
            product.updated_at = now
            _sync_variant_price(product)
            self._products[product.id] = product
            self._by_handle[product.handle] = product.id
            self.touch()
            return product.copy()

    def update(self, key: str, **changes: Any) -> Product:
        """Set product fields (Product attribute names); returns the new state."""
        with self.lock:
            product = self._find(key)
            for name, value in changes.items():
                if not hasattr(product, name) or name in {"id", "in_stock"}:
                    raise AttributeError(f"Product has no settable field {name!r}")
                if name in {"price", "compare_at_price"}:
                    value = to_decimal(value)
                if name == "handle":
                    del self._by_handle[product.handle]
                    self._by_handle[value] = product.id
                setattr(product, name, value)
            self._changed(product)
            return product.copy()

    def set_available(self, key: str, available: bool) -> None:
        """Set availability; on a product with variants this sets every variant."""
        with self.lock:
            product = self._find(key)
            product.available = bool(available)
            for variant in product.variants:
                variant.available = bool(available)
            self._changed(product)

    def set_price(
        self,
        key: str,
        price: Decimal | str,
        compare_at_price: Decimal | str | type[Ellipsis] | None = ...,
    ) -> None:
        """Set the price (and the compare-at price when given); variants all get this price."""
        with self.lock:
            product = self._find(key)
            product.price = to_decimal(price)
            for variant in product.variants:
                variant.price = product.price
            if compare_at_price is not ...:
                product.compare_at_price = to_decimal(compare_at_price)
                for variant in product.variants:
                    variant.compare_at_price = product.compare_at_price
            self._changed(product)

    def set_quantity(self, key: str, quantity: int | None) -> None:
        """Set the stock count only; availability is left alone (see `Product`)."""
        with self.lock:
            product = self._find(key)
            product.quantity = quantity
            self._changed(product)

    def set_variant(self, key: str, variant_id: str, **changes: Any) -> None:
        """Change one variant's `available`, `price`, `compare_at_price`, `quantity`, ..."""
        with self.lock:
            product = self._find(key)
            for variant in product.variants:
                if variant.id == str(variant_id):
                    for name, value in changes.items():
                        if name in {"price", "compare_at_price"}:
                            value = to_decimal(value)
                        if not hasattr(variant, name) or name == "id":
                            raise AttributeError(f"Variant has no settable field {name!r}")
                        setattr(variant, name, value)
                    self._changed(product)
                    return
            raise KeyError(f"product {key!r} has no variant {variant_id!r}")

    def remove(self, key: str) -> None:
        """Delete the product: it leaves every listing and its pages answer 404."""
        with self.lock:
            product = self._find(key)
            del self._products[product.id]
            del self._by_handle[product.handle]
            self.touch()

    def flip(self, key: str) -> bool:
        """Toggle availability; returns the new value."""
        with self.lock:
            new = not self._find(key).in_stock
            self.set_available(key, new)
            return new

    def flip_random(
        self,
        fraction: float,
        *,
        seed: int | None = None,
        price_factor: Decimal | str | None = None,
    ) -> list[str]:
        """Toggle availability of `fraction` of the products (at least one when non-empty).

        With `price_factor` the same products also get `price * price_factor` (rounded to cents).
        Returns the ids changed. One version bump for the whole batch.
        """
        rng = Random(seed)
        with self.lock:
            ids = list(self._products)
            if not ids or fraction <= 0:
                return []
            count = max(1, round(len(ids) * fraction))
            chosen = rng.sample(ids, min(count, len(ids)))
            factor = to_decimal(price_factor)
            for pid in chosen:
                product = self._products[pid]
                new = not product.in_stock
                product.available = new
                for variant in product.variants:
                    variant.available = new
                if factor is not None:
                    product.price = (product.price * factor).quantize(Decimal("0.01"))
                    for variant in product.variants:
                        variant.price = (variant.price * factor).quantize(Decimal("0.01"))
                _sync_variant_price(product)
                product.updated_at = time.time()
            self.touch()
            return chosen

    def _changed(self, product: Product) -> None:
        _sync_variant_price(product)
        product.updated_at = time.time()
        self.touch()


def _sync_variant_price(product: Product) -> None:
    if product.variants:
        product.price = min(v.price for v in product.variants)
        product.available = any(v.available for v in product.variants)


# ---------------------------------------------------------------------------------------------
# Requests, responses, log
# ---------------------------------------------------------------------------------------------


@dataclass
class Request:
    """An incoming request as routes see it. Header names are lower-case."""

    method: str
    target: str  # path and query exactly as sent
    path: str  # percent-decoded path without the query
    query_string: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes
    client: tuple[str, int]

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of query parameter `name`."""
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name: str, default: int) -> int:
        """Query parameter as int; a missing or malformed value gives `default`."""
        try:
            return int(self.arg(name, "") or default)
        except ValueError:
            return default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    """What a route returns. `conditional` responses get an ETag and Last-Modified and honour
    If-None-Match / If-Modified-Since (304, no body)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    conditional: bool = False

    @classmethod
    def json(cls, data: Any, status: int = 200, **kwargs: Any) -> Response:
        return cls(status=status, body=json_body(data), **kwargs)

    @classmethod
    def html(cls, text: str, status: int = 200, **kwargs: Any) -> Response:
        return cls(status, text.encode(), "text/html; charset=utf-8", **kwargs)

    @classmethod
    def text(
        cls, text: str, status: int = 200, content_type: str = "text/plain", **kw: Any
    ) -> Response:
        return cls(status, text.encode(), f"{content_type}; charset=utf-8", **kw)


@dataclass
class RequestRecord:
    """One logged request. `status` is None while the response is still being written."""

    method: str
    path: str
    query: dict[str, list[str]]
    target: str
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes
    client: tuple[str, int]
    server: str  # the address the request arrived on (host:port)
    time: float  # wall clock, seconds since the epoch
    monotonic: float  # for gap measurements
    status: int | None = None
    fault: str | None = None  # which injected fault answered, if any
    response_headers: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


_CHUNK = 64 * 1024


class ShopServer(ThreadedFake):
    """Base fake shop: catalogue shortcuts, fault injection, validators and log; lifecycle as
    `ThreadedFake`.

    Thread-safety: every public method may be called from the test thread while the server
    answers requests in its own threads.
    """

    kind = "generic"
    server_header = "nginx"
    request_queue_size = 128
    default_currency = "INR"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.catalogue = Catalogue()
        self._log: RequestLog[RequestRecord] = RequestLog()
        self._ids = itertools.count(1)

    # -- catalogue shortcuts ------------------------------------------------------------------
    def new_id(self) -> str:
        """A fresh product id in this platform's style (subclasses override)."""
        return str(next(self._ids))

    def add(
        self,
        name: str,
        price: Decimal | str | int,
        *,
        id: str | None = None,
        handle: str | None = None,
        brand: str = "",
        compare_at_price: Decimal | str | None = None,
        currency: str | None = None,
        available: bool = True,
        quantity: int | None = None,
        variants: Iterable[Variant | dict[str, Any]] = (),
        categories: Iterable[str] = (),
        sku: str = "",
        image: str = "",
        description: str = "",
        **attrs: Any,
    ) -> Product:
        """Add a product and return a copy of it. `handle` defaults to a slug of the name.

        Variants may be `Variant`s or dicts of Variant fields (`id` optional). Extra keyword
        arguments land in `Product.attrs` for the platform's renderer.
        """
        pid = str(id) if id is not None else self.new_id()
        built: list[Variant] = []
        for item in variants:
            if isinstance(item, Variant):
                built.append(item)
                continue
            data = dict(item)
            data.setdefault("id", self.new_variant_id())
            data.setdefault("title", f"Option {len(built) + 1}")
            data.setdefault("price", price)
            data["id"] = str(data["id"])
            data["price"] = to_decimal(data["price"])
            data["compare_at_price"] = to_decimal(data.get("compare_at_price"))
            built.append(Variant(**data))
        product = Product(
            id=pid,
            handle=handle or slugify(name),
            name=name,
            price=to_decimal(price),
            brand=brand,
            compare_at_price=to_decimal(compare_at_price),
            currency=currency or self.default_currency,
            available=available,
            quantity=quantity,
            variants=built,
            categories=list(categories),
            sku=sku,
            image=image,
            description=description,
            attrs=attrs,
        )
        return self.catalogue.put(product)

    def new_variant_id(self) -> str:
        return str(next(self._ids))

    def get(self, key: str) -> Product:
        return self.catalogue.get(key)

    def products(self) -> list[Product]:
        return self.catalogue.products()

    def set_available(self, key: str, available: bool) -> None:
        self.catalogue.set_available(key, available)

    def set_price(
        self,
        key: str,
        price: Decimal | str,
        compare_at_price: Decimal | str | type[Ellipsis] | None = ...,
    ) -> None:
        self.catalogue.set_price(key, price, compare_at_price)

    def set_quantity(self, key: str, quantity: int | None) -> None:
        self.catalogue.set_quantity(key, quantity)

    def set_variant(self, key: str, variant_id: str, **changes: Any) -> None:
        self.catalogue.set_variant(key, variant_id, **changes)

    def update(self, key: str, **changes: Any) -> Product:
        return self.catalogue.update(key, **changes)

    def remove(self, key: str) -> None:
        self.catalogue.remove(key)

    def flip(self, key: str) -> bool:
        return self.catalogue.flip(key)

    def flip_random(
        self, fraction: float, *, seed: int | None = None, price_factor: Decimal | str | None = None
    ) -> list[str]:
        return self.catalogue.flip_random(fraction, seed=seed, price_factor=price_factor)

    # -- fault injection ----------------------------------------------------------------------
    def fail_next(
        self, n: int = 1, status: int = 500, *, path: str | None = None, body: bytes | None = None
    ) -> None:
        """Answer the next `n` requests (whose path starts with `path`, if given) with `status`.

        A 304 gets no body; others get `body` or a small platform-style error document.
        """
        self._add_fault("status", n, path, status=status, body=body)

    def rate_limit_next(
        self, n: int = 1, retry_after: float = 1, *, path: str | None = None
    ) -> None:
        """Answer the next `n` requests 429 with `Retry-After: <whole seconds, rounded up>`."""
        self._add_fault("rate_limit", n, path, retry_after=retry_after)

    def slow_next(
        self, n: int = 1, seconds: float = 1.0, *, path: str | None = None, during: str = "headers"
    ) -> None:
        """Delay the next `n` responses by `seconds`.

        `during="headers"` waits before the status line (connect succeeds, first byte is late);
        `during="body"` sends the headers at once and trickles the body over `seconds`.
        """
        if during not in {"headers", "body"}:
            raise ValueError("during must be 'headers' or 'body'")
        self._add_fault("slow", n, path, seconds=seconds, during=during)

    def oversized_next(
        self,
        n: int = 1,
        size: int = 20 * 1024 * 1024,
        *,
        path: str | None = None,
        declare_length: bool = True,
    ) -> None:
        """Answer the next `n` requests 200 with a `size`-byte body, streamed in 64 KiB chunks.

        With `declare_length` the Content-Length says `size` (a client can refuse up front);
        without, the body is chunked and a client must count while reading. The server stops
        writing as soon as the client hangs up.
        """
        self._add_fault("oversized", n, path, size=size, declare_length=declare_length)

    def redirect_to(
        self,
        location: str,
        *,
        status: int = 302,
        n: int | None = 1,
        path: str | None = None,
        keep_path: bool = False,
    ) -> None:
        """Redirect the next `n` requests (`n=None`: until `clear_faults()`) to `location`.

        With `keep_path` the request's path and query are appended to `location`.
        """
        self._add_fault("redirect", n, path, location=location, status=status, keep=keep_path)

    # -- request log --------------------------------------------------------------------------
    def log(self, path: str | None = None, method: str | None = None) -> list[RequestRecord]:
        """Logged requests in arrival order, optionally only those whose path starts with
        `path` and/or with this method."""
        return self._log.select(path, method)

    def last_request(self, path: str | None = None) -> RequestRecord | None:
        return self._log.last(path)

    def clear_log(self) -> None:
        """Forget logged requests and reset `max_concurrency`."""
        self._log.clear()

    def max_concurrency(self) -> int:
        """Most requests this shop was answering at the same time since start/`clear_log`."""
        return self._log.max_in_flight()

    def min_gap(self, path: str | None = None) -> float | None:
        """Smallest time in seconds between two consecutive request arrivals (None if < 2)."""
        times = [r.monotonic for r in self.log(path)]
        if len(times) < 2:
            return None
        return min(b - a for a, b in itertools.pairwise(times))

    # -- what subclasses implement ------------------------------------------------------------
    def route(self, request: Request) -> Response:
        """Answer one request; subclasses override. The base serves nothing."""
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        return Response.json({"error": "Not Found"}, 404)

    def error_response(self, status: int, request: Request) -> Response:
        """The body a platform sends with an injected error status (subclasses may override)."""
        return Response.json({"error": phrase(status), "status": status}, status)

    def extra_headers(self, request: Request) -> list[tuple[str, str]]:
        """Headers every response carries (platform fingerprints such as Shopify's)."""
        return []

    # -- serving ------------------------------------------------------------------------------
    def _read_request(self, handler: BaseHTTPRequestHandler) -> Request:
        path, query_string, query = split_target(handler.path)
        headers = read_headers(handler)
        cookies: dict[str, str] = {}
        for raw in handler.headers.get_all("Cookie") or []:
            jar = SimpleCookie()
            with contextlib.suppress(CookieError):
                jar.load(raw)
            cookies.update({k: m.value for k, m in jar.items()})
        length = int(headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length > 0 else b""
        return Request(
            method=handler.command,
            target=handler.path,
            path=path,
            query_string=query_string,
            query=query,
            headers=headers,
            cookies=cookies,
            body=body,
            client=tuple(handler.client_address[:2]),
        )

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        request = self._read_request(handler)
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query=request.query,
            target=request.target,
            headers=request.headers,
            cookies=request.cookies,
            body=request.body,
            client=request.client,
            server=f"{self.host}:{self.port}",
            time=time.time(),
            monotonic=time.monotonic(),
        )
        self._log.begin(record)
        delay, replacement = self._take_faults(request)
        try:
            if delay is not None and delay.params["during"] == "headers":
                record.fault = "slow"
                self._sleep(delay.params["seconds"])
            if replacement is not None:
                record.fault = replacement.kind
                if replacement.kind == "oversized":
                    record.status = 200
                    self._write_oversized(handler, request, replacement.params)
                    return
                response = self._fault_response(replacement, request)
            else:
                try:
                    response = self.route(request)
                except Exception as exc:  # a bug in a fake must show up as a 500, not a hang
                    response = Response.text(f"fake shop error: {exc!r}", 500)
            head_only = request.method == "HEAD"
            response, body = self._finish(response, request)
            record.status = response.status
            trickle = delay.params["seconds"] if delay and delay.params["during"] == "body" else 0
            if trickle:
                record.fault = "slow"
            record.response_headers = self._write(
                handler, request, response, body, head_only, trickle
            )
        except (OSError, Stopped):  # the client hung up, or the shop is stopping
            handler.close_connection = True
        finally:
            self._log.end()

    def _fault_response(self, fault: Fault, request: Request) -> Response:
        params = fault.params
        if fault.kind == "status":
            status = params["status"]
            if status == 304 or status < 200:
                return Response(status=status)
            if params["body"] is not None:
                return Response(status, params["body"])
            return self.error_response(status, request)
        if fault.kind == "rate_limit":
            response = self.error_response(429, request)
            response.headers.append(("Retry-After", retry_after_header(params["retry_after"])))
            return response
        if fault.kind == "redirect":
            location = params["location"]
            if params["keep"]:
                location = location.rstrip("/") + request.target
            return Response(
                params["status"], b"", "text/html; charset=utf-8", [("Location", location)]
            )
        raise AssertionError(fault.kind)

    def _finish(self, response: Response, request: Request) -> tuple[Response, bytes]:
        """Apply validators: attach ETag/Last-Modified, turn a matching conditional GET into 304."""
        body = response.body
        if not response.conditional or response.status != 200:
            return response, body
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20] + '"'
        last_modified = self.catalogue.served_last_modified()
        response.headers += [
            ("ETag", etag),
            ("Last-Modified", email.utils.formatdate(last_modified, usegmt=True)),
        ]
        if request.method not in {"GET", "HEAD"}:
            return response, body
        if _not_modified(request, etag, last_modified):
            return replace(response, status=304, body=b""), b""
        return response, body

    def _write(
        self,
        handler: BaseHTTPRequestHandler,
        request: Request,
        response: Response,
        body: bytes,
        head_only: bool,
        trickle: float,
    ) -> dict[str, str]:
        headers = self.extra_headers(request) + response.headers
        sent = write_head(handler, response.status, response.content_type, len(body), headers)
        if head_only or not has_body(response.status):
            return sent
        if trickle and body:
            pieces = 10
            step = max(1, -(-len(body) // pieces))
            for start in range(0, len(body), step):
                handler.wfile.write(body[start : start + step])
                self._sleep(trickle / pieces)
        else:
            handler.wfile.write(body)
        return sent

    def _write_oversized(
        self, handler: BaseHTTPRequestHandler, request: Request, params: dict
    ) -> None:
        size: int = params["size"]
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        if params["declare_length"]:
            handler.send_header("Content-Length", str(size))
        else:
            handler.send_header("Transfer-Encoding", "chunked")
        for name, value in self.extra_headers(request):
            handler.send_header(name, value)
        handler.end_headers()
        handler.close_connection = True  # the client is expected to hang up mid-body
        if request.method == "HEAD":
            return
        # Valid-looking JSON prefix then padding, so a client that parses eagerly still has to
        # notice the size rather than a syntax error.
        prefix = b'{"padding":"'
        sent = 0
        while sent < size and not self._stopping.is_set():
            chunk_len = min(_CHUNK, size - sent)
            chunk = (prefix + b"x" * (chunk_len - len(prefix))) if sent == 0 else b"x" * chunk_len
            chunk = chunk[:chunk_len]
            if params["declare_length"]:
                handler.wfile.write(chunk)
            else:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += chunk_len
        if not params["declare_length"]:
            handler.wfile.write(b"0\r\n\r\n")


def _not_modified(request: Request, etag: str, last_modified: int) -> bool:
    # RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since when both are present.
    if_none_match = request.header("if-none-match")
    if if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        bare = etag.removeprefix("W/")
        return "*" in tags or any(t.removeprefix("W/") == bare for t in tags)
    if_modified_since = request.header("if-modified-since")
    if if_modified_since:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
        return last_modified <= since
    return False


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens, the way shops build handles."""
    out: list[str] = []
    word: list[str] = []
    for ch in text.lower():
        if ch.isascii() and ch.isalnum():
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return "-".join(out) or "product"


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def iso_time(epoch: float, offset_hours: int = 0) -> str:
    """ISO-8601 with an explicit offset, e.g. 2025-01-02T03:04:05+05:30 style."""
    tz = timezone(timedelta(hours=offset_hours)) if offset_hours else UTC
    text = datetime.fromtimestamp(int(epoch), tz).isoformat()
    return text.replace("+00:00", "Z") if not offset_hours else text
