"""The table tailer: gap tracking, and PostgreSQL committing ids out of order."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection, connections, transaction

from shelfwatch.events.publishing import emit
from shelfwatch.events.tailing import GapTracker
from tests.events.test_stream import connect, serving

pytestmark = pytest.mark.django_db(transaction=True)


def test_gaps_open_fill_and_expire():
    position = GapTracker(start=10, window=5.0)
    position.observe([11, 14], now=100.0)
    assert position.high == 14
    assert sorted(position.gaps) == [12, 13]
    position.observe([13], now=101.0)  # a late commit fills its gap
    assert sorted(position.gaps) == [12]
    position.observe([15], now=106.0)  # 12 never came: a rolled-back insert
    assert position.gaps == {}
    assert position.high == 15


def test_a_huge_jump_tracks_a_bounded_number_of_gaps():
    position = GapTracker(start=0, window=5.0)
    position.observe([1_000_000], now=0.0)
    assert len(position.gaps) == 1000
    assert min(position.gaps) == 999_000


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serializes writers (BEGIN IMMEDIATE), so its ids always commit in order",
)
def test_an_event_committing_after_a_higher_id_still_arrives(recorded_tasks):
    holding = threading.Event()
    release = threading.Event()
    result: dict[str, int] = {}

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                result["late"] = emit(type="stock.changed", payload={}, topics=["product:1"]).pk
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    def quick_writer() -> int:
        with transaction.atomic():
            return emit(type="stock.changed", payload={}, topics=["product:1"]).pk

    async def scenario():
        # Table tailing even when Redis is configured: this is what the tailer must handle.
        async with serving(use_redis=False, tail_interval=0.05) as (app, hub):
            stream = await connect(app, "product:1")
            writer = threading.Thread(target=slow_writer)
            writer.start()
            try:
                assert await sync_to_async(holding.wait)(10)
                early = await sync_to_async(quick_writer)()
                assert early > result["late"]  # the higher id commits first
                frame = await stream.next_event()
                assert frame.id == str(early)
                # Let the tailer move past the gap a few times before the late commit.
                polls = hub.tailer.polls
                while hub.tailer.polls < polls + 3:
                    await asyncio.sleep(0.02)
            finally:
                release.set()
                await sync_to_async(writer.join)()
            late = await stream.next_event()
            assert late.json["id"] == result["late"]
            # Sent without `id:` so the client's reconnect cursor stays at the higher id.
            assert late.id is None
            assert await stream.no_event_within(0.3)
            await stream.disconnect()

    async_to_sync(scenario)()
