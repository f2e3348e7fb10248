"""The streams one client address may hold, counted across stream processes.

Without Redis each process counts its own; with REDIS_URL the count lives in Redis, so two
processes (here: two counters, or two stream apps, on one Redis) share one limit, and the
places of a process that died without closing its streams come back when their lease ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from django.conf import settings

from shelfwatch.events.client_streams import (
    ProcessStreamCounts,
    SharedStreamCounts,
    stream_counts,
)
from shelfwatch.events.server import StreamServer
from tests.events.test_stream import run
from tests.events.test_streams_per_client import assert_too_many_streams, from_address, refused

needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs REDIS_URL: the shared count lives in Redis"
)


def shared(limit: int, prefix: str, lease: float = 30.0) -> SharedStreamCounts:
    """One stream process's counter; counters with the same prefix share one Redis count."""
    return SharedStreamCounts(limit, url=settings.REDIS_URL, lease_seconds=lease, prefix=prefix)


def fresh_prefix() -> str:
    return f"shelfwatch:test-{uuid.uuid4().hex}"


async def kill(counts: SharedStreamCounts) -> None:
    """What SIGKILL leaves: no release, no renewal, the connection just gone."""
    counts._renewer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await counts._renewer
    await counts._client.aclose()


def test_without_redis_each_process_counts_its_own(settings):
    settings.REDIS_URL = ""
    counts = stream_counts(2)
    assert type(counts) is ProcessStreamCounts

    async def scenario():
        first = await counts.admit("198.51.100.1")
        assert first.admitted and (await counts.admit("198.51.100.1")).admitted
        refusal = await counts.admit("198.51.100.1")
        assert not refusal.admitted and refusal.held == 2
        assert (await counts.admit("198.51.100.2")).admitted  # another address
        await counts.release("198.51.100.1", first)
        assert (await counts.admit("198.51.100.1")).admitted

    asyncio.run(scenario())


@needs_redis
def test_two_processes_share_one_limit_per_address():
    prefix = fresh_prefix()
    one, two = shared(3, prefix), shared(3, prefix)

    async def scenario():
        try:
            a = await one.admit("198.51.100.1")
            b = await one.admit("198.51.100.1")
            c = await two.admit("198.51.100.1")
            assert (a.admitted, b.admitted, c.admitted) == (True, True, True)
            # Each process alone holds fewer than 3, yet the address is at its limit.
            refused_two, refused_one = (
                await two.admit("198.51.100.1"),
                await one.admit("198.51.100.1"),
            )
            assert not refused_two.admitted and refused_two.held == 3
            assert not refused_one.admitted
            assert (await two.admit("198.51.100.9")).admitted  # other addresses unaffected
            await one.release("198.51.100.1", a)
            assert (await two.admit("198.51.100.1")).admitted
            assert not (await one.admit("198.51.100.1")).admitted
        finally:
            await one.close()
            await two.close()

    asyncio.run(scenario())


@needs_redis
def test_the_places_of_a_dead_process_come_back_when_their_lease_runs_out():
    prefix = fresh_prefix()
    dead, alive = shared(2, prefix, lease=1.0), shared(2, prefix, lease=1.0)

    async def scenario():
        try:
            assert (await dead.admit("198.51.100.1")).admitted
            assert (await dead.admit("198.51.100.1")).admitted
            await kill(dead)
            assert not (await alive.admit("198.51.100.1")).admitted
            await asyncio.sleep(1.3)
            assert (await alive.admit("198.51.100.1")).admitted
            assert (await alive.admit("198.51.100.1")).admitted
            assert not (await alive.admit("198.51.100.1")).admitted
        finally:
            await alive.close()

    asyncio.run(scenario())


@needs_redis
def test_a_process_that_stops_in_order_gives_its_places_back_at_once():
    prefix = fresh_prefix()
    stopping, other = shared(2, prefix), shared(2, prefix)

    async def scenario():
        try:
            assert (await stopping.admit("198.51.100.1")).admitted
            assert (await stopping.admit("198.51.100.1")).admitted
            assert not (await other.admit("198.51.100.1")).admitted
            await stopping.close()  # lifespan shutdown, streams never released one by one
            assert (await other.admit("198.51.100.1")).admitted
        finally:
            await other.close()

    asyncio.run(scenario())


@needs_redis
def test_a_live_process_keeps_its_places_past_the_lease_by_renewing_them():
    prefix = fresh_prefix()
    holder, other = shared(1, prefix, lease=0.6), shared(1, prefix, lease=0.6)

    async def scenario():
        try:
            held = await holder.admit("198.51.100.1")
            assert held.admitted
            await asyncio.sleep(1.5)  # over two leases; renewed every 0.2 s meanwhile
            assert not (await other.admit("198.51.100.1")).admitted
            await holder.release("198.51.100.1", held)
            assert (await other.admit("198.51.100.1")).admitted
        finally:
            await holder.close()
            await other.close()

    asyncio.run(scenario())


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_two_stream_apps_answer_429_once_the_address_holds_its_limit_across_both(
    cast, recorded_tasks, settings
):
    settings.STREAM_MAX_CLIENTS_PER_IP = 1
    address = f"198.51.100.{uuid.uuid4().int % 200 + 20}"

    async def scenario():
        from shelfwatch.events.hub import Hub

        hub = Hub(tail_interval=0.05)
        prefix = fresh_prefix()
        first_app = StreamServer(hub=hub, client_counts=shared(1, prefix))
        second_app = StreamServer(hub=hub, client_counts=shared(1, prefix))
        try:
            first = await from_address(first_app, address).open()
            assert first.status == 200
            assert_too_many_streams(await refused(from_address(second_app, address)))
            await first.disconnect()
            again = await from_address(second_app, address).open()
            assert again.status == 200
            await again.disconnect()
        finally:
            await first_app.client_counts.close()
            await second_app.client_counts.close()
            await hub.stop()

    run(scenario)
