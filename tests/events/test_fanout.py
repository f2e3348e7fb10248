"""The hub writes each event to live clients itself: at once, in order, bounded for slow ones."""

from __future__ import annotations

import asyncio

import pytest

from shelfwatch.events.fanout import DirectSubscription
from shelfwatch.events.hub import Hub
from shelfwatch.events.messages import EventMessage
from shelfwatch.events.topics import TopicSelection

FOLLOWS_1 = TopicSelection(topics=frozenset({"product:1"}))


def message(event_id: int, topic: str = "product:1") -> EventMessage:
    return EventMessage.build(
        id=event_id, type="stock.changed", topics=(topic,), payload={}, created_at="now"
    )


class Connection:
    """An ASGI `send` that takes bytes at once while `open`, and makes the writer wait
    (as a server with a full buffer does) while it is not."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.open = asyncio.Event()
        self.open.set()

    async def send(self, asgi_message: dict) -> None:
        await self.open.wait()
        self.bodies.append(asgi_message["body"])

    @property
    def ids(self) -> list[int]:
        text = b"".join(self.bodies).decode()
        return [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]


def live(
    connection: Connection, *, max_queue: int = 10, cursor: int = 0, seam=()
) -> DirectSubscription:
    subscription = DirectSubscription(FOLLOWS_1, max_queue=max_queue, send=connection.send)
    subscription.go_live(cursor=cursor, seam=seam, seam_until=float("inf"))
    return subscription


def run(scenario) -> None:
    asyncio.run(scenario())


def test_one_fan_out_call_writes_the_event_to_every_live_client_before_it_returns():
    async def scenario():
        hub = Hub(use_redis=False, tail_interval=60)
        connections = [Connection() for _ in range(200)]
        for connection in connections:
            hub.attach(live(connection))
        hub.deliver([message(7)])
        # No task had a chance to run: the bytes were handed over inside deliver().
        assert all(connection.ids == [7] for connection in connections)
        assert hub.stats["delivered"] == 200

    run(scenario)


def test_events_queued_before_going_live_are_written_then_without_the_replayed_ones():
    async def scenario():
        connection = Connection()
        subscription = DirectSubscription(FOLLOWS_1, max_queue=10, send=connection.send)
        for event_id in (4, 5, 6):
            assert subscription.push(message(event_id))
        assert connection.bodies == []  # replay first: nothing live is written yet
        subscription.go_live(cursor=5, seam={4, 5}, seam_until=float("inf"))
        assert connection.ids == [6]
        subscription.push(message(5))  # the hub delivers a replayed event late: not again
        subscription.push(message(7))
        assert connection.ids == [6, 7]

    run(scenario)


def test_an_event_committed_late_is_sent_without_moving_the_reconnect_cursor_back():
    async def scenario():
        connection = Connection()
        subscription = live(connection)
        subscription.push(message(9))
        subscription.push(message(8))  # committed after 9 was sent
        text = b"".join(connection.bodies).decode()
        assert connection.ids == [9]
        assert text.count('"id":8') == 1  # still delivered, as data without an `id:` line
        assert subscription.cursor == 9

    run(scenario)


def test_a_client_that_stops_reading_gets_a_bounded_backlog_in_order_then_is_dropped():
    async def scenario():
        hub = Hub(use_redis=False, tail_interval=60)
        slow, fast = Connection(), Connection()
        slow_subscription = hub.attach(live(slow, max_queue=3))
        hub.attach(live(fast, max_queue=3))
        slow.open.clear()
        for event_id in range(1, 5):  # one write waiting, three in the backlog
            hub.deliver([message(event_id)])
        assert slow_subscription.closed_reason is None and hub.client_count == 2
        hub.deliver([message(5)])  # a fourth behind: too slow
        assert slow_subscription.closed_reason == "overflow"
        assert hub.client_count == 1 and hub.stats["dropped_clients"] == 1
        assert fast.ids == [1, 2, 3, 4, 5]  # never held up
        slow.open.set()
        await asyncio.wait_for(slow_subscription.wait_closed(), 2)
        assert slow.ids == [1, 2, 3, 4]  # what was accepted arrives, in order, once

    run(scenario)


def test_a_write_the_server_refuses_ends_the_stream_as_a_disconnect():
    async def scenario():
        async def gone(_message: dict) -> None:
            raise OSError("connection reset")

        subscription = DirectSubscription(FOLLOWS_1, max_queue=10, send=gone)
        subscription.go_live(cursor=0, seam=(), seam_until=0.0)
        assert subscription.push(message(1))
        assert subscription.closed_reason == "disconnect"
        await asyncio.wait_for(subscription.wait_closed(), 1)

    run(scenario)


@pytest.mark.parametrize("written_meanwhile", [False, True])
def test_heartbeat_ticks_write_a_keepalive_only_to_clients_idle_for_two_ticks(written_meanwhile):
    async def scenario():
        connection = Connection()
        subscription = live(connection)
        subscription.tick(b": keepalive\n\n")
        if written_meanwhile:
            subscription.push(message(1))
        subscription.tick(b": keepalive\n\n")
        keepalives = sum(body == b": keepalive\n\n" for body in connection.bodies)
        assert keepalives == (0 if written_meanwhile else 1)

    run(scenario)
