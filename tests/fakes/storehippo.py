"""A fake StoreHippo-platform shop, modelled on what clients of shop.amul.com observe.

The shop only answers product queries for a session that has been bound to a substore (the
regional warehouse serving a pincode). A client must:

1. ``GET /en/browse/<category>`` (or ``/``, ``/en/product/<alias>``): an HTML app shell. When the
   request has no valid session cookie the response sets ``jsessionid=<hex>; Path=/; HttpOnly``.
   Only these HTML pages create sessions; the API endpoints never do.
2. ``GET /user/info.js`` (clients add ``?_v=<ms>`` to dodge caches): JavaScript whose last
   statement is ``var session = {...};`` with ``"tid": "<session tid>"``, ``"store": "<store id>"``,
   ``"substore_id"`` (``null`` until step 4) and ``"substore"`` (``null`` or
   ``{"_id", "alias", "name"}``). Without a valid session: ``var session = {};``.
3. ``GET /entity/pincode?limit=50&filters[0][field]=pincode&filters[0][value]=<pin>``
   ``&filters[0][operator]=regex&cf_cache=1h`` (no session needed) →
   ``{"limit": 50, "start": 0, "records": [{"_id", "pincode", "substore": "<substore alias>",``
   ``"created_on", "updated_on", "_created_by", "_updated_by", "_size"}], "count": n, "total": n}``.
   As on the real shop, ``substore`` is the *alias* (e.g. ``"rajasthan"``), not the id; the id
   comes from info.js after step 4.
4. ``PUT /entity/ms.settings/_/setPreferences`` with JSON ``{"data": {"store": "<alias>"}}`` and
   headers ``frontend: 1`` and ``tid: <derived tid>`` binds the session to that substore →
   ``200 {"message": "Preferences updated", "data": {"store": "<alias>"}}``. No valid session
   cookie → 401; missing ``frontend`` header, malformed ``tid`` or unknown alias → 400.
5. ``GET /api/1/entity/ms.products?...&substore=<substore id>`` with the ``tid`` header →
   ``{"messages": [{"name": "ms.entity.products.list", "level": "success"}], "fileBaseUrl":
   "<shop>/s/<store id>/", "data": [...], "paging": {"limit", "start", "count"[, "total"]}}``
   (``total`` only with ``total=1``; ``paging_offset="skip"`` names the offset ``skip``).
   Query: ``fields[<name>]=1`` projects (``_id`` always kept); ``filters[i][field|operator|value]``
   or ``filters[i][value][j]`` with operators ``eq`` (default), ``in``, ``nin``, ``ne``,
   ``regex``; or ``q=<JSON object>`` with equality, ``{"$in": [...]}`` or ``{"$regex": "..."}``
   per field; ``start`` (or ``skip``, default 0) and ``limit`` (default 10, at most
   ``max_limit``, 100 unless told).
   A product document: ``{"_id", "name", "alias", "sku", "brand", "price": 450 (number),``
   ``"compare_price": number | null, "available": 0 | 1, "inventory_quantity": int,``
   ``"categories": [...], "seller_substore_ids": [substore ids], "images": [{"image": path,``
   ``"_id"}], "options": [{"name", "values"}], "variants": [...], "default_variant",``
   ``"description", "created_on", "updated_on"}``. Image paths are relative to the answer's
   ``fileBaseUrl`` (``"<image id>/<alias>.png"``) unless the product was given an absolute
   image URL. A variant: ``{"_id", "name", "options": {"Size": name}, "sku", "price",``
   ``"compare_price", "available": 0 | 1, "inventory_quantity"}``. A product is buyable in
   the session's substore when ``available == 1`` and the substore id is in
   ``seller_substore_ids``; ``inventory_quantity`` may be > 0 while ``available`` is 0, and
   may be negative (oversold), as the shop's stock counter says.

The failure mode adapters must recognise: when the session is not set up — no or unknown cookie
(e.g. after `expire_sessions()`), no preference set, the ``substore`` parameter missing or not
the bound one, or (per `tid_check`) a missing/wrong ``tid`` header — step 5 still answers
``200 {"data": [], "paging": {...}}`` (without ETag/Last-Modified). That means "session not
set up", never "all sold out". `empty_next(n)` forces the same answer for a good session.
`fail_page(start)` makes the products call for one page (one ``start``) answer an error, so a
listing can fail part-way.
Successful products responses carry ETag/Last-Modified and honour conditional requests.

The ``tid`` header is ``"<ms timestamp>:<random 0..1000>:<sha256 hex of`` ``"<store id>:<ts>:``
``<rand>:<session tid>">"`` (see `derive_tid`); real clients compute it with a placeholder
session tid for steps 3-4, so only the products call can check the hash (`tid_check="hash"`).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from random import Random
from typing import Any

from tests.fakes.shop_server import (
    Product,
    Request,
    Response,
    ShopServer,
    iso_time,
    json_number,
)

DEFAULT_STORE_ID = "62fa94df8c13af2e242eba16"
DEFAULT_PINCODE = "302001"
DEFAULT_SUBSTORE = "rajasthan"
SESSION_COOKIE = "jsessionid"
PRODUCTS_PATH = "/api/1/entity/ms.products"
MAX_LIMIT = 100

_TID_RE = re.compile(r"^(\d{10,16}):(\d{1,4}):([0-9a-f]{64})$")


def derive_tid(
    session_tid: str,
    store_id: str = DEFAULT_STORE_ID,
    *,
    timestamp_ms: int | None = None,
    rand: int | None = None,
) -> str:
    """The ``tid`` request header a StoreHippo front end sends: ``ts:rand:sha256(...)``."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    nonce = secrets.randbelow(1001) if rand is None else rand
    digest = hashlib.sha256(f"{store_id}:{ts}:{nonce}:{session_tid}".encode()).hexdigest()
    return f"{ts}:{nonce}:{digest}"


def tid_is_well_formed(header: str | None) -> bool:
    return bool(header and _TID_RE.match(header.strip()))


def tid_matches(header: str | None, session_tid: str, store_id: str) -> bool:
    """Whether `header` was derived from `session_tid` for this store."""
    match = _TID_RE.match((header or "").strip())
    if not match:
        return False
    ts, nonce, digest = match.groups()
    expected = hashlib.sha256(f"{store_id}:{ts}:{nonce}:{session_tid}".encode()).hexdigest()
    return secrets.compare_digest(expected, digest)


@dataclass
class Substore:
    id: str
    alias: str
    name: str
    pincodes: list[str]


@dataclass
class Session:
    cookie: str
    tid: str
    created: float
    substore_id: str | None = None
    substore_alias: str | None = None


class StoreHippoShop(ShopServer):
    """A StoreHippo shop (Amul-like). See the module docstring for the wire protocol.

    `tid_check`: "off" (ignore the header), "format" (products call needs a well-formed tid —
    the default), "hash" (it must also be derived from the session's tid and `store_id`).
    `require_substore_param`: the products call must name the bound substore (default True).
    `max_limit`: the most products one page holds, whatever the client asks. `paging_offset`:
    whether answers call the offset ``start`` (as the Amul shop does) or ``skip``.
    `currency`: what info.js states as the session's currency.
    """

    kind = "storehippo"
    server_header = "nginx"
    default_currency = "INR"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        store_id: str = DEFAULT_STORE_ID,
        tid_check: str = "format",
        require_substore_param: bool = True,
        default_substores: bool = True,
        seed: int = 0,
        max_limit: int = MAX_LIMIT,
        paging_offset: str = "start",
        currency: str = "INR",
    ) -> None:
        super().__init__(host, port)
        if tid_check not in {"off", "format", "hash"}:
            raise ValueError("tid_check must be 'off', 'format' or 'hash'")
        if paging_offset not in {"start", "skip"}:
            raise ValueError("paging_offset must be 'start' or 'skip'")
        self.max_limit = max_limit
        self.paging_offset = paging_offset
        self.currency = currency
        self._failing_pages: dict[int, list[int]] = {}  # start -> [status, times left]
        self.store_id = store_id
        self.tid_check = tid_check
        self.require_substore_param = require_substore_param
        self._rng = Random(seed)
        self._state_lock = threading.Lock()
        self._substores: dict[str, Substore] = {}  # by alias
        self._sessions: dict[str, Session] = {}
        self._empty_next = 0
        if default_substores:
            self.add_substore(DEFAULT_SUBSTORE, pincodes=[DEFAULT_PINCODE, "302017"])
            self.add_substore("gujarat", pincodes=["380001", "380015"])

    # -- ids ----------------------------------------------------------------------------------
    def _object_id(self) -> str:
        # Mongo-style ObjectId: 4-byte timestamp then 8 random bytes, hex.
        return f"{int(time.time()):08x}{self._rng.getrandbits(64):016x}"

    def new_id(self) -> str:
        return self._object_id()

    def new_variant_id(self) -> str:
        return self._object_id()

    # -- control API --------------------------------------------------------------------------
    def add_substore(
        self,
        alias: str,
        *,
        substore_id: str | None = None,
        name: str | None = None,
        pincodes: Iterable[str] = (),
    ) -> str:
        """Register a substore serving `pincodes`; returns its id."""
        sid = substore_id or self._object_id()
        with self._state_lock:
            self._substores[alias] = Substore(
                sid, alias, name or alias.replace("-", " ").title(), list(pincodes)
            )
        self.catalogue.touch()
        return sid

    def substore_id(self, alias: str = DEFAULT_SUBSTORE) -> str:
        with self._state_lock:
            return self._substores[alias].id

    def add(self, name: str, price: Any, **kwargs: Any) -> Product:
        """As `ShopServer.add`, plus ``substores=[alias or id, ...]`` (default: every substore)
        and ``categories`` (default ``["protein"]``)."""
        kwargs.setdefault("categories", ["protein"])
        substores = kwargs.pop("substores", None)
        if substores is not None:
            kwargs["substores"] = list(substores)
        return super().add(name, price, **kwargs)

    def set_substores(self, key: str, substores: Iterable[str] | None) -> None:
        """Which substores sell the product (aliases or ids); None = all of them."""
        with self.catalogue.lock:
            product = self.catalogue.find(key)
            if product is None:
                raise KeyError(key)
            if substores is None:
                product.attrs.pop("substores", None)
            else:
                product.attrs["substores"] = list(substores)
            product.updated_at = time.time()
            self.catalogue.touch()

    def expire_sessions(self) -> None:
        """Forget every session: the next products call answers empty data until the client
        opens a page for a new cookie and binds it to a substore again."""
        with self._state_lock:
            self._sessions.clear()

    def sessions(self) -> list[Session]:
        with self._state_lock:
            return [Session(**vars(s)) for s in self._sessions.values()]

    def empty_next(self, n: int = 1) -> None:
        """The next `n` products calls answer ``{"data": []}`` even for a good session."""
        with self._state_lock:
            self._empty_next += n

    def fail_page(self, start: int, status: int = 500, n: int = 1) -> None:
        """The next `n` products calls asking for offset `start` answer `status`."""
        with self._state_lock:
            self._failing_pages[start] = [status, n]

    def derive_tid(self, session_tid: str) -> str:
        return derive_tid(session_tid, self.store_id)

    @property
    def file_base_url(self) -> str:
        """The ``fileBaseUrl`` of every API answer: the folder image paths are relative to."""
        return self.url(f"/s/{self.store_id}/")

    # -- routing ------------------------------------------------------------------------------
    def route(self, request: Request) -> Response:
        path = request.path
        if request.method in {"GET", "HEAD"}:
            if path == PRODUCTS_PATH:
                return self._products(request)
            if path == "/user/info.js":
                return self._info_js(request)
            if path == "/entity/pincode":
                return self._pincode(request)
            if path in {"/", "/en", "/en/"} or path.startswith("/en/browse/"):
                return self._page(request, None)
            if path.startswith("/en/product/"):
                return self._page(request, path.removeprefix("/en/product/").strip("/"))
        if path == "/entity/ms.settings/_/setPreferences" and request.method in {"PUT", "POST"}:
            return self._set_preferences(request)
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        return Response.json({"error": {"message": "Not Found", "code": 404}}, 404)

    def error_response(self, status: int, request: Request) -> Response:
        return Response.json({"error": {"message": f"Error {status}", "code": status}}, status)

    def _session(self, request: Request) -> Session | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        with self._state_lock:
            return self._sessions.get(cookie)

    # HTML app shell: the real storefront renders products client-side, so the page carries no
    # product data, only the session cookie and the platform's asset markers.
    def _page(self, request: Request, alias: str | None) -> Response:
        title = "Shop"
        if alias is not None:
            with self.catalogue.lock:
                product = self.catalogue.find(alias)
                if product is None:
                    return Response.html(
                        "<!doctype html><title>Page not found</title><h1>404</h1>", 404
                    )
                title = product.name
        headers: list[tuple[str, str]] = []
        if self._session(request) is None:
            session = Session(secrets.token_hex(16), secrets.token_hex(16), time.time())
            with self._state_lock:
                self._sessions[session.cookie] = session
            headers.append(
                ("Set-Cookie", f"{SESSION_COOKIE}={session.cookie}; Path=/; HttpOnly; SameSite=Lax")
            )
        html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="generator" content="StoreHippo">
<link rel="stylesheet" href="https://cdn.storehippo.com/s/{self.store_id}/ms.app.css">
<script src="/user/info.js"></script>
</head><body><div id="ms-app" ms-store="{self.store_id}"></div>
<script src="https://cdn.storehippo.com/s/{self.store_id}/ms.app.js"></script></body></html>"""
        return Response.html(html, headers=headers)

    def _info_js(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            payload: dict[str, Any] = {}
        else:
            substore = None
            if session.substore_alias is not None:
                with self._state_lock:
                    sub = self._substores.get(session.substore_alias)
                if sub is not None:
                    substore = {"_id": sub.id, "alias": sub.alias, "name": sub.name}
            payload = {
                "tid": session.tid,
                "user": None,
                "store": self.store_id,
                "currency": self.currency,
                "lang": "en",
                "substore_id": session.substore_id,
                "substore": substore,
            }
        js = (
            "window.ms = window.ms || {};\n"
            "ms.user = null;\n"
            f"var session = {json.dumps(payload, separators=(',', ':'))};\n"
        )
        return Response.text(
            js, content_type="application/javascript", headers=[("Cache-Control", "no-store")]
        )

    def _pincode(self, request: Request) -> Response:
        filters = _parse_filters(request.query)
        limit = max(0, min(request.int_arg("limit", 50), MAX_LIMIT))
        start = max(0, request.int_arg("start", 0))
        records = []
        with self._state_lock:
            substores = list(self._substores.values())
        for sub in substores:
            for pin in sub.pincodes:
                doc = {"pincode": pin, "substore": sub.alias}
                if all(_filter_matches(doc, f) for f in filters):
                    records.append(
                        {
                            "_id": hashlib.md5(pin.encode(), usedforsecurity=False).hexdigest()[
                                :24
                            ],
                            "pincode": pin,
                            "substore": sub.alias,
                            "created_on": "2024-05-24T07:13:55.000Z",
                            "updated_on": "2024-05-24T07:13:55.000Z",
                            "_created_by": "64f1b2c3d4e5f60718293a4b",
                            "_updated_by": "64f1b2c3d4e5f60718293a4b",
                            "_size": 180,
                        }
                    )
        page = records[start : start + limit]
        return Response.json(
            {
                "limit": limit,
                "start": start,
                "records": page,
                "count": len(page),
                "total": len(records),
            }
        )

    def _set_preferences(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return Response.json({"error": {"message": "Session not found", "code": 401}}, 401)
        if request.header("frontend") != "1":
            return Response.json({"error": {"message": "Invalid request", "code": 400}}, 400)
        if self.tid_check != "off" and not tid_is_well_formed(request.header("tid")):
            return Response.json({"error": {"message": "Invalid tid", "code": 400}}, 400)
        try:
            store = request.json()["data"]["store"]
        except (ValueError, KeyError, TypeError):
            return Response.json({"error": {"message": "Invalid body", "code": 400}}, 400)
        with self._state_lock:
            sub = self._substores.get(store) if isinstance(store, str) else None
            if sub is None:
                return Response.json({"error": {"message": "Invalid store", "code": 400}}, 400)
            session.substore_alias = sub.alias
            session.substore_id = sub.id
        return Response.json({"message": "Preferences updated", "data": {"store": sub.alias}})

    def _session_ready(self, request: Request) -> bool:
        session = self._session(request)
        if session is None or session.substore_id is None:
            return False
        param = request.arg("substore")
        if param is None and self.require_substore_param:
            return False
        if param is not None and param != session.substore_id:
            return False
        tid = request.header("tid")
        if self.tid_check == "format" and not tid_is_well_formed(tid):
            return False
        if self.tid_check == "hash" and not tid_matches(tid, session.tid, self.store_id):
            return False
        with self._state_lock:
            if self._empty_next > 0:
                self._empty_next -= 1
                return False
        return True

    def _answer(self, data: list[dict[str, Any]], paging: dict[str, int], **kw: Any) -> Response:
        return Response.json(
            {
                "messages": [{"name": "ms.entity.products.list", "level": "success"}],
                "fileBaseUrl": self.file_base_url,
                "data": data,
                "paging": {**paging, "count": len(data)},
            },
            **kw,
        )

    def _products(self, request: Request) -> Response:
        limit = max(0, min(request.int_arg("limit", 10), self.max_limit))
        start = max(0, request.int_arg("start", request.int_arg("skip", 0)))
        with self._state_lock:
            failing = self._failing_pages.get(start)
            if failing is not None:
                failing[1] -= 1
                if failing[1] <= 0:
                    del self._failing_pages[start]
        if failing is not None:
            return self.error_response(failing[0], request)
        paging: dict[str, int] = {"limit": limit, self.paging_offset: start}
        want_total = request.arg("total") in {"1", "true"}
        if not self._session_ready(request):
            if want_total:
                paging["total"] = 0
            # No validators here: a client must never be able to turn "session not set up"
            # into a cached state that a later 304 confirms.
            return self._answer([], paging)
        filters = _parse_filters(request.query)
        raw_q = request.arg("q")
        if raw_q:
            try:
                query = json.loads(raw_q)
            except ValueError:
                return Response.json({"error": {"message": "Invalid q", "code": 400}}, 400)
            if not isinstance(query, dict):
                return Response.json({"error": {"message": "Invalid q", "code": 400}}, 400)
            filters += [_q_to_filter(k, v) for k, v in query.items()]
        fields = [
            k[len("fields[") : -1]
            for k, v in request.query.items()
            if k.startswith("fields[") and k.endswith("]") and v and v[0] not in {"0", ""}
        ]
        with self._state_lock:
            by_key = {s.alias: s.id for s in self._substores.values()}
            all_ids = [s.id for s in self._substores.values()]
        with self.catalogue.lock:
            docs = [self._document(p, by_key, all_ids) for p in self.catalogue.live()]
        matching = [d for d in docs if all(_filter_matches(d, f) for f in filters)]
        page = matching[start : start + limit]
        if fields:
            keep = {"_id", *fields}
            page = [{k: v for k, v in d.items() if k in keep} for d in page]
        if want_total:
            paging["total"] = len(matching)
        return self._answer(page, paging, conditional=True)

    def _document(
        self, product: Product, by_key: dict[str, str], all_ids: list[str]
    ) -> dict[str, Any]:
        wanted = product.attrs.get("substores")
        seller_ids = list(all_ids) if wanted is None else [by_key.get(s, s) for s in wanted]
        image_id = hashlib.md5(product.id.encode(), usedforsecurity=False).hexdigest()[:24]
        variants = [
            {
                "_id": v.id,
                "name": v.title,
                "options": {"Size": v.title},
                "sku": v.sku or f"{product.handle.upper()[:16]}-{i}",
                "price": json_number(v.price),
                "compare_price": json_number(v.compare_at_price),
                "available": 1 if v.available else 0,
                "inventory_quantity": v.quantity or 0,
            }
            for i, v in enumerate(product.variants, 1)
        ]
        return {
            "_id": product.id,
            "name": product.name,
            "alias": product.handle,
            "sku": product.sku or product.handle.upper()[:20],
            "brand": product.brand or "Amul",
            "price": json_number(product.price),
            "compare_price": json_number(product.compare_at_price),
            "available": 1 if product.available else 0,
            "inventory_quantity": product.quantity or 0,
            "categories": list(product.categories),
            "seller_substore_ids": seller_ids,
            "images": [
                {"image": product.image or f"{image_id}/{product.handle}.png", "_id": image_id}
            ],
            "options": (
                [{"name": "Size", "values": [v.title for v in product.variants]}]
                if product.variants
                else []
            ),
            "variants": variants,
            "default_variant": variants[0]["_id"] if variants else None,
            "description": product.description,
            "created_on": iso_time(product.created_at),
            "updated_on": iso_time(product.updated_at),
        }


# ---------------------------------------------------------------------------------------------
# Query parsing: StoreHippo's bracketed filters and the q= JSON form
# ---------------------------------------------------------------------------------------------

_FILTER_KEY = re.compile(r"^filters\[(\d+)\]\[(\w+)\](?:\[(\d+)\])?$")


def _parse_filters(query: dict[str, list[str]]) -> list[dict[str, Any]]:
    """``filters[i][field]``, ``filters[i][operator]``, ``filters[i][value]`` or
    ``filters[i][value][j]`` → ``[{"field", "operator", "value"}]`` in index order."""
    groups: dict[int, dict[str, Any]] = {}
    for key, values in query.items():
        match = _FILTER_KEY.match(key)
        if not match:
            continue
        index, part, sub = int(match.group(1)), match.group(2), match.group(3)
        group = groups.setdefault(index, {"operator": "eq"})
        if part == "value" and sub is not None:
            group.setdefault("_values", {})[int(sub)] = values[0]
        else:
            group[part] = values[0]
    out = []
    for _, group in sorted(groups.items()):
        if "_values" in group:
            group["value"] = [v for _, v in sorted(group.pop("_values").items())]
        if "field" in group:
            out.append(group)
    return out


def _q_to_filter(field: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        if "$in" in value:
            return {"field": field, "operator": "in", "value": value["$in"]}
        if "$regex" in value:
            return {"field": field, "operator": "regex", "value": value["$regex"]}
        if "$ne" in value:
            return {"field": field, "operator": "ne", "value": value["$ne"]}
    return {"field": field, "operator": "eq", "value": value}


def _filter_matches(doc: dict[str, Any], flt: dict[str, Any]) -> bool:
    actual = doc.get(flt["field"])
    op = str(flt.get("operator", "eq")).lower()
    wanted = flt.get("value")
    actual_list = actual if isinstance(actual, list) else [actual]
    actual_text = [str(a) for a in actual_list]
    if op in {"in", "nin"}:
        wanted_list = wanted if isinstance(wanted, list) else [wanted]
        hit = any(str(w) in actual_text for w in wanted_list)
        return hit if op == "in" else not hit
    if op == "regex":
        try:
            pattern = re.compile(str(wanted), re.IGNORECASE)
        except re.error:
            return False
        return any(pattern.search(a) for a in actual_text)
    hit = str(wanted) in actual_text
    return not hit if op == "ne" else hit
