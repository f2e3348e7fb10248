"""What every shop adapter receives and returns.

An adapter reads one source through a `Fetcher` (the guarded client, paced for the host, with
conditional requests) and returns the items it found as `ItemState`s. It never touches the
database: change detection is `watch.changes`' job, so adapters stay easy to test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import httpx
from price_parser import Price

from shelfwatch.http.outbound import FetchResult


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


# The price column holds 14 digits, 2 after the point: anything larger is not a price.
MAX_PRICE = Decimal("999999999999.99")
_PLAIN_NUMBER = re.compile(r"^\s*\d{1,15}(?:\.\d+)?(?:[eE][+-]?\d{1,4})?\s*$")
_SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")
# "Rs.99": price-parser reads the abbreviation's dot as a decimal point (0.99).
_DOTTED_ABBREVIATION = re.compile(r"\b(Rs|INR|Rp|Kr|Dhs?)\.(?=\s*\d)", re.IGNORECASE)
CURRENCY_SIGNS = {
    "₹": "INR",
    "RS": "INR",
    "RS.": "INR",
    "र": "INR",
    "रु": "INR",
    "€": "EUR",
    "$": "USD",
    "US$": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "R$": "BRL",
    "£": "GBP",
    "ZŁ": "PLN",
    "¥": "JPY",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₱": "PHP",
    "฿": "THB",
    "₫": "VND",
    "₦": "NGN",
    "KČ": "CZK",
    "FT": "HUF",
    "LEI": "RON",
    "RP": "IDR",
    "RM": "MYR",
    "S$": "SGD",
    "HK$": "HKD",
    "AED": "AED",
    "FR.": "CHF",
    "SFR.": "CHF",
    "DH": "AED",
    "DHS": "AED",
}


@dataclass(frozen=True)
class ParsedPrice:
    """A price read from a shop: the amount (None when there is none) and its currency
    as an ISO 4217 code ("" when the text does not say, or says it ambiguously)."""

    amount: Decimal | None
    currency: str = ""


def currency_code(sign: str | None) -> str:
    """The ISO 4217 code of a currency sign or code as shops write it; "" if unknown."""
    text = (sign or "").strip().upper()
    if not text:
        return ""
    if text in CURRENCY_SIGNS:
        return CURRENCY_SIGNS[text]
    if len(text) == 3 and text.isascii() and text.isalpha():
        return text
    return ""


def _bounded(amount: Decimal | None) -> Decimal | None:
    if amount is None or not amount.is_finite() or not Decimal(0) <= amount <= MAX_PRICE:
        return None
    return amount.quantize(Decimal("0.01"))


# A minus right before the amount, or before a sign glued to it ("-5", "-₹5", "Rs. -5"),
# but not a dash between words and the amount ("Price - ₹450") nor a trailing "/-".
_NEGATIVE = re.compile(r"[-\u2212](?:[^\w\s]{1,3}|[A-Za-z]{1,3}\.?)?\s?$")
# "₹1,299 - ₹1,499" (or an en dash), "€10 to €20": a range is two amounts around a dash or "to".
_RANGE = re.compile(r"(?<=\d)\s*(?:[-\u2013\u2014]|\bto\b)\s*(?=\D{0,4}\d)", re.IGNORECASE)


def _parse_text(text: str) -> ParsedPrice:
    if not re.search(r"\d", text):
        return ParsedPrice(None)  # "Free", "Call for price": price-parser would say 0
    if _NEGATIVE.search(re.match(r"\D*", text).group()):
        return ParsedPrice(None)
    text = _DOTTED_ABBREVIATION.sub(lambda m: f"{m.group(1)}. ", text)
    parsed = Price.fromstring(text)
    return ParsedPrice(_bounded(parsed.amount), currency_code(parsed.currency))


def parse_price(value: Any, *, structured: bool = False) -> ParsedPrice:
    """A price from a JSON number or a string as shops write it ("Rs. 1,299", "1.299,00 €",
    "₹1,299.00", "$1,299.99"), read by price-parser; a range gives its lowest amount.

    `structured`: the value comes from machine-readable markup (JSON-LD, microdata, a JSON
    API), where a plain "1.299" has a decimal point, as schema.org prescribes. Text without
    digits, negative or out-of-range amounts give no amount, never zero.
    """
    if value is None or isinstance(value, bool):
        return ParsedPrice(None)
    if isinstance(value, (int, float, Decimal)):
        try:
            return ParsedPrice(_bounded(Decimal(str(value))))
        except InvalidOperation:
            return ParsedPrice(None)
    text = str(value)[:200]
    if (structured or _SCIENTIFIC.search(text)) and _PLAIN_NUMBER.match(text):
        return ParsedPrice(_bounded(Decimal(text.strip())))
    parts = _RANGE.split(text, maxsplit=1)
    if len(parts) == 2:
        ends = [_parse_text(part) for part in parts]
        amounts = [end for end in ends if end.amount is not None]
        if len(amounts) == 2:
            low = min(amounts, key=lambda end: end.amount)
            return ParsedPrice(low.amount, low.currency or ends[0].currency or ends[1].currency)
    return _parse_text(text)


def to_price(value: Any, *, structured: bool = False) -> Decimal | None:
    """The amount of `parse_price(value)`; None when there is none."""
    return parse_price(value, structured=structured).amount
