"""Any JSON API, described by JMESPath expressions.

Settings: `items` (where the list of products is, e.g. "results"), then for each product
`id`, `name`, `available`, and optionally `price`, `quantity`, `currency`, `url`; `next`
finds the next page's URL (absolute or relative) in a response. `available` may yield a
boolean, a number (> 0 is in stock) or a string; strings listed in `in_stock_values` mean
in stock (default: in_stock, instock, available, true, yes).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import jmespath
from jmespath.exceptions import JMESPathError

from shelfwatch.watch.adapters.base import (
    Fetcher,
    ItemState,
    NeedsConfiguration,
    PollResult,
    SourceProblem,
    to_price,
)

kind = "json"
MAX_PAGES = 50
MAX_QUANTITY = 2**31 - 1  # the quantity column is a 32-bit integer
EXPRESSIONS = ("items", "id", "name", "available", "price", "quantity", "currency", "url", "next")
REQUIRED = ("items", "id", "name", "available")
DEFAULT_IN_STOCK = ["in_stock", "instock", "available", "true", "yes", "in stock"]


def clean_settings(settings: dict[str, Any], base_url: str) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    missing = [key for key in REQUIRED if not settings.get(key)]
    if missing:
        raise NeedsConfiguration(f"JMESPath expressions needed for: {', '.join(missing)}")
    for key in EXPRESSIONS:
        expression = settings.get(key)
        if not expression:
            continue
        try:
            jmespath.compile(str(expression))
        except JMESPathError as exc:
            raise NeedsConfiguration(f"{key}: {expression!r} is not JMESPath ({exc})") from None
        cleaned[key] = str(expression)
    values = settings.get("in_stock_values")
    if values is not None:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise NeedsConfiguration("in_stock_values must be a list of strings")
        cleaned["in_stock_values"] = [v.lower() for v in values]
    if not base_url:
        raise NeedsConfiguration("the API's URL is the source's base_url")
    return cleaned


def _available(value: Any, in_stock: list[str]) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value > 0
    return str(value).strip().lower() in in_stock


def _quantity(value: Any) -> int | None:
    """The shop's stock count, bounded by the 32-bit quantity column; None when it is no
    number (JSON's Infinity and NaN included)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(-MAX_QUANTITY, min(number, MAX_QUANTITY))


def poll(
    *, base_url: str, settings: dict[str, Any], state: dict[str, Any], fetcher: Fetcher
) -> PollResult:
    compiled = {key: jmespath.compile(settings[key]) for key in EXPRESSIONS if settings.get(key)}
    in_stock = settings.get("in_stock_values") or DEFAULT_IN_STOCK
    result = PollResult()
    url: str | None = base_url
    pages = 0
    while url and pages < MAX_PAGES:
        pages += 1
        response = fetcher.get(url, conditional=True)
        if response is None:
            result.unchanged_urls.add(url)
            # The next page's address was in this unchanged body; we kept it last time.
            url = (state.get("next_urls") or {}).get(url)
            continue
        if response.status in (404, 410):
            raise SourceProblem(f"{url} is not there", code="not_found")
        try:
            document = response.json()
        except ValueError:
            raise SourceProblem(f"{url} did not answer JSON", code="unexpected_response") from None
        rows = compiled["items"].search(document)
        if not isinstance(rows, list):
            raise NeedsConfiguration(f"'items' ({settings['items']}) does not find a list")
        for row in rows:
            identifier = compiled["id"].search(row)
            if identifier is None:
                continue
            item_url = compiled["url"].search(row) if "url" in compiled else None
            result.items.append(
                ItemState(
                    external_id=str(identifier)[:200],
                    name=str(compiled["name"].search(row) or identifier)[:500],
                    available=_available(compiled["available"].search(row), in_stock),
                    price=to_price(compiled["price"].search(row)) if "price" in compiled else None,
                    quantity=_quantity(compiled["quantity"].search(row))
                    if "quantity" in compiled
                    else None,
                    currency=str(compiled["currency"].search(row) or "")[:3].upper()
                    if "currency" in compiled
                    else "",
                    url=urljoin(url, str(item_url)) if item_url else "",
                    listed_at_url=url,
                )
            )
        following = compiled["next"].search(document) if "next" in compiled else None
        next_url = urljoin(url, str(following)) if following else None
        result.state = {
            **(result.state or state),
            "next_urls": {**((result.state or state).get("next_urls") or {}), url: next_url},
        }
        url = next_url
    if url:
        result.complete = False
    return result
