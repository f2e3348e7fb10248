"""Requests to a shop at the shop's pace: per-host pacing and conditional requests.

A poll batch holds the lease of each host it polls (see `poller`), so pacing here is
in-process: a `HostGate` per host lets at most `max_concurrency` requests run and starts
them at least `min_interval` apart, across every source on that host. A 429 pauses the
whole host for its Retry-After.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx

from shelfwatch.http.outbound import FetchResult, GuardedClient, retry_after_seconds
from shelfwatch.watch.adapters.base import HttpStatusProblem, SourceProblem

GONE_STATUSES = (404, 410)


class LeaseLost(SourceProblem):
    """The host's lease went to another worker mid-poll: no further request may start."""

    code = "lease_lost"


class HostGate:
    """Pacing for one host, shared by the threads polling its sources.

    `stop()` (the lease was lost) makes every later `slot()` raise LeaseLost, so a poll
    that outlived its lease sends nothing more while another worker holds the host.
    """

    def __init__(self, *, min_interval: float, max_concurrency: int) -> None:
        self.min_interval = max(0.0, min_interval)
        self.max_concurrency = max(1, max_concurrency)
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._stopped = threading.Event()

    def stop(self) -> None:
        """Make every later `slot()` raise LeaseLost, waking those waiting for their turn."""
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        """True once `stop()` was called."""
        return self._stopped.is_set()

    def pause(self, seconds: float) -> None:
        """No request starts for `seconds` (a 429's Retry-After)."""
        with self._lock:
            self._next_start = max(self._next_start, time.monotonic() + seconds)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for a free slot and the host's next start time, then hold the slot for one request;
        raises LeaseLost once stopped."""
        with self._slots:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start)
                self._next_start = start + self.min_interval
            if start > now and self._stopped.wait(start - now):
                raise LeaseLost("the host's lease was lost; the poll stops here")
            if self._stopped.is_set():
                raise LeaseLost("the host's lease was lost; the poll stops here")
            yield


class SourceFetcher:
    """The `Fetcher` adapters use: one source's requests through its host's gate.

    `validators` maps URL -> {"etag", "last_modified"}; it is updated in place and saved
    with the source after the poll.
    """

    def __init__(
        self, *, client: GuardedClient, gate: HostGate, validators: dict[str, dict[str, str]]
    ) -> None:
        self.client = client
        self.gate = gate
        self.validators = validators
        self.requests = 0
        self.not_modified = 0
        self._count_lock = threading.Lock()

    @property
    def cookies(self) -> httpx.Cookies:
        """The guarded client's cookie jar."""
        return self.client.cookies

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> FetchResult:
        """Send one request at the host's pace; statuses other than 2xx, 404 and 410 raise
        HttpStatusProblem, and a 429 (or a 503 with Retry-After) pauses the host."""
        with self.gate.slot():
            self._count("requests")
            result = self.client.request(method, url, params=params, headers=headers, json=json)
        self._raise_for_status(result)
        return result

    def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        conditional: bool = False,
    ) -> FetchResult | None:
        """GET at the host's pace; with `conditional`, sends the stored validators, returns None on
        304 and keeps the new ones. Error statuses raise as in `request`."""
        key = str(httpx.URL(url, params=params)) if params else url
        sent = dict(headers or {})
        known = self.validators.get(key) if conditional else None
        if known:
            if known.get("etag"):
                sent["If-None-Match"] = known["etag"]
            if known.get("last_modified"):
                sent["If-Modified-Since"] = known["last_modified"]
        with self.gate.slot():
            self._count("requests")
            result = self.client.request("GET", url, params=params, headers=sent)
        if result.status == 304 and conditional:
            self._count("not_modified")
            return None
        self._raise_for_status(result)
        if conditional and result.status == 200:
            etag = result.headers.get("etag", "")
            modified = result.headers.get("last-modified", "")
            if etag or modified:
                self.validators[key] = {"etag": etag, "last_modified": modified}
            else:
                self.validators.pop(key, None)
        return result

    def get_many(
        self, urls: Iterable[str], *, conditional: bool = False
    ) -> Iterator[tuple[str, FetchResult | Exception | None]]:
        """GET each URL, up to the host's `max_concurrency` in flight; yields (url, what
        `get` returned or the exception it raised) in the order of `urls`.

        A lost lease ends the whole walk (LeaseLost is raised, not yielded)."""
        urls = list(urls)
        workers = min(self.gate.max_concurrency, len(urls))
        if workers <= 1:
            for url in urls:
                yield url, self._get_or_error(url, conditional)
            return
        # A window of pages in flight or waiting to be read, so a long list never holds
        # every body in memory at once.
        window = workers * 2
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="watch-fetch") as pool:
            pending: deque[tuple[str, Future]] = deque()
            todo = iter(urls)
            try:
                while True:
                    while len(pending) < window:
                        url = next(todo, None)
                        if url is None:
                            break
                        pending.append((url, pool.submit(self._get_or_error, url, conditional)))
                    if not pending:
                        return
                    url, future = pending.popleft()
                    yield url, future.result()
            finally:
                for _, future in pending:
                    future.cancel()

    def _get_or_error(self, url: str, conditional: bool) -> FetchResult | Exception | None:
        try:
            return self.get(url, conditional=conditional)
        except LeaseLost:
            raise
        except Exception as exc:  # reported per URL to the caller
            return exc

    def _count(self, name: str) -> None:
        with self._count_lock:
            setattr(self, name, getattr(self, name) + 1)

    def _raise_for_status(self, result: FetchResult) -> None:
        if 200 <= result.status < 300 or result.status in GONE_STATUSES:
            return
        retry_after = retry_after_seconds(result.headers.get("retry-after"))
        if result.status == 429 or (result.status == 503 and retry_after):
            self.gate.pause(retry_after or 60.0)
        raise HttpStatusProblem(result.status, result.url, retry_after=retry_after)
