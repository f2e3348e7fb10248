"""`POST /api/v1/assistant`: a shopper's question answered from our own data.

Anyone may ask (a visitor's session cookie makes their own orders readable); signed-in
callers ask as themselves. Limited per IP and per user on top of the API's own limits.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from shelfwatch.accounts.authentication import optional_auth, principal_of
from shelfwatch.accounts.throttling import RateThrottle, default_throttles
from shelfwatch.assistant import engine
from shelfwatch.assistant.callers import caller_for
from shelfwatch.assistant.conversation import SESSION_KEY
from shelfwatch.assistant.schemas import AssistantIn, AssistantOut

router = Router(
    tags=["assistant"],
    auth=optional_auth,
    throttle=[
        RateThrottle("assistant_ip", applies_to="all"),
        RateThrottle("assistant_user", applies_to="authenticated"),
        *default_throttles(),
    ],
)


@router.post("", response=AssistantOut)
def ask(request: HttpRequest, body: AssistantIn):
    """Answer `message`: stock, price, similar products, the caller's orders and points,
    alerts when something is back. Every figure in the answer comes from our records."""
    caller = caller_for(
        request, principal=principal_of(request), store_id=body.store, language=body.language
    )
    result = engine.answer(
        caller=caller,
        message=body.message,
        conversation_id=body.conversation_id,
        owner=engine.owner_of(caller),
    )
    session = getattr(request, "session", None)
    principal = caller.principal
    if (
        session is not None
        and session.session_key
        and (principal is None or principal.method == "session")
    ):
        # A browser's panel: the no-script page and the other pages' panels show the same one.
        session[SESSION_KEY] = result.conversation_id
    return {
        "answer": result.text,
        "conversation_id": result.conversation_id,
        "language": result.language,
        "source": result.source,
    }
