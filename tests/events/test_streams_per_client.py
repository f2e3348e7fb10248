"""One client address holds a bounded number of streams, so it cannot take everyone's room.

Against the stream app in process, as test_stream.py drives it; the same limit in a real
stream process, with connections reset by the client: tests/ops/test_connections.py.
"""

from __future__ import annotations

import pytest

from tests.events.sse_harness import AsgiStream
from tests.events.test_stream import PATH, connect, run, serving, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class Breakable(AsgiStream):
    """A client whose connection can be reset: every write to it fails from then on."""

    broken = False

    async def _send(self, message: dict) -> None:
        if self.broken:
            raise ConnectionResetError("connection reset by peer")
        await super()._send(message)


def from_address(app, address: str, headers: dict[str, str] | None = None) -> AsgiStream:
    stream = AsgiStream(app, PATH, query={"topics": "product:1"}, headers=headers)
    stream.scope["client"] = (address, 40000)
    return stream


async def refused(stream: AsgiStream) -> AsgiStream:
    await stream.open()
    await stream.wait_complete()
    return stream


def assert_too_many_streams(stream: AsgiStream) -> None:
    assert stream.status == 429
    assert stream.headers["content-type"] == "application/problem+json"
    assert stream.json["code"] == "too_many_streams"
    assert int(stream.headers["retry-after"]) > 0


def test_one_address_past_its_stream_limit_gets_429_while_others_still_connect(
    cast, recorded_tasks, settings
):
    settings.STREAM_MAX_CLIENTS_PER_IP = 3

    async def scenario():
        async with serving() as (app, _hub):
            held = [await connect(app, "product:1") for _ in range(3)]
            over = await refused(from_address(app, "127.0.0.1"))
            assert_too_many_streams(over)
            assert app.open_streams == 3  # the refused one never counted
            other = await from_address(app, "198.51.100.7").open()
            assert other.status == 200
            for stream in [*held, other]:
                await stream.disconnect()
            assert app.open_streams == 0 and app.streams_by_client == {}

    run(scenario)


def test_a_closed_stream_gives_its_place_back(cast, recorded_tasks, settings):
    settings.STREAM_MAX_CLIENTS_PER_IP = 2

    async def scenario():
        async with serving() as (app, _hub):
            first = await connect(app, "product:1")
            second = await connect(app, "product:1")
            assert_too_many_streams(await refused(from_address(app, "127.0.0.1")))
            await first.disconnect()
            third = await connect(app, "product:1")
            assert third.status == 200
            for stream in (second, third):
                await stream.disconnect()

    run(scenario)


def test_a_client_whose_connection_breaks_gives_its_place_back(cast, recorded_tasks, settings):
    settings.STREAM_MAX_CLIENTS_PER_IP = 1
    settings.EVENTS_HEARTBEAT_SECONDS = 0.05

    async def scenario():
        async with serving() as (app, _hub):
            gone = await Breakable(app, PATH, query={"topics": "product:1"}).open()
            assert gone.status == 200
            # No disconnect message: the next write (a heartbeat) is what finds it gone.
            gone.broken = True
            await wait_for(lambda: gone.task.done(), timeout=5)
            assert app.streams_by_client == {}
            again = await connect(app, "product:1")
            assert again.status == 200
            await again.disconnect()

    run(scenario)


def test_a_forged_forwarded_for_does_not_escape_the_limit(cast, recorded_tasks, settings):
    settings.STREAM_MAX_CLIENTS_PER_IP = 1
    settings.NINJA_NUM_PROXIES = 0  # no proxy in front: the header is the client's own words

    async def scenario():
        async with serving() as (app, _hub):
            first = await from_address(app, "203.0.113.5", {"X-Forwarded-For": "10.0.0.1"}).open()
            assert first.status == 200
            forged = from_address(app, "203.0.113.5", {"X-Forwarded-For": "10.0.0.2"})
            assert_too_many_streams(await refused(forged))
            await first.disconnect()

    run(scenario)


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    cast, recorded_tasks, settings
):
    settings.STREAM_MAX_CLIENTS_PER_IP = 1
    settings.NINJA_NUM_PROXIES = 1

    async def scenario():
        async with serving() as (app, _hub):
            # Both through the proxy at 10.0.0.9, which appends the address it saw.
            one = await from_address(app, "10.0.0.9", {"X-Forwarded-For": "198.51.100.1"}).open()
            two = await from_address(
                app, "10.0.0.9", {"X-Forwarded-For": "1.2.3.4, 198.51.100.2"}
            ).open()
            assert (one.status, two.status) == (200, 200)
            again = from_address(app, "10.0.0.9", {"X-Forwarded-For": "9.9.9.9, 198.51.100.1"})
            assert_too_many_streams(await refused(again))
            for stream in (one, two):
                await stream.disconnect()

    run(scenario)


def test_new_ipv6_addresses_of_one_network_do_not_escape_the_limit(cast, recorded_tasks, settings):
    settings.STREAM_MAX_CLIENTS_PER_IP = 1

    async def scenario():
        async with serving() as (app, _hub):
            first = await from_address(app, "2001:db8:5:6::1").open()
            assert first.status == 200
            assert_too_many_streams(await refused(from_address(app, "2001:db8:5:6::2")))
            other = await from_address(app, "2001:db8:5:7::1").open()
            assert other.status == 200
            for stream in (first, other):
                await stream.disconnect()

    run(scenario)


def test_a_limit_of_zero_lets_one_address_hold_any_number(cast, recorded_tasks, settings):
    settings.STREAM_MAX_CLIENTS_PER_IP = 0

    async def scenario():
        async with serving() as (app, _hub):
            held = [await connect(app, "product:1") for _ in range(30)]
            assert {stream.status for stream in held} == {200}
            for stream in held:
                await stream.disconnect()

    run(scenario)
