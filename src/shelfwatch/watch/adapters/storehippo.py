"""Shops on the StoreHippo platform (the Amul shop and others): its JSON entity API.

Products are only listed for a session that picked a delivery area, so a poll first sets
one up and keeps it in the source's state: open a browse page (cookies), read the session
`tid` from `/user/info.js`, map the pincode to its substore (`/entity/pincode`), and set the
store preference (`PUT /entity/ms.settings/_/setPreferences`). Then
`GET /api/1/entity/ms.products` lists products for that substore.

`available` (0/1) decides availability; `inventory_quantity` can be above 0 while
`available` is 0. An empty `data` list means the session or substore is not set up (the
shop answers 200 either way): the session is set up again once, and if the list is still
empty the poll fails. It never reads as "everything is out of stock".

Settings: `pincode` (required), `category` or `aliases` (what to list), optional `store`
(the store preference; default: the one the pincode maps to), `browse_path`, `shop_id`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from typing import Any

from shelfwatch.watch.adapters.base import (
    Fetcher,
    ItemState,
    NeedsConfiguration,
    PollResult,
    SourceProblem,
    to_price,
)

kind = "storehippo"
PAGE_SIZE = 100
MAX_PAGES = 50
FIELDS = ("name", "alias", "price", "available", "inventory_quantity", "brand", "images")
_TID = re.compile(r'"tid"\s*:\s*"([^"]+)"')
_SESSION = re.compile(r"var\s+session\s*=\s*(?=\{)")
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9-]{0,199}$")


class SessionNotSetUp(SourceProblem):
    code = "session_not_set_up"


def clean_settings(settings: dict[str, Any], base_url: str) -> dict[str, Any]:
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
    return cleaned


def _request_tid(session_tid: str, shop_id: str) -> str:
    """The per-request `tid` header the shop's own pages send."""
    if not shop_id:
        return session_tid
    stamp = str(int(time.time() * 1000))
    nonce = str(secrets.randbelow(1000))
    digest = hashlib.sha256(f"{shop_id}:{stamp}:{nonce}:{session_tid}".encode()).hexdigest()
    return f"{stamp}:{nonce}:{digest}"


def _json(response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise SourceProblem(f"the {what} answer is not JSON", code="unexpected_response") from None


def _session_info(base: str, fetcher: Fetcher) -> dict[str, Any]:
    """The session object the shop's `/user/info.js` assigns (`var session = {...};`)."""
    info = fetcher.get(f"{base}/user/info.js")
    text = info.text if info is not None else ""
    match = _SESSION.search(text)
    if match is not None:
        try:
            session, _ = json.JSONDecoder().raw_decode(text, match.end())
        except ValueError:
            session = None
        if isinstance(session, dict):
            return session
    tid = _TID.search(text)
    return {"tid": tid.group(1)} if tid else {}


def set_up_session(base_url: str, settings: dict[str, Any], fetcher: Fetcher) -> dict[str, Any]:
    """Run the shop's session steps; returns the state to keep (tid, substore, cookies)."""
    base = base_url.rstrip("/")
    fetcher.cookies.clear()
    fetcher.get(base + settings["browse_path"])
    session = _session_info(base, fetcher)
    session_tid = str(session.get("tid") or "")
    if not session_tid:
        raise SessionNotSetUp("the shop's /user/info.js carries no session tid")
    shop_id = settings.get("shop_id") or str(session.get("store") or "")
    records = _json(
        fetcher.get(
            f"{base}/entity/pincode",
            params={
                "limit": 50,
                "filters[0][field]": "pincode",
                "filters[0][value]": settings["pincode"],
                "filters[0][operator]": "regex",
                "cf_cache": "1h",
            },
        ),
        "pincode",
    )
    rows = records.get("records") if isinstance(records, dict) else None
    pincode = settings["pincode"]
    row = next(
        (r for r in rows or [] if isinstance(r, dict) and str(r.get("pincode")) == pincode),
        None,
    )
    if row is None or not row.get("substore"):
        raise NeedsConfiguration(f"the shop does not deliver to pincode {pincode}")
    # The pincode record names the substore by alias; its id appears in the session once
    # the preference is set.
    store = settings.get("store") or str(row["substore"])
    fetcher.request(
        "PUT",
        f"{base}/entity/ms.settings/_/setPreferences",
        json={"data": {"store": store}},
        headers={"frontend": "1", "tid": _request_tid(session_tid, shop_id)},
    )
    bound = _session_info(base, fetcher)
    substore = bound.get("substore_id") or (bound.get("substore") or {}).get("_id")
    if not substore:
        raise SessionNotSetUp("the shop did not bind the session to a substore")
    return {
        "tid": str(bound.get("tid") or session_tid),
        "shop_id": shop_id,
        "substore": str(substore),
        "store": store,
        "cookies": dict(fetcher.cookies.items()),
    }


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


def _item(row: dict[str, Any], base: str, listed_at: str) -> ItemState:
    alias = str(row.get("alias") or "")
    images = row.get("images") or []
    image = images[0].get("image", "") if images and isinstance(images[0], dict) else ""
    quantity = row.get("inventory_quantity")
    return ItemState(
        external_id=str(row.get("_id") or alias),
        name=str(row.get("name") or alias)[:500],
        # `available` alone decides: stock can be counted while the shop will not sell it.
        available=bool(int(row.get("available") or 0)),
        price=to_price(row.get("price")),
        currency="INR",
        quantity=int(quantity) if isinstance(quantity, (int, float)) else None,
        url=f"{base}/en/product/{alias}" if alias else "",
        image_url=image if str(image).startswith(("http://", "https://")) else "",
        listed_at_url=listed_at,
    )


def _list_products(
    base: str, settings: dict[str, Any], session: dict[str, Any], fetcher: Fetcher
) -> list[ItemState] | None:
    """Every product for the session's substore, or None when the shop lists none."""
    items: list[ItemState] = []
    url = f"{base}/api/1/entity/ms.products"
    for page in range(MAX_PAGES):
        headers = {
            "frontend": "1",
            "accept": "application/json",
            "tid": _request_tid(session["tid"], session.get("shop_id", "")),
        }
        body = _json(
            fetcher.get(
                url,
                params=_product_params(settings, session["substore"], page * PAGE_SIZE),
                headers=headers,
            ),
            "products",
        )
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise SourceProblem("the products answer has no data list", code="unexpected_response")
        if not rows:
            return items or None
        items += [_item(row, base, url) for row in rows if isinstance(row, dict)]
        total = (body.get("paging") or {}).get("total")
        if len(rows) < PAGE_SIZE or (isinstance(total, int) and len(items) >= total):
            return items
    return items


def poll(
    *, base_url: str, settings: dict[str, Any], state: dict[str, Any], fetcher: Fetcher
) -> PollResult:
    base = base_url.rstrip("/")
    session = state if state.get("tid") and state.get("substore") else None
    fresh = session is None
    if session is not None:
        fetcher.cookies.update(session.get("cookies") or {})
    else:
        session = set_up_session(base, settings, fetcher)
    items = _list_products(base, settings, session, fetcher)
    if items is None and not fresh:
        # A kept session may have expired: set it up again, once.
        session = set_up_session(base, settings, fetcher)
        fresh = True
        items = _list_products(base, settings, session, fetcher)
    if items is None:
        raise SessionNotSetUp(
            "the shop listed no products for this session and substore: the session or "
            "the delivery area is not set up (not the same as everything out of stock)"
        )
    session = {**session, "cookies": dict(fetcher.cookies.items())}
    return PollResult(items=items, complete=True, state=session)
