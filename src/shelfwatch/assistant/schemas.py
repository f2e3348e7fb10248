"""Request and response shapes of `POST /api/v1/assistant`."""

from __future__ import annotations

from ninja import Field, Schema

from shelfwatch.http.bounds import TEXT_MAX_LENGTH, BoundedSchema, Id


class AssistantIn(BoundedSchema):
    """A question. `message` longer than ASSISTANT_MAX_MESSAGE_CHARS or blank is refused
    with `message_too_long` / `message_empty`; `store` is the store the shopper picked
    (else the one picked on the storefront in this session); `language` "en" or "hi"
    answers in that language unless the question is plainly Hindi."""

    message: str = Field(max_length=TEXT_MAX_LENGTH)
    conversation_id: str | None = Field(default=None, max_length=64)
    store: Id | None = None
    language: str | None = Field(default=None, max_length=8)


class AssistantOut(Schema):
    """The answer: its text, the conversation to send back for a follow-up, the language
    it is in, and whether the model or the rule-based parser phrased it."""

    answer: str
    conversation_id: str
    language: str
    source: str
