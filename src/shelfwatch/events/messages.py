"""The wire form of an event: the same JSON on the bus, in SSE `data:` and in the JSON API."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from shelfwatch.events.models import Event


@functools.lru_cache(maxsize=256)
def _json_string(value: str) -> str:
    # A batch's messages share a few types and one timestamp: each is encoded once.
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class EventMessage:
    """An event as clients see it; `json` is encoded once and reused for every client."""

    id: int
    type: str
    topics: tuple[str, ...]
    payload: dict[str, Any]
    created_at: str
    json: str = field(default="", compare=False, repr=False)
    # The SSE frame (`id:`, `event:`, `data:` lines), encoded once for every client.
    frame: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def from_event(cls, event: Event) -> EventMessage:
        """The wire form of a stored event."""
        return cls.build(
            id=event.pk,
            type=event.type,
            topics=tuple(event.topics),
            payload=event.payload,
            created_at=event.created_at.isoformat(),
        )

    @classmethod
    def build(
        cls, *, id: int, type: str, topics: tuple[str, ...], payload: dict, created_at: str
    ) -> EventMessage:
        """A message with its compact JSON encoded once, up front."""
        body = {
            "id": id,
            "type": type,
            "topics": list(topics),
            "payload": payload,
            "created_at": created_at,
        }
        # Compact separators: this string crosses Redis and goes to every subscribed client.
        encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        frame = f"id: {id}\nevent: {type}\ndata: {encoded}\n\n".encode()
        return cls(id, type, topics, payload, created_at, encoded, frame)

    @classmethod
    def encoded(
        cls,
        *,
        id: int,
        type: str,
        topics: tuple[str, ...],
        payload: dict,
        payload_json: str,
        topics_json: str,
        created_at: str,
    ) -> EventMessage:
        """`build` of a payload and topics already encoded compactly: the same JSON, byte
        for byte, without encoding them again."""
        encoded = (
            f'{{"id":{id},"type":{_json_string(type)},'
            f'"topics":{topics_json},"payload":{payload_json},'
            f'"created_at":{_json_string(created_at)}}}'
        )
        frame = f"id: {id}\nevent: {type}\ndata: {encoded}\n\n".encode()
        return cls(id, type, topics, payload, created_at, encoded, frame)

    @classmethod
    def from_json(cls, raw: str | bytes) -> EventMessage:
        """Decode a bus message; raises ValueError when it is not an event message."""
        try:
            body = json.loads(raw)
            # Re-encoded rather than reused: our own framing must not depend on the sender's.
            return cls.build(
                id=int(body["id"]),
                type=str(body["type"]),
                topics=tuple(str(topic) for topic in body["topics"]),
                payload=dict(body["payload"]),
                created_at=str(body["created_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an event message: {exc}") from None

    def as_dict(self) -> dict[str, Any]:
        """The message as a dict, the same fields as its JSON."""
        return {
            "id": self.id,
            "type": self.type,
            "topics": list(self.topics),
            "payload": self.payload,
            "created_at": self.created_at,
        }
