"""`{% load assistant %}{% assistant_panel %}`: the chat panel of the storefront pages (the
shop's templates name the tag; the shop app never imports this app)."""

from __future__ import annotations

from django import template
from django.conf import settings

from shelfwatch.assistant import conversation as conversations
from shelfwatch.assistant.conversation import SESSION_KEY

register = template.Library()

SHOWN_TURNS = 3


def _owner(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    key = request.session.session_key
    return f"session:{key}" if key else "anonymous"


@register.inclusion_tag("assistant/_panel.html", takes_context=True)
def assistant_panel(context) -> dict:
    """The panel, with the last turns of the visitor's conversation (none on the assistant's
    own page, which shows them all)."""
    request = context.get("request")
    turns, conversation_id = [], ""
    if request is not None and not context.get("assistant_page"):
        stored = request.session.get(SESSION_KEY)
        if stored:
            conversation = conversations.load(stored, owner=_owner(request))
            if conversation.turns:
                turns, conversation_id = conversation.turns[-SHOWN_TURNS:], conversation.id
    return {
        "request": request,
        "turns": turns,
        "conversation_id": conversation_id,
        "csrf_token": context.get("csrf_token"),
        "max_chars": settings.ASSISTANT_MAX_MESSAGE_CHARS,
        "hidden": bool(context.get("assistant_page")),
    }
