"""A fast fake for benchmarks: many shop hosts served by one asyncio event loop.

Each host is its own loopback address (127.0.0.1, 127.0.0.2, ... — all of 127/8 is loopback on
Linux), all on the same port when possible, so a poller sees `hosts` distinct hosts and its
per-host limits apply as they would on the internet. Items are spread evenly over the hosts.
A host is either a Shopify storefront or a JSON-LD shop (`mix`); per host:

* ``shopify``: ``GET /products.json?limit=<=250>&page=N`` (Shopify storefront shape, prices as
  strings, per-variant ``available``), ``GET /products/<handle>.js`` (AJAX shape, cents,
  top-level ``available``), ``GET /products/<handle>.json`` (``{"product": {...}}``, no
  ``available``) and ``GET /products/<handle>`` (HTML with Shopify markers and JSON-LD).
* ``jsonld``: ``GET /p/<handle>`` (HTML with a schema.org Product/Offer JSON-LD block:
  ``price`` a number, ``availability`` ``https://schema.org/InStock|OutOfStock``),
  ``GET /c/all`` (links to every product page) and ``GET /sitemap.xml``.

Handles are ``item-<host index, 3 digits>-<item index on host, 3 digits>``, e.g.
``item-007-042``. Every 200 carries a strong ETag of its body; ``If-None-Match`` with it gets a
304 without a body. Other paths are 404. The HTTP/1.1 parser is minimal (no chunked request
bodies) and keeps connections alive.

Control (a separate port on 127.0.0.1, URL in the startup line):

* ``GET /info`` — the startup document again.
* ``GET /items`` — ``{"items": [{"host", "kind", "handle", "url", "api_url", "available",
  "price"}]}`` for every item (``url`` is the page, ``api_url`` the Shopify ``.js`` for
  Shopify hosts, else the page again).
* ``POST /flip?fraction=0.05&seed=1&price=1`` — toggle availability of that fraction of all
  items (with ``price=1`` also drop their price by 10 %) → ``{"flipped": n, "changes": [{"host",
  "handle", "url", "available", "price"}]}``.
* ``GET /stats`` → ``{"requests": total, "cpu_seconds": process CPU time, "hosts": [{"host",
  "requests", "min_gap_ms", "max_connections"}]}``; ``POST /reset_stats`` zeroes it.

Run it as its own process::

    python -m tests.fakes.fast_shops --hosts 100 --items 10000 --port 0 \
        [--mix shopify=0.5,jsonld=0.5] [--page-padding BYTES]

which prints one JSON line ``{"pid", "port", "control", "items", "hosts": [{"host", "port",
"base_url", "kind", "items"}]}`` on stdout and serves until SIGTERM/SIGINT (or, with
``--stop-on-stdin-eof``, until its stdin closes).
``python -m tests.fakes.fast_shops --measure 3`` starts such a process and prints its measured
throughput. In-process: ``FastShops(...).start_in_thread()`` / ``.stop()``.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import hashlib
import ipaddress
import itertools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from random import Random
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.fast_http import (
    JSON,
    FastServer,
    Worker,
    add_run_options,
    measure_load,
    per_cpu_second,
    response,
    serve,
    spawn,
)
from tests.fakes.fast_http import REPO_ROOT as REPO_ROOT

KINDS = ("shopify", "jsonld")


@dataclass(slots=True)
class FastItem:
    index: int  # global index
    host_index: int
    handle: str
    title: str
    price_cents: int
    available: bool
    quantity: int
    updated: int = 0


@dataclass
class HostState:
    index: int
    ip: str
    kind: str
    items: list[FastItem]
    port: int = 0
    by_handle: dict[str, FastItem] = field(default_factory=dict)
    # target bytes -> (etag bytes, full 200 response bytes); replaced wholesale on change
    cache: dict[bytes, tuple[bytes, bytes] | None] = field(default_factory=dict)
    requests: int = 0
    last_arrival: float = 0.0
    min_gap: float | None = None
    connections: int = 0
    max_connections: int = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.ip}:{self.port}"


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _ld_number(cents: int) -> str:
    return str(cents // 100) if cents % 100 == 0 else _money(cents)


class _Renderer:
    """Builds response bodies for one host kind. Only called on cache misses."""

    def __init__(self, pad: int) -> None:
        self.pad = pad

    def _padding(self) -> str:
        # Real product pages are tens of kilobytes of markup; `pad` lets a benchmark include
        # parsing cost without changing the data.
        return f"<!-- {'x' * self.pad} -->" if self.pad else ""

    def shopify_product(self, host: HostState, item: FastItem) -> dict[str, Any]:
        pid = 7_000_000_000_000 + host.index * 10_000 + item.index % 10_000
        return {
            "id": pid,
            "title": item.title,
            "handle": item.handle,
            "vendor": f"Vendor {host.index}",
            "product_type": "",
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S-00:00", time.gmtime(item.updated)),
            "variants": [
                {
                    "id": pid + 33_000_000_000_000,
                    "title": "Default Title",
                    "price": _money(item.price_cents),
                    "compare_at_price": None,
                    "available": item.available,
                    "sku": item.handle.upper(),
                    "product_id": pid,
                }
            ],
            "images": [],
        }

    def render(self, host: HostState, target: bytes) -> tuple[int, bytes, bytes] | None:
        """(status, content type, body) for `target`, or None for 404."""
        split = urlsplit(target.decode("latin-1"))
        path = split.path
        if host.kind == "shopify":
            if path == "/products.json":
                query = parse_qs(split.query)
                try:
                    limit = max(1, min(int(query.get("limit", ["30"])[0]), 250))
                    page = max(1, int(query.get("page", ["1"])[0]))
                except ValueError:
                    return None
                chunk = host.items[(page - 1) * limit : page * limit]
                body = json.dumps({"products": [self.shopify_product(host, i) for i in chunk]})
                return 200, b"application/json; charset=utf-8", body.encode()
            if path.startswith("/products/"):
                rest = path.removeprefix("/products/")
                for suffix in (".js", ".json", ""):
                    handle = rest.removesuffix(suffix) if suffix else rest
                    if suffix and not rest.endswith(suffix):
                        continue
                    item = host.by_handle.get(handle)
                    if item is None:
                        return None
                    return self._shopify_item(host, item, suffix)
            return None
        if path.startswith("/p/"):
            item = host.by_handle.get(path.removeprefix("/p/"))
            if item is None:
                return None
            return 200, b"text/html; charset=utf-8", self._jsonld_page(host, item).encode()
        if path == "/c/all":
            links = "".join(f'<li><a href="/p/{i.handle}">{i.title}</a></li>' for i in host.items)
            page = f"<!doctype html><title>All</title><ul>{links}</ul>"
            return 200, b"text/html; charset=utf-8", page.encode()
        if path == "/sitemap.xml":
            urls = "".join(
                f"<url><loc>{host.base_url}/p/{i.handle}</loc></url>" for i in host.items
            )
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            )
            return 200, b"application/xml", xml.encode()
        return None

    def _shopify_item(
        self, host: HostState, item: FastItem, suffix: str
    ) -> tuple[int, bytes, bytes]:
        product = self.shopify_product(host, item)
        if suffix == ".js":
            variant = product["variants"][0]
            doc = {
                "id": product["id"],
                "title": item.title,
                "handle": item.handle,
                "vendor": product["vendor"],
                "price": item.price_cents,
                "price_min": item.price_cents,
                "price_max": item.price_cents,
                "available": item.available,
                "compare_at_price": None,
                "variants": [
                    {
                        "id": variant["id"],
                        "title": "Default Title",
                        "available": item.available,
                        "price": item.price_cents,
                        "compare_at_price": None,
                        "sku": variant["sku"],
                    }
                ],
                "url": f"/products/{item.handle}",
            }
            return 200, b"application/json; charset=utf-8", json.dumps(doc).encode()
        if suffix == ".json":
            variant = dict(product["variants"][0])
            del variant["available"]  # the single-product .json has no availability
            variant["price_currency"] = "USD"
            doc = {**product, "tags": "", "variants": [variant]}
            return 200, b"application/json; charset=utf-8", json.dumps({"product": doc}).encode()
        ld = json.dumps(
            {
                "@context": "http://schema.org/",
                "@type": "Product",
                "name": item.title,
                "offers": [
                    {
                        "@type": "Offer",
                        "price": _money(item.price_cents),
                        "priceCurrency": "USD",
                        "availability": "http://schema.org/"
                        + ("InStock" if item.available else "OutOfStock"),
                    }
                ],
            }
        )
        page = (
            f"<!doctype html><html><head><title>{item.title}</title>"
            f'<meta name="shopify-digital-wallet" content="/{host.index}/digital_wallets/dialog">'
            f'<link href="//cdn.shopify.com/s/files/1/0001/t/1/assets/base.css" rel="stylesheet">'
            "<script>var Shopify = Shopify || {};"
            f' Shopify.shop = "shop{host.index}.myshopify.com";</script>'
            f'<script type="application/ld+json">{ld}</script>{self._padding()}'
            f"</head><body><h1>{item.title}</h1>"
            f'<span class="price">${_money(item.price_cents)}</span></body></html>'
        )
        return 200, b"text/html; charset=utf-8", page.encode()

    def _jsonld_page(self, host: HostState, item: FastItem) -> str:
        ld = json.dumps(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": item.title,
                "sku": item.handle,
                "offers": {
                    "@type": "Offer",
                    "price": json.loads(_ld_number(item.price_cents)),
                    "priceCurrency": "EUR",
                    "availability": "https://schema.org/"
                    + ("InStock" if item.available else "OutOfStock"),
                },
            }
        )
        stock = "In stock" if item.available else "Out of stock"
        return (
            f"<!doctype html><html><head><meta charset=utf-8><title>{item.title}</title>"
            f'<script type="application/ld+json">{ld}</script>{self._padding()}</head>'
            f"<body><h1>{item.title}</h1><p class=price>€{_money(item.price_cents)}</p>"
            f"<p>{stock}</p></body></html>"
        )


_NOT_FOUND = response(404, b"Content-Type: text/plain\r\n", b"Not Found")
_BAD_REQUEST = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request"
)


class FastShops(FastServer):
    """`hosts` fake shop hosts with `items` products in total, served by one event loop."""

    thread_name = "fast-shops"
    bad_request = _BAD_REQUEST

    def __init__(
        self,
        hosts: int = 100,
        items: int = 10_000,
        *,
        port: int = 0,
        mix: dict[str, float] | None = None,
        first_address: str = "127.0.0.1",
        control_host: str = "127.0.0.1",
        control_port: int = 0,
        seed: int = 0,
        in_stock_ratio: float = 0.7,
        page_padding: int = 0,
    ) -> None:
        if hosts < 1 or items < 0:
            raise ValueError("need at least one host")
        mix = mix or {"shopify": 0.5, "jsonld": 0.5}
        unknown = set(mix) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {KINDS}")
        super().__init__(control_host, control_port)
        self.requested_port = port
        self._renderer = _Renderer(page_padding)
        self._rng = Random(seed)
        first = int(ipaddress.IPv4Address(first_address))
        kinds = _assign_kinds(hosts, mix)
        self.hosts: list[HostState] = []
        self.items: list[FastItem] = []
        per_host, extra = divmod(items, hosts)
        now = int(time.time())
        for h in range(hosts):
            ip = str(ipaddress.IPv4Address(first + h))
            if not ipaddress.IPv4Address(ip).is_loopback:
                raise ValueError(f"{ip} is not a loopback address")
            host_items = []
            for n in range(per_host + (1 if h < extra else 0)):
                item = FastItem(
                    index=len(self.items),
                    host_index=h,
                    handle=f"item-{h:03d}-{n:03d}",
                    title=f"Item {h}-{n}",
                    price_cents=self._rng.randrange(199, 99_999),
                    available=self._rng.random() < in_stock_ratio,
                    quantity=self._rng.randrange(0, 50),
                    updated=now,
                )
                host_items.append(item)
                self.items.append(item)
            state = HostState(index=h, ip=ip, kind=kinds[h], items=host_items)
            state.by_handle = {i.handle: i for i in host_items}
            self.hosts.append(state)

    # -- serving ------------------------------------------------------------------------------
    def _serve(
        self, host: HostState, method: bytes, target: bytes, rest: bytes, lower: bytes, body: bytes
    ) -> bytes:
        """The response to one request to `host` (the `fast_http.Handler` of its connections)."""
        now = time.monotonic()
        if host.requests:
            gap = now - host.last_arrival
            if host.min_gap is None or gap < host.min_gap:
                host.min_gap = gap
        host.last_arrival = now
        host.requests += 1
        if method != b"GET" and method != b"HEAD":
            return _NOT_FOUND
        cache = host.cache  # grab the dict first: a concurrent flip swaps in a new one
        entry = cache.get(target, False)
        if entry is False:
            rendered = self._renderer.render(host, target)
            if rendered is None:
                entry = None
            else:
                status, ctype, content = rendered
                etag = b'"' + hashlib.blake2b(content, digest_size=8).hexdigest().encode() + b'"'
                extra = (
                    b"X-ShopId: %d\r\nPowered-By: Shopify\r\n" % (host.index + 1)
                    if host.kind == "shopify"
                    else b""
                )
                headers = b"Content-Type: %s\r\nETag: %s\r\n%s" % (ctype, etag, extra)
                entry = (etag, response(status, headers, content))
            if len(cache) < 5000:  # odd query strings must not grow memory without bound
                cache[target] = entry
        if entry is None:
            return _NOT_FOUND
        etag, full = entry
        inm = None
        if b"if-none-match:" in lower:
            inm = lower.split(b"if-none-match:")[1].split(b"\r\n")[0].strip()
        if inm is not None and (inm == etag or inm == b"*" or etag in inm.split(b", ")):
            return b"HTTP/1.1 304 Not Modified\r\nETag: %s\r\n\r\n" % etag
        if method == b"HEAD":
            return full[: full.index(b"\r\n\r\n") + 4]
        return full

    def _control(self, method: bytes, target: bytes) -> bytes:
        split = urlsplit(target.decode("latin-1"))
        query = parse_qs(split.query)
        path = split.path
        try:
            if path == "/info":
                doc: Any = self.info()
            elif path == "/items":
                doc = {"items": self.item_states()}
            elif path == "/stats":
                doc = self.stats()
            elif path == "/reset_stats" and method == b"POST":
                self.reset_stats()
                doc = {"ok": True}
            elif path == "/flip" and method == b"POST":
                changes = self.flip(
                    float(query.get("fraction", ["0.01"])[0]),
                    seed=int(query["seed"][0]) if "seed" in query else None,
                    price=query.get("price", ["0"])[0] in {"1", "true"},
                )
                doc = {"flipped": len(changes), "changes": changes}
            else:
                return _NOT_FOUND
        except (ValueError, KeyError) as exc:
            return response(400, b"Content-Type: text/plain\r\n", str(exc).encode())
        return response(200, JSON, json.dumps(doc).encode())

    # -- control API --------------------------------------------------------------------------
    def _item_url(self, item: FastItem) -> tuple[str, str]:
        host = self.hosts[item.host_index]
        if host.kind == "shopify":
            page = f"{host.base_url}/products/{item.handle}"
            return page, page + ".js"
        page = f"{host.base_url}/p/{item.handle}"
        return page, page

    def item_states(self) -> list[dict[str, Any]]:
        """Every item with its URLs and current state."""
        out = []
        for item in self.items:
            url, api_url = self._item_url(item)
            host = self.hosts[item.host_index]
            out.append(
                {
                    "host": host.ip,
                    "kind": host.kind,
                    "handle": item.handle,
                    "url": url,
                    "api_url": api_url,
                    "available": item.available,
                    "price": _money(item.price_cents),
                }
            )
        return out

    def flip(
        self, fraction: float, *, seed: int | None = None, price: bool = False
    ) -> list[dict[str, Any]]:
        """Toggle availability of `fraction` of all items (price -10 % too with `price`).

        Safe to call from another thread while serving: items change first, then each touched
        host's cache is replaced, so no stale body is ever stored in the new cache.
        """
        if not self.items or fraction <= 0:
            return []
        rng = Random(seed) if seed is not None else self._rng
        count = min(len(self.items), max(1, round(len(self.items) * fraction)))
        chosen = rng.sample(self.items, count)
        now = int(time.time())
        touched: set[int] = set()
        changes = []
        for item in chosen:
            item.available = not item.available
            if price:
                item.price_cents = max(1, item.price_cents * 9 // 10)
            item.updated = now
            touched.add(item.host_index)
            url, _ = self._item_url(item)
            changes.append(
                {
                    "host": self.hosts[item.host_index].ip,
                    "handle": item.handle,
                    "url": url,
                    "available": item.available,
                    "price": _money(item.price_cents),
                }
            )
        for index in touched:
            self.hosts[index].cache = {}
        return changes

    def stats(self) -> dict[str, Any]:
        return {
            "requests": sum(h.requests for h in self.hosts),
            "cpu_seconds": self.cpu_seconds(),
            "hosts": [
                {
                    "host": h.ip,
                    "requests": h.requests,
                    "min_gap_ms": None if h.min_gap is None else round(h.min_gap * 1000, 3),
                    "max_connections": h.max_connections,
                }
                for h in self.hosts
            ],
        }

    def reset_stats(self) -> None:
        self._cpu_start = time.process_time()
        for host in self.hosts:
            host.requests = 0
            host.min_gap = None
            host.max_connections = host.connections

    def info(self) -> dict[str, Any]:
        """The startup document (also printed by the CLI)."""
        return {
            "pid": os.getpid(),
            "port": self.hosts[0].port,
            "control": f"http://{self.control_host}:{self.control_port}",
            "items": len(self.items),
            "hosts": [
                {
                    "host": h.ip,
                    "port": h.port,
                    "base_url": h.base_url,
                    "kind": h.kind,
                    "items": len(h.items),
                }
                for h in self.hosts
            ],
        }

    # -- lifecycle ----------------------------------------------------------------------------
    async def _listen(self, loop: asyncio.AbstractEventLoop) -> list[asyncio.base_events.Server]:
        """Bind every host, on the same port when possible."""
        for attempt in range(20):
            port = self.requested_port
            servers = []
            try:
                for host in self.hosts:
                    server = await loop.create_server(
                        lambda h=host: self.connection(partial(self._serve, h), h),
                        host.ip,
                        port,
                        backlog=1024,
                    )
                    servers.append(server)
                    host.port = server.sockets[0].getsockname()[1]
                    port = host.port  # the rest share the first host's port
                break
            except OSError as exc:
                for server in servers:
                    server.close()
                if exc.errno != errno.EADDRINUSE or self.requested_port or attempt == 19:
                    raise
        return servers


def _assign_kinds(hosts: int, mix: dict[str, float]) -> list[str]:
    """Spread kinds over hosts in proportion to `mix`, interleaved (largest remainder)."""
    total = sum(mix.values())
    if total <= 0:
        raise ValueError("mix fractions must sum to more than zero")
    kinds = [k for k in KINDS if mix.get(k, 0) > 0]
    counts = {k: 0 for k in kinds}
    out = []
    for i in range(hosts):
        # pick the kind furthest below its share so far
        kind = max(kinds, key=lambda k: mix[k] / total * (i + 1) - counts[k])
        counts[kind] += 1
        out.append(kind)
    return out


def _parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        mix[name.strip()] = float(value or 1)
    return mix


# ---------------------------------------------------------------------------------------------
# Throughput measurement: a raw keep-alive client in this process, the server in another
# ---------------------------------------------------------------------------------------------


def _paths_of(urls: list[tuple[str, int, bytes]]) -> Worker:
    """Load connections that each cycle through their own host's paths."""

    def worker(index: int) -> tuple[str, int, Callable[[], bytes]]:
        ip, port, _ = urls[index % len(urls)]
        mine = [u for u in urls if u[0] == ip] or urls
        requests = (
            b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (mine[i % len(mine)][2], ip.encode())
            for i in itertools.count(index)
        )
        return ip, port, requests.__next__

    return worker


def measure(
    seconds: float = 3.0, connections: int = 50, hosts: int = 100, items: int = 10_000
) -> dict[str, Any]:
    """Start the fake as a subprocess, load it from here, report requests/s (wall and per
    server CPU-second)."""
    args = ("--hosts", str(hosts), "--items", str(items), "--port", "0")
    with spawn("tests.fakes.fast_shops", *args) as info:
        urls = []
        for host in info["hosts"]:
            for n in range(host["items"]):
                path = (
                    f"/products/item-{info['hosts'].index(host):03d}-{n:03d}.js"
                    if host["kind"] == "shopify"
                    else f"/p/item-{info['hosts'].index(host):03d}-{n:03d}"
                )
                urls.append((host["host"], host["port"], path.encode()))
        ok, other, elapsed, stats = measure_load(
            info, "/reset_stats", _paths_of(urls), seconds, connections
        )
    count = ok + other
    return {
        "requests": count,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(count / elapsed),
        "server_cpu_seconds": stats["cpu_seconds"],
        "requests_per_server_cpu_second": per_cpu_second(stats["requests"], stats["cpu_seconds"]),
        "connections": connections,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.fast_shops", description=__doc__)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mix", default="shopify=0.5,jsonld=0.5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first-address", default="127.0.0.1")
    parser.add_argument("--page-padding", type=int, default=0, help="extra bytes per HTML page")
    add_run_options(parser, connections=50)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.connections, args.hosts, args.items)))
        return
    shops = FastShops(
        args.hosts,
        args.items,
        port=args.port,
        mix=_parse_mix(args.mix),
        first_address=args.first_address,
        seed=args.seed,
        page_padding=args.page_padding,
    )
    serve(shops, stop_on_stdin_eof=args.stop_on_stdin_eof)


if __name__ == "__main__":
    main()
