"""What every shop adapter receives and returns.

An adapter reads one source through a `Fetcher` (the guarded client, paced for the host, with
conditional requests) and returns the items it found as `ItemState`s. It never touches the
database: change detection is `watch.changes`' job, so adapters stay easy to test.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import httpx

from shelfwatch.http.outbound import FetchResult
from shelfwatch.prices import (  # noqa: F401 - adapters import them from here
    CURRENCY_SIGNS,
    MAX_PRICE,
    ParsedPrice,
    currency_code,
    parse_price,
    to_price,
)

# Prices are read by `shelfwatch.prices`, one parser for every shop and for spreadsheet
# imports alike; the names stay importable from here for the adapters.


class SourceProblem(Exception):
    """The source answered, but not with what the adapter needs (stable `code`)."""

    code = "source_problem"
    transient = True

    def __init__(self, message: str, *, code: str | None = None, transient: bool | None = None):
        super().__init__(message)
        if code:
            self.code = code
        if transient is not None:
            self.transient = transient


class NeedsConfiguration(SourceProblem):
    """The adapter cannot decide without a setting the source lacks."""

    code = "needs_configuration"
    transient = False


class HttpStatusProblem(SourceProblem):
    """An unexpected HTTP status; 429 and 5xx are transient, `retry_after` in seconds."""

    def __init__(self, status: int, url: str, *, retry_after: float | None = None) -> None:
        transient = status == 429 or status >= 500 or status == 408
        code = "rate_limited" if status == 429 else f"http_{status}"
        super().__init__(f"{url} answered {status}", code=code, transient=transient)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class ItemState:
    """One product as the source shows it now."""

    external_id: str
    name: str
    available: bool | None
    price: Decimal | None = None
    currency: str = ""
    quantity: int | None = None
    url: str = ""
    image_url: str = ""
    listed_at_url: str = ""
    product_id: int | None = None  # our catalog product, for internal sources


@dataclass
class PollResult:
    """What one poll saw.

    `complete` says the items are the source's whole list, so an item missing from it (and
    not under an `unchanged_urls` listing) is gone. `unchanged_urls` are listings that
    answered 304: their items are still there as they were.
    """

    items: list[ItemState] = field(default_factory=list)
    complete: bool = True
    unchanged_urls: set[str] = field(default_factory=set)
    state: dict[str, Any] | None = None  # new adapter state to keep, when it changed
    # Pages of a multi-page source that failed this time, url -> {"code", "message"}: their
    # items stay as they were (never "gone"), the other pages' changes still count.
    page_errors: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Detection:
    """What a URL looks like: the kind, the settings to save, the items it shows now."""

    kind: str
    base_url: str
    settings: dict[str, Any]
    name: str
    items: list[ItemState]


class Fetcher(Protocol):
    @property
    def cookies(self) -> httpx.Cookies:
        """The source's cookie jar for this poll (sessions kept in the source's state)."""
        ...

    def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        conditional: bool = False,
    ) -> FetchResult | None:
        """GET through the guarded client at the host's pace; None means 304 Not Modified
        (only when `conditional`). Statuses other than 2xx and 304 raise HttpStatusProblem;
        404 and 410 are returned for callers that treat them as "gone"."""
        ...

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> FetchResult:
        """Send a request through the guarded client at the host's pace; statuses other than
        2xx, 404 and 410 raise HttpStatusProblem."""
        ...

    def get_many(
        self, urls: Iterable[str], *, conditional: bool = False
    ) -> Iterator[tuple[str, FetchResult | Exception | None]]:
        """`get` for each URL, several in flight as the host allows; yields (url, what
        `get` returned or the exception it raised), in the order of `urls`."""
        ...


class Adapter(Protocol):
    kind: str

    def clean_settings(self, settings: dict[str, Any], base_url: str) -> dict[str, Any]:
        """Validated settings for this kind, or NeedsConfiguration saying what is wrong."""
        ...

    def poll(
        self, *, base_url: str, settings: dict[str, Any], state: dict[str, Any], fetcher: Fetcher
    ) -> PollResult:
        """One poll of the shop through `fetcher`: the items it lists now, and the new state to
        keep when the state changed."""
        ...
