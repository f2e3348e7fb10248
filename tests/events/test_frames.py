"""The SSE frame of an event: encoded once when the message is built, the same bytes for
every client, and without its id when it must not move a client's reconnect cursor."""

from __future__ import annotations

from shelfwatch.events.messages import EventMessage
from shelfwatch.events.sse import event_frame


def _message() -> EventMessage:
    return EventMessage.build(
        id=42,
        type="stock.changed",
        topics=("store:1",),
        payload={"name": "दही 500 g", "quantity": 3},
        created_at="2026-12-06T10:00:00+00:00",
    )


def test_every_client_gets_the_frame_encoded_when_the_message_was_built():
    message = _message()
    first, second = event_frame(message), event_frame(message)
    assert first is second is message.frame
    lines = first.decode().split("\n")
    assert lines[:2] == ["id: 42", "event: stock.changed"]
    assert lines[2] == f"data: {message.json}" and "दही" in lines[2]
    assert first.endswith(b"\n\n")


def test_a_late_event_is_framed_without_its_id():
    frame = event_frame(_message(), with_id=False).decode()
    assert frame.startswith("event: stock.changed\ndata: {")
    assert "id: 42" not in frame


def test_a_message_read_from_the_bus_is_framed_like_the_one_sent():
    sent = _message()
    received = EventMessage.from_json(sent.json)
    assert event_frame(received) == event_frame(sent)
