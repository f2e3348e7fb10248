"""emit(): the outbox row in the caller's transaction; bus and dispatch only after commit."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import transaction

from shelfwatch.events import bus
from shelfwatch.events.models import Event, EventTopic
from shelfwatch.events.publishing import emit

pytestmark = pytest.mark.django_db(transaction=True)


def enqueued_batches(backend) -> list[list[int]]:
    return [list(result.args[0]) for result in backend.results]


class Boom(Exception):
    pass


def test_emit_writes_the_row_and_its_topic_index(recorded_tasks):
    with transaction.atomic():
        event = emit(
            type="stock.changed",
            payload={"qty": 3, "price": Decimal("2.50")},
            topics=["product:7", "store:2", "product:7"],
        )
    row = Event.objects.get(pk=event.pk)
    assert row.type == "stock.changed"
    # Decimal is normalized to a string so the row, the bus and clients agree.
    assert row.payload == {"qty": 3, "price": "2.50"}
    assert row.topics == ["product:7", "store:2"]
    assert row.dispatched_at is None
    assert sorted(EventTopic.objects.filter(event=row).values_list("topic", flat=True)) == [
        "product:7",
        "store:2",
    ]


def test_dispatch_is_enqueued_only_after_commit(recorded_tasks):
    with transaction.atomic():
        event = emit(type="stock.changed", payload={}, topics=["product:1"])
        assert recorded_tasks.results == []
    assert enqueued_batches(recorded_tasks) == [[event.pk]]


def test_rollback_dispatches_and_publishes_nothing(recorded_tasks, monkeypatch):
    published = []
    monkeypatch.setattr(bus, "publish", lambda messages: published.extend(messages))
    with pytest.raises(Boom), transaction.atomic():
        emit(type="stock.changed", payload={}, topics=["product:1"])
        raise Boom
    assert Event.objects.count() == 0
    assert recorded_tasks.results == []
    assert published == []
    # The next transaction is not polluted by the rolled-back one.
    with transaction.atomic():
        event = emit(type="stock.changed", payload={}, topics=["product:1"])
    assert enqueued_batches(recorded_tasks) == [[event.pk]]
    assert [message.id for message in published] == [event.pk]


def test_one_dispatch_task_per_transaction(recorded_tasks, monkeypatch):
    published_batches = []
    monkeypatch.setattr(bus, "publish", lambda messages: published_batches.append(list(messages)))
    with transaction.atomic():
        ids = [
            emit(type="stock.changed", payload={"n": n}, topics=[f"product:{n}"]).pk
            for n in range(1, 6)
        ]
    with transaction.atomic():
        single = emit(type="price.changed", payload={}, topics=["product:9"]).pk
    assert enqueued_batches(recorded_tasks) == [ids, [single]]
    assert [[m.id for m in batch] for batch in published_batches] == [ids, [single]]


def test_emit_outside_a_transaction_dispatches_at_once(recorded_tasks):
    event = emit(type="stock.changed", payload={}, topics=["product:1"])
    assert enqueued_batches(recorded_tasks) == [[event.pk]]


def test_rolled_back_savepoint_drops_only_its_events(recorded_tasks, monkeypatch):
    published = []
    monkeypatch.setattr(bus, "publish", lambda messages: published.extend(messages))
    with transaction.atomic():
        kept_before = emit(type="stock.changed", payload={}, topics=["product:1"]).pk
        with pytest.raises(Boom), transaction.atomic():
            emit(type="stock.changed", payload={}, topics=["product:2"])
            raise Boom
        try:
            with transaction.atomic():
                kept_inner = emit(type="stock.changed", payload={}, topics=["product:3"]).pk
        except Boom:  # pragma: no cover - nothing raises here
            pass
        kept_after = emit(type="stock.changed", payload={}, topics=["product:4"]).pk
    expected = [kept_before, kept_inner, kept_after]
    assert enqueued_batches(recorded_tasks) == [expected]
    assert [message.id for message in published] == expected


def test_savepoint_rollback_of_the_first_event_keeps_later_ones(recorded_tasks):
    with transaction.atomic():
        with pytest.raises(Boom), transaction.atomic():
            emit(type="stock.changed", payload={}, topics=["product:2"])
            raise Boom
        kept = emit(type="stock.changed", payload={}, topics=["product:4"]).pk
    assert enqueued_batches(recorded_tasks) == [[kept]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "Stock Changed", "payload": {}, "topics": []}, "bad event type"),
        ({"type": "stock.changed", "payload": {}, "topics": ["product"]}, "not a topic"),
        ({"type": "stock.changed", "payload": {}, "topics": ["product:abc"]}, "malformed key"),
        ({"type": "stock.changed", "payload": {}, "topics": ["nosuch:1"]}, "unknown topic"),
    ],
)
def test_emit_rejects_bad_input_and_writes_nothing(recorded_tasks, kwargs, message):
    with pytest.raises(ValueError, match=message):
        emit(**kwargs)
    assert Event.objects.count() == 0
    assert recorded_tasks.results == []


def test_enqueue_failure_is_logged_and_left_to_the_sweeper(recorded_tasks, monkeypatch, caplog):
    from shelfwatch.events import tasks

    class BrokenTask:
        def enqueue(self, *args, **kwargs):
            raise ConnectionError("queue down")

    monkeypatch.setattr(tasks, "dispatch_events", BrokenTask())
    with transaction.atomic():
        event = emit(type="stock.changed", payload={}, topics=["product:1"])
    assert Event.objects.get(pk=event.pk).dispatched_at is None
    assert "the sweeper will" in caplog.text


@pytest.mark.skipif(not bus.bus_enabled(), reason="needs REDIS_URL: the bus is Redis pub/sub")
def test_committed_events_are_published_on_redis(recorded_tasks):
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(bus.channel_name())
    try:
        assert pubsub.get_message(timeout=2) is None  # consumes the confirmation
        with pytest.raises(Boom), transaction.atomic():
            emit(type="stock.changed", payload={}, topics=["product:1"])
            raise Boom
        with transaction.atomic():
            event = emit(type="stock.changed", payload={"qty": 1}, topics=["product:1"])
        message = pubsub.get_message(timeout=2)
        assert message is not None
        body = json.loads(message["data"])
        assert body["id"] == event.pk
        assert body["payload"] == {"qty": 1}
        assert body["topics"] == ["product:1"]
        # Only the committed event went out.
        assert pubsub.get_message(timeout=0.3) is None
    finally:
        pubsub.close()
        client.close()
