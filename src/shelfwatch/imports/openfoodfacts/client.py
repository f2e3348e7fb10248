"""The Open Food Facts product API (v2), through the guarded outbound client.

`GET {OFF_BASE_URL}/api/v2/product/{barcode}.json?fields=...` answers
`{"code", "product": {...}, "status": 1, "status_verbose": "product found"}`, or, for a
barcode they do not know, HTTP 404 with `{"code", "status": 0, "status_verbose":
"product not found"}`. Every call names us in the User-Agent as they ask (`App/version
(contact email)`), and waits its turn under OFF_RATE_LIMIT, counted in the shared cache so
all processes together stay under it. When they answer 429 every process holds off for the
Retry-After they sent.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

from shelfwatch import __version__
from shelfwatch.accounts.throttling import hit
from shelfwatch.errors import TooMany, Unavailable
from shelfwatch.http.outbound import FetchError, GuardedClient, retry_after_seconds
from shelfwatch.imports.openfoodfacts.records import LANGUAGE_REGIONS

_BACKOFF_KEY = "openfoodfacts:backoff-until"
_DEFAULT_BACKOFF = 60.0
_EMAIL = re.compile(r"[^@\s()]+@[^@\s()]+\.[^@\s()]+")
# What a lookup reads: the fields `records.to_product` maps, and nothing more.
FIELDS = (
    "code",
    "product_name",
    "abbreviated_product_name",
    "generic_name",
    "brands",
    "categories_tags",
    "countries_tags",
    "quantity",
    "product_quantity",
    "product_quantity_unit",
    "lang",
    "image_url",
    "image_front_url",
    "last_modified_t",
    *(f"product_name_{language}" for language in LANGUAGE_REGIONS),
)


class NotConfigured(Unavailable):
    code = "openfoodfacts_not_configured"


class OffUnavailable(Unavailable):
    code = "openfoodfacts_unavailable"


class OffRateLimited(TooMany):
    code = "openfoodfacts_rate_limited"


def user_agent() -> str:
    """`Shelfwatch/0.1.0 (ops@example.com)`; NotConfigured without a contact address."""
    email = settings.OFF_CONTACT_EMAIL.strip()
    if not _EMAIL.fullmatch(email):
        raise NotConfigured(
            "Open Food Facts asks every client to give a contact address: set "
            "OFF_CONTACT_EMAIL to look barcodes up there"
        )
    name = re.sub(r"[^A-Za-z0-9._-]", "", settings.OFF_APP_NAME) or "Shelfwatch"
    return f"{name}/{__version__} ({email})"


def api_code(barcode: str) -> str:
    """A stored GTIN as Open Food Facts spells it: EAN-8 in 8 digits, UPC-A and EAN-13 in
    13, longer codes without leading zeros."""
    digits = barcode.lstrip("0") or "0"
    if len(digits) <= 8:
        return digits.zfill(8)
    return digits.zfill(13) if len(digits) <= 13 else digits


def _take_turn() -> None:
    until = cache.get(_BACKOFF_KEY)
    if until is not None and until > time.time():
        wait = math.ceil(until - time.time())
        raise OffRateLimited(
            f"Open Food Facts asked us to slow down; try again in {wait} s",
            code="openfoodfacts_throttled",
            retry_after=wait,
        )
    wait = hit("openfoodfacts", "api", settings.OFF_RATE_LIMIT)
    if wait is not None:
        raise OffRateLimited(
            f"at most {settings.OFF_RATE_LIMIT} lookups go to Open Food Facts; try again in "
            f"{math.ceil(wait)} s",
            retry_after=math.ceil(wait),
        )


def _back_off(retry_after: str | None) -> int:
    seconds = retry_after_seconds(retry_after) or _DEFAULT_BACKOFF
    cache.set(_BACKOFF_KEY, time.time() + seconds, timeout=math.ceil(seconds) + 1)
    return math.ceil(seconds)


def fetch_product(barcode: str, *, client: GuardedClient | None = None) -> dict[str, Any] | None:
    """The product record Open Food Facts holds for `barcode` (a stored GTIN), or None when
    they do not know it. Raises NotConfigured, OffRateLimited or OffUnavailable."""
    headers = {"User-Agent": user_agent(), "Accept": "application/json"}
    _take_turn()
    code = api_code(barcode)
    url = f"{settings.OFF_BASE_URL}/api/v2/product/{code}.json"
    own = client is None
    client = client or GuardedClient(
        timeout=settings.OFF_TIMEOUT, max_bytes=settings.OFF_MAX_RESPONSE_BYTES, max_redirects=2
    )
    try:
        result = client.get(url, params={"fields": ",".join(FIELDS)}, headers=headers)
    except FetchError as exc:
        raise OffUnavailable(
            f"Open Food Facts did not answer: {exc}", extra={"reason": exc.code}
        ) from None
    finally:
        if own:
            client.close()
    if result.status == 429:
        wait = _back_off(result.headers.get("retry-after"))
        raise OffRateLimited(
            f"Open Food Facts asked us to slow down; try again in {wait} s",
            code="openfoodfacts_throttled",
            retry_after=wait,
        )
    if result.status not in (200, 404):
        raise OffUnavailable(f"Open Food Facts answered {result.status}")
    try:
        body = result.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if result.status == 404:
            return None  # a plain 404 page: no such product either
        raise OffUnavailable("Open Food Facts answered with something that is not JSON")
    product = body.get("product")
    if body.get("status") != 1 or not isinstance(product, dict):
        return None
    product.setdefault("code", str(body.get("code") or code))
    return product
