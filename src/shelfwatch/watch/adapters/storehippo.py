"""Shops on the StoreHippo platform (the Amul shop and others): its JSON entity API.

Products are only listed for a session that picked a delivery area, so a poll first sets
one up and keeps it in the source's state: open a browse page (cookies), read the session
`tid` from `/user/info.js`, map the pincode to its substore (`/entity/pincode`), and set the
store preference (`PUT /entity/ms.settings/_/setPreferences`). Then
`GET /api/1/entity/ms.products` lists products for that substore, page by page as its
`paging` (`total`, `limit`, `start` or `skip`) says. Image paths are relative to the
answer's `fileBaseUrl`.

`available` (0/1) decides availability; `inventory_quantity` can be above 0 while
`available` is 0, and a negative count is out of stock (stored as 0). An empty `data` list
means the session or substore is not set up (the shop answers 200 either way): the session
is set up again once, and if the list is still empty the poll fails. It never reads as
"everything is out of stock". A listing that stops short (a failed or empty page before
`total`, MAX_PAGES reached) is incomplete: nothing missing from it is called gone.

Settings: `pincode` (required), `category` or `aliases` (what to list), optional `store`
(the store preference; default: the one the pincode maps to), `browse_path`, `shop_id`.
Variants: `variants: true` watches each variant as its own item ("<product id>:<variant
id>", "Product - variant"); `offer` (text in a variant's sku, name or id, any case) picks
the variants that count. Otherwise a product is available when any variant is, at the
lowest available variant's price; a product the shop marks `available: 0` is out whatever
its variants say.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin

from shelfwatch.http.outbound import FetchError
from shelfwatch.watch.adapters.base import (
    Fetcher,
    HttpStatusProblem,
    ItemState,
    NeedsConfiguration,
    PollResult,
    SourceProblem,
    currency_code,
    parse_price,
)
from shelfwatch.watch.adapters.storehippo_session import (
    SessionNotSetUp,
    json_answer,
    request_tid,
    set_up_session,
)

kind = "storehippo"
PAGE_SIZE = 100
MAX_PAGES = 50
DEFAULT_CURRENCY = "INR"
MAX_OFFER_LENGTH = 200
MAX_QUANTITY = 2**31 - 1  # the quantity column is a 32-bit integer
FIELDS = (
    "name",
    "alias",
    "sku",
    "price",
    "available",
    "inventory_quantity",
    "brand",
    "images",
    "variants",
    "currency",
)
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9-]{0,199}$")


class UnreadablePage(SourceProblem):
    code = "unexpected_response"


def clean_settings(settings: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Validated settings: a 6-digit pincode and a category or product aliases are required; raises
    NeedsConfiguration for anything missing or invalid."""
    pincode = str(settings.get("pincode") or "").strip()
    if not re.fullmatch(r"\d{6}", pincode):
        raise NeedsConfiguration("a StoreHippo shop needs the 6-digit delivery pincode")
    cleaned: dict[str, Any] = {"pincode": pincode}
    category = str(settings.get("category") or "").strip()
    aliases = settings.get("aliases") or []
    if not isinstance(aliases, list) or not all(
        isinstance(a, str) and _ALIAS.match(a) for a in aliases
    ):
        raise NeedsConfiguration("aliases must be a list of product aliases (lower-case slugs)")
    if not category and not aliases:
        raise NeedsConfiguration("name a category (e.g. 'protein') or product aliases to watch")
    if category:
        if not _ALIAS.match(category):
            raise NeedsConfiguration(f"{category!r} is not a category slug")
        cleaned["category"] = category
    if aliases:
        cleaned["aliases"] = sorted(set(aliases))
    for key in ("store", "shop_id"):
        if settings.get(key):
            cleaned[key] = str(settings[key]).strip()
    browse = str(settings.get("browse_path") or f"/en/browse/{category or 'all'}")
    cleaned["browse_path"] = browse if browse.startswith("/") else f"/{browse}"
    cleaned.update(clean_variant_settings(settings))
    return cleaned


def clean_variant_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The validated `variants` and `offer` settings, or NeedsConfiguration."""
    cleaned: dict[str, Any] = {}
    variants = settings.get("variants", False)
    if not isinstance(variants, bool):
        raise NeedsConfiguration(
            "variants is true (watch each variant as its own item) or false (one item per product)"
        )
    if variants:
        cleaned["variants"] = True
    offer = settings.get("offer")
    if offer is not None and offer != "":
        if not isinstance(offer, str) or not offer.strip() or len(offer) > MAX_OFFER_LENGTH:
            raise NeedsConfiguration(
                "offer is text found in the wanted variant's sku, name or id "
                f"(at most {MAX_OFFER_LENGTH} characters)"
            )
        cleaned["offer"] = offer.strip()
    return cleaned


def _product_params(settings: dict[str, Any], substore: str, start: int) -> dict[str, Any]:
    params: dict[str, Any] = {f"fields[{name}]": 1 for name in FIELDS}
    if settings.get("aliases"):
        params["q"] = json.dumps({"alias": {"$in": settings["aliases"]}})
    else:
        params.update(
            {
                "filters[0][field]": "categories",
                "filters[0][value][0]": settings["category"],
                "filters[0][operator]": "in",
                "filters[0][original]": 1,
            }
        )
    params.update(
        {
            "limit": PAGE_SIZE,
            "start": start,
            "total": 1,
            "substore": substore,
            "device_type": "other",
        }
    )
    return params


@dataclass(frozen=True)
class Offer:
    """One way to buy a product: the product itself, or one of its variants."""

    id: str
    name: str
    sku: str
    available: bool
    price: Decimal | None
    currency: str
    quantity: int | None

    def matches(self, wanted: str) -> bool:
        """Whether `wanted` appears, in any case, in the sku, name or id."""
        text = wanted.lower()
        return any(text in part.lower() for part in (self.sku, self.name, self.id) if part)


@dataclass(frozen=True)
class Page:
    """Where a products answer was read, and what it says for all its rows: the base of
    relative image paths and the currency."""

    base: str
    listed_at: str
    file_base: str
    currency: str


def stock_count(value: Any) -> tuple[int | None, bool]:
    """The count to store (never below zero, None when the shop gives none) and whether the
    shop said less than zero, which means out of stock."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None, False
    try:
        number = int(float(value))
    except (ValueError, OverflowError):
        return None, False
    return min(max(number, 0), MAX_QUANTITY), number < 0


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value > 0
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return False


def _variant_name(variant: dict[str, Any]) -> str:
    for key in ("name", "title"):
        value = variant.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    options = variant.get("options")
    if isinstance(options, dict):
        values: list[Any] = list(options.values())
    elif isinstance(options, list):
        values = [o.get("value") if isinstance(o, dict) else o for o in options]
    else:
        values = []
    return " / ".join(str(v).strip() for v in values if isinstance(v, (str, int, float)) and v)


def _offer(
    row: dict[str, Any], page: Page, *, name: str, fallback_price: Decimal | None = None
) -> Offer:
    parsed = parse_price(row.get("price"), structured=True)
    quantity, negative = stock_count(row.get("inventory_quantity"))
    currency = currency_code(str(row.get("currency") or "")) or parsed.currency or page.currency
    return Offer(
        id=str(row.get("_id") or ""),
        name=name,
        sku=str(row.get("sku") or ""),
        # `available` alone says the shop sells it: stock can be counted while it will not.
        available=_flag(row.get("available")) and not negative,
        price=parsed.amount if parsed.amount is not None else fallback_price,
        currency=currency,
        quantity=quantity,
    )


def _image(row: dict[str, Any], page: Page) -> str:
    images = row.get("images")
    first = images[0] if isinstance(images, list) and images else None
    path = first.get("image") if isinstance(first, dict) else first
    if not isinstance(path, str) or not path.strip():
        return ""
    path = path.strip()
    # Without a fileBaseUrl only a path from the shop's root can be placed.
    base = page.file_base or (f"{page.base}/" if path.startswith("/") else "")
    url = urljoin(base, path) if base else path
    return url if url.startswith(("http://", "https://")) and len(url) <= 1000 else ""


def items_from_row(row: dict[str, Any], page: Page, settings: dict[str, Any]) -> list[ItemState]:
    """The items one product document stands for: the product, or with `variants` set,
    each of its chosen variants."""
    alias = str(row.get("alias") or "")
    name = str(row.get("name") or alias)
    product = _offer(row, page, name=name)
    variants = [
        _offer(v, page, name=_variant_name(v), fallback_price=product.price)
        for v in row.get("variants") or []
        if isinstance(v, dict)
    ]
    wanted = settings.get("offer")
    chosen = [v for v in variants if v.matches(wanted)] if wanted else []
    chosen = chosen or variants
    # The product's own flag is the shop's word for this delivery area; a variant's flag
    # cannot make a product the shop will not sell here available.
    sellable = "available" not in row or product.available
    common = {
        "url": f"{page.base}/en/product/{alias}" if alias else "",
        "image_url": _image(row, page),
        "listed_at_url": page.listed_at,
    }
    external_id = str(row.get("_id") or alias)
    if settings.get("variants") and chosen:
        return [
            ItemState(
                external_id=f"{external_id}:{v.id or v.sku or n}"[:200],
                name=(f"{name} - {v.name or v.sku or n}")[:500],
                available=sellable and v.available,
                price=v.price,
                currency=v.currency,
                quantity=v.quantity,
                **common,
            )
            for n, v in enumerate(chosen, 1)
        ]
    if not chosen:
        return [
            ItemState(
                external_id=external_id,
                name=name[:500],
                available=product.available,
                price=product.price,
                currency=product.currency,
                quantity=product.quantity,
                **common,
            )
        ]
    in_stock = [v for v in chosen if v.available]
    prices = [v.price for v in in_stock or chosen if v.price is not None]
    quantity = chosen[0].quantity if len(chosen) == 1 else product.quantity
    return [
        ItemState(
            external_id=external_id,
            name=name[:500],
            available=sellable and bool(in_stock),
            price=min(prices) if prices else product.price,
            currency=chosen[0].currency,
            quantity=quantity,
            **common,
        )
    ]


def _whole_number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _products_page(
    url: str, params: dict[str, Any], headers: dict[str, str], fetcher: Fetcher
) -> dict[str, Any]:
    response = fetcher.get(url, params=params, headers=headers)
    if response is None:
        raise UnreadablePage("the products answer was empty")
    if response.status != 200:
        raise HttpStatusProblem(response.status, url)
    body = json_answer(response, "products")
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise UnreadablePage("the products answer has no data list")
    return body


def _list_products(
    base: str, settings: dict[str, Any], session: dict[str, Any], fetcher: Fetcher
) -> PollResult | None:
    """Every product for the session's substore, or None when the shop lists none.

    The result is `complete` only when the listing was read to its end; when a page fails
    the pages before it still count and the failure is in `page_errors`.
    """
    url = f"{base}/api/1/entity/ms.products"
    result = PollResult(complete=False)
    seen: set[str] = set()
    start = 0
    totals: set[int] = set()
    for number in range(MAX_PAGES):
        headers = {
            "frontend": "1",
            "accept": "application/json",
            "tid": request_tid(session["tid"], session.get("shop_id", "")),
        }
        params = _product_params(settings, session["substore"], start)
        try:
            body = _products_page(url, params, headers, fetcher)
        except (FetchError, HttpStatusProblem, UnreadablePage) as exc:
            if number == 0:
                raise
            result.page_errors[f"{url}?start={start}"] = {
                "code": exc.code,
                "message": str(exc)[:500],
            }
            return result
        rows = body["data"]
        paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
        total = _whole_number(paging.get("total"))
        if total is not None:
            totals.add(total)
        if not rows:
            if number == 0:
                return None
            # An empty page before `total` was reached means the shop stopped short.
            result.complete = not totals
            return result
        page = _page_context(base, url, body, session)
        unseen = [r for r in rows if isinstance(r, dict) and _row_key(r) not in seen]
        if not unseen:
            return result  # the same page again: the shop ignores `start`
        for row in unseen:
            seen.add(_row_key(row))
            result.items += items_from_row(row, page, settings)
        offset = _whole_number(paging.get("skip", paging.get("start")))
        start = (start if offset is None else offset) + len(rows)
        if total is not None:
            ended = start >= total
        else:
            ended = len(rows) < (_whole_number(paging.get("limit")) or PAGE_SIZE)
        if ended:
            # A total that moved between pages means products shifted between the pages:
            # one may have been skipped, so nothing is called gone this time.
            result.complete = len(totals) <= 1
            return result
    return result  # MAX_PAGES read and more to come


def _row_key(row: dict[str, Any]) -> str:
    return str(row.get("_id") or row.get("alias") or id(row))


def _page_context(base: str, url: str, body: dict[str, Any], session: dict[str, Any]) -> Page:
    file_base = body.get("fileBaseUrl")
    if isinstance(file_base, str) and file_base.strip():
        # The base names a folder: without its final slash urljoin would drop its last part.
        file_base = urljoin(f"{base}/", file_base.strip().rstrip("/") + "/")
    else:
        file_base = ""
    currency = (
        currency_code(str(body.get("currency") or ""))
        or str(session.get("currency") or "")
        or DEFAULT_CURRENCY
    )
    return Page(base=base, listed_at=url, file_base=file_base, currency=currency)


def poll(
    *, base_url: str, settings: dict[str, Any], state: dict[str, Any], fetcher: Fetcher
) -> PollResult:
    """Read every listed product (setting up the shop session when needed)."""
    base = base_url.rstrip("/")
    session = state if state.get("tid") and state.get("substore") else None
    fresh = session is None
    if session is not None:
        fetcher.cookies.update(session.get("cookies") or {})
    else:
        session = set_up_session(base, settings, fetcher)
    result = _list_products(base, settings, session, fetcher)
    if result is None and not fresh:
        # A kept session may have expired: set it up again, once.
        session = set_up_session(base, settings, fetcher)
        result = _list_products(base, settings, session, fetcher)
    if result is None:
        raise SessionNotSetUp(
            "the shop listed no products for this session and substore: the session or "
            "the delivery area is not set up (not the same as everything out of stock)"
        )
    result.state = {**session, "cookies": dict(fetcher.cookies.items())}
    return result
