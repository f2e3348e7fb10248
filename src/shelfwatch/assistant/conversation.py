"""A conversation's last turns, kept in the cache under an unguessable id and bound to its
owner: an id presented by anyone else starts a new conversation rather than reading theirs.

Bounded: ASSISTANT_KEEP_TURNS turns, each with the tool results its answer was checked
against (a few, each cut to a size), and an idle conversation expires.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache

# Where a page visitor's conversation id is kept (the panel and the page share it).
SESSION_KEY = "assistant_conversation"
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_RESULTS_PER_TURN = 8
MAX_RESULT_CHARS = 6000


@dataclass
class Turn:
    question: str
    answer: str
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Conversation:
    id: str
    owner: str
    turns: list[Turn] = field(default_factory=list)

    def results(self) -> list[dict[str, Any]]:
        """Every tool result of the kept turns."""
        return [result for turn in self.turns for result in turn.results]


def _key(conversation_id: str) -> str:
    return f"assistant:conversation:{conversation_id}"


def load(conversation_id: str | None, *, owner: str) -> Conversation:
    """The owner's conversation of that id, or a new one (unknown, expired, someone else's
    or malformed id)."""
    if conversation_id and _ID.match(conversation_id):
        stored = cache.get(_key(conversation_id))
        if isinstance(stored, dict) and stored.get("owner") == owner:
            turns = [Turn(**turn) for turn in stored.get("turns", [])]
            return Conversation(id=conversation_id, owner=owner, turns=turns)
    return Conversation(id=secrets.token_urlsafe(18), owner=owner)


def _bounded(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = []
    for result in results[-MAX_RESULTS_PER_TURN:]:
        if len(json.dumps(result, ensure_ascii=False, default=str)) <= MAX_RESULT_CHARS:
            kept.append(result)
    return kept


def add_turn(conversation: Conversation, turn: Turn) -> None:
    """Append `turn`, keep the last turns only, and store the conversation."""
    turn.results = _bounded(turn.results)
    conversation.turns = [*conversation.turns, turn][-settings.ASSISTANT_KEEP_TURNS :]
    cache.set(
        _key(conversation.id),
        {
            "owner": conversation.owner,
            "turns": [
                {"question": t.question, "answer": t.answer, "results": t.results}
                for t in conversation.turns
            ],
        },
        timeout=settings.ASSISTANT_CONVERSATION_SECONDS,
    )
