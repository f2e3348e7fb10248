"""Setting up a StoreHippo shop's session: products are only listed for a session that
picked a delivery area (see `storehippo` for the steps), and each API request carries a
`tid` derived from the session's.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from typing import Any

from shelfwatch.watch.adapters.base import Fetcher, NeedsConfiguration, SourceProblem, currency_code

_TID = re.compile(r'"tid"\s*:\s*"([^"]+)"')
_SESSION = re.compile(r"var\s+session\s*=\s*(?=\{)")


class SessionNotSetUp(SourceProblem):
    code = "session_not_set_up"


def request_tid(session_tid: str, shop_id: str) -> str:
    """The per-request `tid` header the shop's own pages send."""
    if not shop_id:
        return session_tid
    stamp = str(int(time.time() * 1000))
    nonce = str(secrets.randbelow(1000))
    digest = hashlib.sha256(f"{shop_id}:{stamp}:{nonce}:{session_tid}".encode()).hexdigest()
    return f"{stamp}:{nonce}:{digest}"


def json_answer(response: Any, what: str) -> Any:
    """The body of the shop's answer about `what`; SourceProblem if it is not JSON."""
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
    records = json_answer(
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
        headers={"frontend": "1", "tid": request_tid(session_tid, shop_id)},
    )
    bound = _session_info(base, fetcher)
    substore = bound.get("substore_id") or (bound.get("substore") or {}).get("_id")
    if not substore:
        raise SessionNotSetUp("the shop did not bind the session to a substore")
    kept = {
        "tid": str(bound.get("tid") or session_tid),
        "shop_id": shop_id,
        "substore": str(substore),
        "store": store,
        "cookies": dict(fetcher.cookies.items()),
    }
    currency = currency_code(str(bound.get("currency") or session.get("currency") or ""))
    if currency:
        kept["currency"] = currency
    return kept
