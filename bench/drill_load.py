"""The failure drill's mixed load, all through nginx: catalog readers, searchers, feed
readers, flash-sale customers (idempotent checkouts retried on errors), SSE clients that
reconnect with Last-Event-ID, plus the one-off restock and import uploads.

Used by failure_drill.py; not run on its own. Every request is recorded with its start time,
latency and outcome; an error is a transport failure or a 5xx answer.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

import httpx

WORDS = ("atta", "basmati", "ghee", "masala", "paneer", "dal", "besan", "jaggery", "tea", "rusk")
RETRY_LIMIT = 40  # tries of one checkout key before the customer gives up on it


@dataclass
class Record:
    at: float  # wall-clock start
    kind: str
    ms: float
    error: bool
    status: int


@dataclass
class Load:
    base: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    records: list[Record] = field(default_factory=list)
    # "user:<id>|<key>" -> order id, for every checkout a customer saw succeed
    orders_seen: dict[str, int] = field(default_factory=dict)
    keys_abandoned: list[str] = field(default_factory=list)
    customer_stops: dict[str, int] = field(default_factory=dict)
    sse: list[SseClient] = field(default_factory=list)

    async def request(
        self, client: httpx.AsyncClient, kind: str, method: str, url: str, **kwargs
    ) -> httpx.Response | None:
        started, wall = time.perf_counter(), time.time()
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError:
            self.records.append(Record(wall, kind, (time.perf_counter() - started) * 1000, True, 0))
            return None
        ms = (time.perf_counter() - started) * 1000
        self.records.append(
            Record(wall, kind, ms, response.status_code >= 500, response.status_code)
        )
        return response

    async def pause(self, seconds: float) -> bool:
        """Sleep unless the load stops first; False when it stopped."""
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except TimeoutError:
            return True
        return False


async def catalog_reader(load: Load, product_ids: list[int], rng: random.Random) -> None:
    async with httpx.AsyncClient(base_url=load.base, timeout=30) as client:
        while await load.pause(rng.uniform(0.05, 0.3)):
            if rng.random() < 0.5:
                await load.request(client, "catalog", "GET", "/api/v1/products?limit=20")
            else:
                pid = rng.choice(product_ids)
                await load.request(client, "catalog", "GET", f"/api/v1/products/{pid}")


async def searcher(load: Load, rng: random.Random) -> None:
    async with httpx.AsyncClient(base_url=load.base, timeout=30) as client:
        while await load.pause(rng.uniform(0.1, 0.5)):
            params = {"q": rng.choice(WORDS), "limit": 20}
            await load.request(client, "search", "GET", "/api/v1/products", params=params)


async def feed_reader(load: Load, name: str, key: str, rng: random.Random) -> None:
    headers = {"X-API-Key": key}
    async with httpx.AsyncClient(base_url=load.base, timeout=60, headers=headers) as client:
        while await load.pause(rng.uniform(0.5, 1.5)):
            await load.request(client, "feed", "GET", f"/api/v1/feeds/{name}")


async def customer(
    load: Load, *, user_id: int, token: str, target: dict, pace: float, rng: random.Random
) -> None:
    """Buys one unit at a time until refused; a checkout that errs is retried with the same
    Idempotency-Key until it answers, as a careful client must."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=load.base, timeout=30, headers=headers) as client:
        attempt = 0
        while await load.pause(rng.expovariate(1 / pace)):
            attempt += 1
            added = None
            for _ in range(RETRY_LIMIT):
                added = await load.request(
                    client, "cart", "POST", "/api/v1/cart/lines", json={**target, "quantity": 1}
                )
                if added is not None and added.status_code < 500:
                    break
                await asyncio.sleep(0.5)
            if added is None or added.status_code != 201:
                code = "error" if added is None else _code(added)
                load.customer_stops[code] = load.customer_stops.get(code, 0) + 1
                return
            key = f"drill-{user_id}-{attempt}"
            body = {"store_id": target["store_id"]}
            for _ in range(RETRY_LIMIT):
                paid = await load.request(
                    client,
                    "checkout",
                    "POST",
                    "/api/v1/checkout",
                    json=body,
                    headers={"Idempotency-Key": key},
                )
                if paid is not None and paid.status_code < 500:
                    break
                await asyncio.sleep(0.5)
            else:
                load.keys_abandoned.append(f"user:{user_id}|{key}")
                continue
            if paid.status_code in (200, 201):
                load.orders_seen[f"user:{user_id}|{key}"] = paid.json()["id"]
            else:
                code = _code(paid)
                load.customer_stops[code] = load.customer_stops.get(code, 0) + 1
                return


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code", response.status_code))
    except ValueError:
        return str(response.status_code)


@dataclass
class SseClient:
    """Follows topics; on any end of the stream reconnects with the last id it was given."""

    index: int
    topics: str
    last_id: int
    received: list[int] = field(default_factory=list)
    connects: int = 0
    failed_connects: int = 0
    truncated: int = 0


async def sse_client(load: Load, sse: SseClient, rng: random.Random, drop_every: float) -> None:
    """Reads the stream; drops the connection itself every ~`drop_every` seconds too (a phone
    changing networks), so every client reconnects during the drill, not only on faults."""
    timeout = httpx.Timeout(10.0, read=30.0)
    async with httpx.AsyncClient(base_url=load.base, timeout=timeout) as client:
        while not load.stop.is_set():
            headers = {"Accept": "text/event-stream", "Last-Event-ID": str(sse.last_id)}
            until = time.monotonic() + rng.uniform(0.5, 1.5) * drop_every
            try:
                async with client.stream(
                    "GET", f"/api/v1/events/stream?topics={sse.topics}", headers=headers
                ) as response:
                    if response.status_code != 200:
                        sse.failed_connects += 1
                        await load.pause(1.0)
                        continue
                    sse.connects += 1
                    await _read_events(load, sse, response, until)
            except httpx.HTTPError:
                sse.failed_connects += 1
            await load.pause(rng.uniform(0.2, 1.0))


async def _read_events(load: Load, sse: SseClient, response: httpx.Response, until: float) -> None:
    event_id, name, data = None, "", ""
    lines = response.aiter_lines()
    while not load.stop.is_set() and time.monotonic() < until:
        try:
            line = await asyncio.wait_for(anext(lines), timeout=max(0.1, until - time.monotonic()))
        except (TimeoutError, StopAsyncIteration):
            return
        if line == "":
            if name == "replay_truncated":
                sse.truncated += 1
            elif data:
                with_id = json.loads(data).get("id")
                if isinstance(with_id, int):
                    sse.received.append(with_id)
            if event_id is not None:
                sse.last_id = event_id
            event_id, name, data = None, "", ""
        elif line.startswith("id:"):
            event_id = int(line[3:].strip())
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()


async def admin_call(load: Load, base: str, token: str, kind: str, method: str, url: str, **kw):
    """A one-off staff request, retried until it answers below 500."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as client:
        for _ in range(RETRY_LIMIT):
            response = await load.request(client, kind, method, url, **kw)
            if response is not None and response.status_code < 500:
                return response
            await asyncio.sleep(1.0)
    raise RuntimeError(f"{method} {url} never answered")
