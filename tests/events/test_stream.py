"""The ASGI stream app end to end, in process: delivery, replay, heartbeat, cleanup, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connections, transaction
from django.test import Client

from shelfwatch.accounts.api_keys import create_api_key
from shelfwatch.events import bus
from shelfwatch.events.hub import Hub
from shelfwatch.events.publishing import emit
from shelfwatch.events.server import StreamServer
from tests.events.sse_harness import AsgiStream, request

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/events/stream"


def run(scenario) -> None:
    """Run an async scenario; sync_to_async calls inside it run on this (the test) thread."""
    async_to_sync(scenario)()


@asynccontextmanager
async def serving(**hub_options) -> AsyncIterator[tuple[StreamServer, Hub]]:
    hub_options.setdefault("tail_interval", 0.05)
    hub = Hub(**hub_options)
    try:
        yield StreamServer(hub=hub), hub
    finally:
        await hub.stop()


def _emit(topic: str, event_type: str = "stock.changed", **payload) -> int:
    with transaction.atomic():
        return emit(type=event_type, payload=payload, topics=[topic]).pk


emit_on = sync_to_async(_emit)


async def wait_for(condition, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def connect(app, topics: str, headers: dict[str, str] | None = None, **query) -> AsgiStream:
    stream = await AsgiStream(app, PATH, query={"topics": topics, **query}, headers=headers).open()
    first = await stream.next_frame()
    assert first.retry is not None  # the retry hint comes first
    connected = await stream.next_frame()
    assert connected.comments == ["connected"]  # subscribed from here on
    return stream


def test_live_events_reach_the_followers_of_their_topics(cast, recorded_tasks):
    async def scenario():
        async with serving() as (app, _hub):
            one = await connect(app, "product:1")
            two = await connect(app, "product:2")
            everything = await connect(app, "*", cast.admin.headers)
            assert one.status == 200
            assert one.headers["content-type"].startswith("text/event-stream")
            assert one.headers["cache-control"].startswith("no-cache")

            first = await emit_on("product:1", qty=5)
            second = await emit_on("product:2", price="1.10", event_type="price.changed")

            frame = await one.next_event()
            assert frame.id == str(first)
            assert frame.event == "stock.changed"
            body = frame.json
            assert body["id"] == first
            assert body["type"] == "stock.changed"
            assert body["topics"] == ["product:1"]
            assert body["payload"] == {"qty": 5}
            assert body["created_at"]
            assert (await two.next_event()).json["id"] == second  # product:1 never reached it
            assert [f.json["id"] for f in await everything.events(2)] == [first, second]
            assert await one.no_event_within(0.2)
            for stream in (one, two, everything):
                await stream.disconnect()

    run(scenario)


@pytest.mark.parametrize("via", ["header", "query"])
def test_replay_then_live_without_gaps_or_duplicates(cast, recorded_tasks, via):
    async def scenario():
        # A tailer that polls only when poked, so the test decides when the hub sees what.
        async with serving(use_redis=False, tail_interval=3600) as (app, hub):
            await hub.start()
            await wait_for(lambda: hub.tailer.polls == 1)  # the first poll happens at start
            first = await emit_on("product:1")
            missed = [await emit_on("product:1") for _ in range(2)]
            await emit_on("product:9")  # another topic: never replayed to this client
            if via == "header":
                stream = await connect(app, "product:1", {"Last-Event-ID": str(first)})
            else:
                stream = await connect(app, "product:1", last_event_id=str(first))
            replayed = await stream.events(2)
            assert [int(f.id) for f in replayed] == missed
            # The hub now sees the same events live: the client must not get them twice.
            delivered = hub.stats["delivered"]
            hub.tailer.poke()
            await wait_for(lambda: hub.stats["delivered"] >= delivered + 2)
            latest = await emit_on("product:1")
            hub.tailer.poke()
            assert (await stream.next_event()).json["id"] == latest
            assert await stream.no_event_within(0.2)
            await stream.disconnect()

    run(scenario)


def test_replay_is_bounded_and_says_so(cast, recorded_tasks, settings):
    settings.EVENTS_REPLAY_LIMIT = 2

    async def scenario():
        async with serving(use_redis=False) as (app, _hub):
            ids = [await emit_on("product:1") for _ in range(4)]
            stream = await connect(app, "product:1", {"Last-Event-ID": "0"})
            notice = await stream.next_event()
            assert notice.event == "replay_truncated" and notice.id is None
            assert notice.json == {"after": 0, "limit": 2, "replayed": 2}
            # The newest events, so the client converges on the current state.
            assert [int(f.id) for f in await stream.events(2)] == ids[-2:]
            await stream.disconnect()

    run(scenario)


def test_heartbeat_comments_keep_idle_streams_alive(cast, recorded_tasks, settings):
    settings.EVENTS_HEARTBEAT_SECONDS = 0.05

    async def scenario():
        async with serving() as (app, _hub):
            stream = await connect(app, "product:1")
            beats = [await stream.next_frame(timeout=1) for _ in range(3)]
            assert all(frame.comments == ["keepalive"] for frame in beats)
            await stream.disconnect()

    run(scenario)


def test_disconnect_frees_the_subscription(cast, recorded_tasks):
    async def scenario():
        async with serving() as (app, hub):
            one = await connect(app, "product:1,product:2")
            two = await connect(app, "product:2")
            assert hub.client_count == 2 and hub.topic_count == 2
            await one.disconnect()
            assert one.task.done()
            assert hub.client_count == 1 and hub.topic_count == 1
            # The remaining client still gets its events.
            event_id = await emit_on("product:2")
            assert (await two.next_event()).json["id"] == event_id
            await two.disconnect()
            assert hub.client_count == 0 and hub.topic_count == 0

    run(scenario)


def test_a_slow_client_is_dropped_without_holding_up_others(cast, recorded_tasks):
    async def scenario():
        async with serving(queue_size=2) as (app, hub):
            slow = await connect(app, "product:1")
            fast = await connect(app, "product:1")
            slow.reading.clear()  # stops reading: its sends block from now on
            for _ in range(5):
                event_id = await emit_on("product:1")
                assert (await fast.next_event()).json["id"] == event_id
            await wait_for(lambda: hub.stats["dropped_clients"] == 1)
            assert hub.client_count == 1
            slow.reading.set()
            await slow.wait_complete()  # the server ended its response
            assert b"too slow" in slow.body
            await fast.disconnect()

    run(scenario)


def test_session_cookie_and_api_key_callers(cast, recorded_tasks):
    client = Client()
    client.force_login(cast.staff.user)
    session_cookie = f"sessionid={client.cookies['sessionid'].value}"
    key = create_api_key(user=cast.customer.user, name="stream", scopes=["read"]).raw

    async def scenario():
        async with serving() as (app, _hub):
            staff = await connect(app, f"store:{cast.store.pk}", {"Cookie": session_cookie})
            customer = await connect(app, f"user:{cast.customer.user.pk}", {"X-API-Key": key})
            store_event = await emit_on(f"store:{cast.store.pk}")
            user_event = await emit_on(f"user:{cast.customer.user.pk}")
            assert (await staff.next_event()).json["id"] == store_event
            assert (await customer.next_event()).json["id"] == user_event
            await staff.disconnect()
            await customer.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("query", "headers", "status", "code"),
    [
        ({"topics": "product:1"}, {"Authorization": "Bearer nope"}, 401, "invalid_credentials"),
        ({"topics": "product:1"}, {"X-API-Key": "sw_bad_key"}, 401, "invalid_credentials"),
        ({"topics": "store:1"}, {}, 403, "topic_forbidden"),
        ({"topics": "product:x"}, {}, 400, "topic_invalid"),
        ({}, {}, 400, "topics_required"),
        ({"topics": "product:1"}, {"Last-Event-ID": "abc"}, 400, "invalid_last_event_id"),
        ({"topics": "product:1", "last_event_id": "\u00b2"}, {}, 400, "invalid_last_event_id"),
    ],
)
def test_refusals_are_problem_documents(cast, recorded_tasks, query, headers, status, code):
    async def scenario():
        async with serving() as (app, hub):
            response = await request(app, PATH, query=query, headers=headers)
            assert response.status == status
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json["code"] == code
            assert response.json["instance"] == PATH
            if status == 401:
                assert "www-authenticate" in response.headers
            assert hub.client_count == 0

    run(scenario)


def test_forbidden_for_staff_of_another_store(cast, recorded_tasks):
    async def scenario():
        async with serving() as (app, _hub):
            topics = {"topics": f"store:{cast.other_store.pk}"}
            response = await request(app, PATH, query=topics, headers=cast.staff.headers)
            assert response.status == 403
            assert response.json["code"] == "topic_forbidden"

    run(scenario)


def test_other_paths_and_methods(recorded_tasks):
    async def scenario():
        async with serving() as (app, _hub):
            missing = await request(app, "/api/v1/products/")
            assert missing.status == 404
            assert missing.headers["content-type"] == "application/problem+json"
            assert missing.json["code"] == "not_found"
            post = await request(app, PATH, method="POST", query={"topics": "product:1"})
            assert post.status == 405 and post.headers["allow"] == "GET"
            health = await request(app, "/health")
            assert health.status == 200 and health.json["status"] == "ok"

    run(scenario)


def test_lifespan_starts_and_stops_the_hub(recorded_tasks):
    async def scenario():
        hub = Hub(tail_interval=0.05)
        app = StreamServer(hub=hub)
        incoming: asyncio.Queue = asyncio.Queue()
        sent: list[str] = []

        async def send(message):
            sent.append(message["type"])

        task = asyncio.create_task(app({"type": "lifespan"}, incoming.get, send))
        await incoming.put({"type": "lifespan.startup"})
        await wait_for(lambda: sent == ["lifespan.startup.complete"])
        assert hub.started
        await incoming.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(task, 5)
        assert sent[-1] == "lifespan.shutdown.complete"
        assert not hub.started

    run(scenario)


def test_the_front_serves_streams_natively_and_the_rest_through_django(cast, recorded_tasks):
    from django.core.wsgi import get_wsgi_application

    from shelfwatch.config import asgi
    from shelfwatch.config.wsgi_bridge import WsgiBridge

    assert isinstance(asgi.stream_application, StreamServer)
    assert asgi.stream_application.fallback is None
    assert isinstance(asgi.application.fallback, WsgiBridge)

    # One bridge thread, so its database connection can be closed afterwards.
    bridge = WsgiBridge(get_wsgi_application(), threads=1)

    async def scenario():
        hub = Hub(tail_interval=0.05)
        front = StreamServer(fallback=bridge, hub=hub)
        try:
            listing = await request(front, "/api/v1/events/", query={"topics": "product:1"})
            assert listing.status == 200 and listing.json["events"] == []
            stream = await connect(front, "product:1")
            event_id = await emit_on("product:1")
            assert (await stream.next_event()).json["id"] == event_id
            await stream.disconnect()
        finally:
            await hub.stop()

    try:
        run(scenario)
    finally:
        bridge.pool.submit(connections.close_all).result()
        bridge.pool.shutdown()


@pytest.mark.skipif(not bus.bus_enabled(), reason="needs REDIS_URL: tests the Redis bus")
def test_redis_delivers_at_once_and_the_table_catches_up_lost_publishes(
    cast, recorded_tasks, monkeypatch
):
    async def scenario():
        async with serving(use_redis=True, catchup_interval=0.3) as (app, _hub):
            stream = await connect(app, "product:1")
            quick = await emit_on("product:1")
            assert (await stream.next_event(timeout=0.25)).json["id"] == quick
            # A process dying between commit and publish: the row exists, no message.
            monkeypatch.setattr(bus, "publish", lambda messages: False)
            lost = await emit_on("product:1")
            assert (await stream.next_event(timeout=3)).json["id"] == lost
            assert await stream.no_event_within(0.5)  # and only once
            await stream.disconnect()

    run(scenario)


def test_draining_ends_streams_and_refuses_new_ones(cast, recorded_tasks):
    async def scenario():
        async with serving() as (app, hub):
            stream = await connect(app, "product:1")
            hub.drain()
            await stream.wait_complete()
            await asyncio.wait_for(stream.task, 5)
            late = await AsgiStream(app, PATH, query={"topics": "product:1"}).open()
            await late.wait_complete()  # headers, then the end: reconnect elsewhere
            assert late.status == 200 and hub.client_count == 0

    run(scenario)


def test_shutdown_signal_closes_streams_before_the_servers_own_handler(recorded_tasks):
    import signal

    from shelfwatch.events.server import end_streams_on_shutdown_signal

    calls: list[str] = []

    async def scenario():
        # Signal handlers need the main thread's loop, hence asyncio.run here.
        loop = asyncio.get_running_loop()
        hub = Hub()
        loop.add_signal_handler(signal.SIGTERM, lambda: calls.append(f"server {hub.draining}"))
        try:
            end_streams_on_shutdown_signal(hub)
            end_streams_on_shutdown_signal(hub)  # idempotent: chains once
            loop._signal_handlers[signal.SIGTERM]._run()  # as if SIGTERM arrived
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
        assert hub.draining

    asyncio.run(scenario())
    assert calls == ["server True"]  # ours ran first, then the server's, once
