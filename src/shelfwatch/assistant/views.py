"""`/assistant/`: the assistant as a plain page, for the panel's form without JavaScript
(with it, the panel asks `POST /api/v1/assistant` and stays on the page).

The conversation's id lives in the session, so the panel on every storefront page and
this page show the same conversation.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shelfwatch.accounts.authentication import page_principal
from shelfwatch.assistant import conversation as conversations
from shelfwatch.assistant import engine
from shelfwatch.assistant.callers import caller_for, page_limit_wait
from shelfwatch.errors import Invalid
from shelfwatch.shop import carts
from shelfwatch.shop.selectors import storefront

SESSION_KEY = conversations.SESSION_KEY


def _page_context(request: HttpRequest) -> dict:
    # What every storefront page's header shows (the store picker and the cart's count).
    if request.user.is_authenticated:
        owner = carts.CartOwner(user=request.user)
    else:
        owner = carts.visitor_owner(request.session)
    return {
        "stores": list(storefront.shop_stores()),
        "store": storefront.chosen_store(request.session),
        "cart_count": storefront.cart_count(carts.find_cart(owner)),
        "assistant_page": True,
    }


@require_http_methods(["GET", "POST"])
def assistant_page(request: HttpRequest) -> HttpResponse:
    """The conversation so far, and the question form; a POST asks the question."""
    principal = page_principal(request)
    caller = caller_for(request, principal=principal)
    owner = engine.owner_of(caller)
    conversation_id = request.session.get(SESSION_KEY)
    error, status = "", 200
    if request.method == "POST":
        wait = page_limit_wait(request, principal)
        if wait is not None:
            error, status = _("Too many questions; please wait a minute and ask again."), 429
        else:
            if request.session.session_key is None:
                request.session.save()  # the conversation is kept for this visitor
                caller = caller_for(request, principal=principal)
                owner = engine.owner_of(caller)
            try:
                result = engine.answer(
                    caller=caller,
                    message=request.POST.get("message", ""),
                    conversation_id=conversation_id,
                    owner=owner,
                )
            except Invalid as exc:
                error, status = _message_error(exc), 422
            else:
                request.session[SESSION_KEY] = conversation_id = result.conversation_id
    conversation = conversations.load(conversation_id, owner=owner)
    context = {
        **_page_context(request),
        "turns": conversation.turns,
        "conversation_id": conversation_id if conversation.turns else "",
        "error": error,
        "max_chars": settings.ASSISTANT_MAX_MESSAGE_CHARS,
    }
    return render(request, "assistant/page.html", context, status=status)


def _message_error(exc: Invalid) -> str:
    if exc.code == engine.MessageTooLong.code:
        return _("Please keep your question shorter.")
    return _("Please type a question.")
