"""Who may start a refresh through a feed's stream, against the stream app in process."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from shelfwatch.events.hub import Hub
from shelfwatch.events.server import StreamServer
from shelfwatch.feeds.models import Dataset, RefreshRun
from tests.events.sse_harness import AsgiStream
from tests.feeds.conftest import refresh_now

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/feeds/inventory"


@pytest.fixture
def inventory(make_dataset, stocked_store):
    dataset = make_dataset("inventory")
    refresh_now(dataset)
    return Dataset.objects.get(pk=dataset.pk)


def stream_with_refresh(key: str) -> AsgiStream:
    """Open `?stream=true&refresh=true` with `key`, read until the answer ends."""

    async def scenario() -> AsgiStream:
        hub = Hub(tail_interval=0.05)
        try:
            stream = AsgiStream(
                StreamServer(hub=hub),
                PATH,
                query={"stream": "true", "refresh": "true"},
                headers={"X-API-Key": key},
            )
            await stream.open(timeout=10)
            if stream.status == 200:
                await stream.disconnect(timeout=10)
            else:
                await stream.wait_complete()
            return stream
        finally:
            await hub.stop()

    return async_to_sync(scenario)()


def test_a_read_only_key_cannot_start_a_refresh_through_the_stream(inventory, reader_key):
    runs = RefreshRun.objects.filter(dataset=inventory).count()
    stream = stream_with_refresh(reader_key("inventory", scopes=("read",)))
    assert stream.status == 403
    assert stream.headers["content-type"] == "application/problem+json"
    assert stream.json["code"] == "refresh_not_allowed"
    assert RefreshRun.objects.filter(dataset=inventory).count() == runs


def test_a_key_that_may_write_starts_a_refresh_through_the_stream(inventory, reader_key):
    runs = RefreshRun.objects.filter(dataset=inventory).count()
    stream = stream_with_refresh(reader_key("inventory", scopes=("read", "write")))
    assert stream.status == 200
    assert stream.headers["x-feed-refresh"] == "triggered"
    assert RefreshRun.objects.filter(dataset=inventory).count() == runs + 1
