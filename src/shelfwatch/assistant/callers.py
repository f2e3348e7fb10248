"""Who is asking, read from the request only: the signed-in user, the visitor's session,
the store chosen (in the request or earlier on the storefront) and the page's language."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import get_language

from shelfwatch.accounts.principal import Principal
from shelfwatch.accounts.throttling import client_ip, hit
from shelfwatch.assistant.tools import Caller
from shelfwatch.recommend.selectors import store_for
from shelfwatch.shop.selectors.storefront import chosen_store


def caller_for(
    request: HttpRequest,
    *,
    principal: Principal | None,
    store_id: int | None = None,
    language: str | None = None,
) -> Caller:
    """The Caller of this request; a `store_id` that is not an open store raises NotFound
    (`store_not_found`)."""
    session = getattr(request, "session", None)
    store = store_for(store_id) if store_id is not None else None
    if store is None and session is not None:
        store = chosen_store(session)
    language = language or get_language() or "en"
    return Caller(
        principal=principal,
        session_key=session.session_key if session is not None else None,
        store=store,
        language="hi" if language.lower().startswith("hi") else "en",
    )


def page_limit_wait(request: HttpRequest, principal: Principal | None) -> float | None:
    """Count a page question against the assistant's limits (per IP, and per user when
    signed in), as the API's throttles do; seconds to wait when over, else None."""
    from django.conf import settings

    if not settings.THROTTLE_ENABLED:
        return None
    wait = hit("assistant_ip", "ip:" + client_ip(request), settings.THROTTLE_RATES["assistant_ip"])
    if wait is None and principal is not None:
        wait = hit(
            "assistant_user", f"user:{principal.user.pk}", settings.THROTTLE_RATES["assistant_user"]
        )
    return wait
