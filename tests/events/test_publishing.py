"""emit(): the outbox row in the caller's transaction; bus and dispatch only after commit."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connections, transaction

from shelfwatch.events import bus
from shelfwatch.events.models import Event, EventTopic
from shelfwatch.events.publishing import NewEvent, emit, emit_many

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


# --- the database backend: the dispatch task row is written in the events' transaction ----


@pytest.fixture
def db_tasks(settings):
    """The database task backend, whatever the suite runs on (its app is always installed)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from django_tasks_db.models import DBTaskResult

    from shelfwatch.events.tasks import dispatch_events

    def rows() -> list[list[int]]:
        found = DBTaskResult.objects.filter(task_path=dispatch_events.module_path)
        return [row.task_result.args[0] for row in found.order_by("enqueued_at")]

    return rows


def rows_seen_by_another_connection(rows) -> list[list[int]]:
    """What a worker would see now: the table read through a separate connection."""
    seen: list[list[int]] = []

    def read() -> None:
        try:
            seen.extend(rows())
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    return seen


def test_database_backend_writes_one_task_row_inside_the_transaction(db_tasks):
    with transaction.atomic():
        first = emit(type="stock.changed", payload={}, topics=["product:1"]).pk
        second = emit(type="stock.back_in_stock", payload={}, topics=["product:1"]).pk
        # Written already, in this transaction: one row carrying both events...
        assert db_tasks() == [[first, second]]
        # ...that nobody else sees before the commit.
        assert rows_seen_by_another_connection(db_tasks) == []
    assert db_tasks() == [[first, second]]
    assert rows_seen_by_another_connection(db_tasks) == [[first, second]]
    with transaction.atomic():
        third = emit(type="stock.changed", payload={}, topics=["product:1"]).pk
    assert db_tasks() == [[first, second], [third]]


def test_database_backend_rollback_removes_the_task_row(db_tasks, monkeypatch):
    published = []
    monkeypatch.setattr(bus, "publish", lambda messages: published.extend(messages))
    with pytest.raises(Boom), transaction.atomic():
        emit(type="stock.changed", payload={}, topics=["product:1"])
        emit(type="stock.low", payload={}, topics=["product:1"])
        raise Boom
    assert Event.objects.count() == 0
    assert db_tasks() == []
    assert published == []


def test_database_backend_emit_outside_a_transaction_writes_its_own_row(db_tasks):
    event = emit(type="stock.changed", payload={}, topics=["product:1"])
    assert db_tasks() == [[event.pk]]


def test_database_backend_task_row_follows_savepoint_rollbacks(db_tasks):
    with transaction.atomic():
        kept_before = emit(type="stock.changed", payload={}, topics=["product:1"]).pk
        with pytest.raises(Boom), transaction.atomic():
            emit(type="stock.changed", payload={}, topics=["product:2"])
            raise Boom
        with transaction.atomic():
            kept_inner = emit(type="stock.changed", payload={}, topics=["product:3"]).pk
        kept_after = emit(type="stock.changed", payload={}, topics=["product:4"]).pk
    assert db_tasks() == [[kept_before, kept_inner, kept_after]]


def test_database_backend_row_written_in_a_rolled_back_savepoint_is_written_again(db_tasks):
    with transaction.atomic():
        with pytest.raises(Boom), transaction.atomic():
            emit(type="stock.changed", payload={}, topics=["product:2"])
            raise Boom
        with pytest.raises(Boom), transaction.atomic():
            emit(type="stock.changed", payload={}, topics=["product:3"])
            with transaction.atomic():
                emit(type="stock.changed", payload={}, topics=["product:4"])
            raise Boom
        kept = emit(type="stock.changed", payload={}, topics=["product:5"]).pk
        with transaction.atomic():
            kept_inner = emit(type="stock.changed", payload={}, topics=["product:6"]).pk
    assert list(Event.objects.values_list("pk", flat=True)) == [kept, kept_inner]
    assert db_tasks() == [[kept, kept_inner]]


def test_database_backend_all_events_rolled_back_in_savepoints_leaves_no_row(db_tasks):
    with transaction.atomic(), pytest.raises(Boom), transaction.atomic():
        emit(type="stock.changed", payload={}, topics=["product:2"])
        emit(type="stock.low", payload={}, topics=["product:2"])
        raise Boom
    assert db_tasks() == []


def test_database_backend_still_publishes_committed_events_once(db_tasks, settings, monkeypatch):
    # A bus next to the database backend (REDIS_URL set): publishing is unchanged.
    settings.REDIS_URL = settings.REDIS_URL or "redis://127.0.0.1:1/0"
    batches = []
    monkeypatch.setattr(bus, "publish", lambda messages: batches.append([m.id for m in messages]))
    with transaction.atomic():
        first = emit(type="stock.changed", payload={}, topics=["product:1"]).pk
        with pytest.raises(Boom), transaction.atomic():
            emit(type="stock.changed", payload={}, topics=["product:2"])
            raise Boom
        second = emit(type="stock.changed", payload={}, topics=["product:3"]).pk
    assert batches == [[first, second]]
    assert db_tasks() == [[first, second]]


def test_database_backend_task_row_runs_the_dispatch(db_tasks):
    from django_tasks_db.models import DBTaskResult

    from shelfwatch.events import tasks

    with transaction.atomic():
        event = emit(type="stock.changed", payload={}, topics=["product:1"])
    row = DBTaskResult.objects.get(task_path=tasks.dispatch_events.module_path)
    assert row.status == "READY"
    result = row.task_result
    report = result.task.call(*result.args, **result.kwargs)
    assert report == {"dispatched": 1, "failed": 0, "skipped": 0}
    assert Event.objects.get(pk=event.pk).dispatched_at is not None


# --- RQ: one Redis client per process --------------------------------------------------------


@pytest.fixture
def rq_settings(settings):
    """RQ queue settings as deployed (only the client objects are made: nothing connects)."""
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/10"
    settings.RQ_QUEUES = {
        "default": {
            "URL": url,
            "DEFAULT_TIMEOUT": 600,
            "QUEUE_CLASS": "shelfwatch.config.task_queues.SharedClientQueue",
        }
    }
    return settings


def test_rq_queues_share_one_client_per_process(rq_settings):
    import django_rq
    from django_tasks_rq.backend import Job

    first = django_rq.get_queue("default", job_class=Job)
    second = django_rq.get_queue("default", job_class=Job)
    assert first is not second
    assert first.connection is second.connection
    # New settings (another Redis database), a new client.
    rq_settings.RQ_QUEUES = {
        "default": {**rq_settings.RQ_QUEUES["default"], "URL": "redis://127.0.0.1:6379/11"}
    }
    moved = django_rq.get_queue("default")
    assert moved.connection is not first.connection
    assert moved.connection.connection_pool.connection_kwargs["db"] == 11


def test_rq_queue_keeps_a_connection_to_another_redis(rq_settings):
    import redis

    from shelfwatch.config.task_queues import SharedClientQueue, shared_client

    elsewhere = redis.Redis.from_url("redis://127.0.0.1:6379/13")
    assert SharedClientQueue("default", connection=elsewhere).connection is elsewhere
    same = redis.Redis.from_url(rq_settings.RQ_QUEUES["default"]["URL"])
    assert SharedClientQueue("default", connection=same).connection is shared_client("default")
    # A queue name RQ_QUEUES does not know keeps what it was given.
    assert SharedClientQueue("unlisted", connection=same).connection is same


def test_rq_client_is_made_again_after_fork(rq_settings):
    import django_rq

    inherited = django_rq.get_queue("default").connection
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running any of pytest's teardown
        verdict = b"error"
        try:
            mine = django_rq.get_queue("default").connection
            again = django_rq.get_queue("default").connection
            verdict = b"ok" if mine is not inherited and again is mine else b"shared"
        finally:
            os.write(write_end, verdict)
            os._exit(0)
    os.close(write_end)
    verdict = os.read(read_end, 16)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert verdict == b"ok"
    assert django_rq.get_queue("default").connection is inherited


@pytest.mark.skipif(
    settings.TASKS["default"]["BACKEND"] != "django_tasks_rq.RQBackend",
    reason="needs the RQ task backend (REDIS_URL)",
)
def test_rq_dispatch_enqueues_reuse_one_open_connection(monkeypatch):
    import django_rq
    import redis
    from django_tasks_rq.backend import Job

    from shelfwatch.events.tasks import dispatch_events

    queue = django_rq.get_queue("default", job_class=Job)
    before = set(queue.job_ids)
    connects = []
    original = redis.connection.Connection._connect

    def counting_connect(self):  # called only to open a new socket
        connects.append(self)
        return original(self)

    try:
        with transaction.atomic():
            emit(type="stock.changed", payload={}, topics=["product:1"])  # may connect once
        monkeypatch.setattr(redis.connection.Connection, "_connect", counting_connect)
        for n in range(5):
            with transaction.atomic():
                emit(type="stock.changed", payload={"n": n}, topics=["product:1"])
        assert connects == []
        new = [job for job in queue.get_jobs() if job.id not in before]
        assert len(new) == 6
        assert {job.func_name for job in new} == {dispatch_events.module_path}
    finally:
        for job_id in set(queue.job_ids) - before:
            job = queue.fetch_job(job_id)
            if job is not None:
                job.delete()


def test_emit_many_writes_events_with_topics_and_sends_them_with_the_others(
    recorded_tasks, monkeypatch
):
    published = []
    monkeypatch.setattr(bus, "publish", lambda messages: published.extend(messages))
    with transaction.atomic():
        single = emit(type="stock.changed", payload={}, topics=["product:1"]).pk
        many = emit_many(
            [
                NewEvent(type="stock.low", payload={"n": 1}, topics=["product:2", "store:1"]),
                NewEvent(type="stock.low", payload={"n": 2}, topics=["product:3"]),
            ]
        )
        with pytest.raises(Boom), transaction.atomic():
            emit_many([NewEvent(type="stock.low", payload={}, topics=["product:9"])])
            raise Boom
    expected = [single, *(event.pk for event in many)]
    assert enqueued_batches(recorded_tasks) == [expected]
    assert [message.id for message in published] == expected
    stored = Event.objects.get(pk=many[0].pk)
    assert (stored.payload, stored.created_at is not None) == ({"n": 1}, True)
    assert sorted(stored.topic_rows.values_list("topic", flat=True)) == ["product:2", "store:1"]


def test_emit_many_refuses_a_bad_event_and_writes_none(recorded_tasks):
    with pytest.raises(ValueError, match="unknown topic"):
        emit_many(
            [
                NewEvent(type="stock.low", payload={}, topics=["product:2"]),
                NewEvent(type="stock.low", payload={}, topics=["nosuch:1"]),
            ]
        )
    assert not Event.objects.exists()


def test_a_batch_jobs_events_are_the_rows_and_messages_emit_many_makes(recorded_tasks, monkeypatch):
    from shelfwatch.events.messages import EventMessage
    from shelfwatch.events.publishing import emit_batch

    published = []
    monkeypatch.setattr(bus, "publish", lambda messages: published.extend(messages))
    news = [
        NewEvent(
            type="stock.changed", payload={"qty": 3, "name": "Dal \u00e9"}, topics=["store:2"]
        ),
        NewEvent(
            type="stock.back_in_stock",
            payload={"price": Decimal("2.50"), "in_stock": True, "gone": None},
            topics=["store:2", "product:7", "store:2"],
        ),
    ]
    with transaction.atomic():
        assert emit_batch(news) == 2
    rows = list(Event.objects.order_by("pk"))
    assert [(r.type, r.payload, r.topics) for r in rows] == [
        ("stock.changed", {"qty": 3, "name": "Dal \u00e9"}, ["store:2"]),
        (
            "stock.back_in_stock",
            {"price": "2.50", "in_stock": True, "gone": None},
            ["store:2", "product:7"],
        ),
    ]
    assert sorted(EventTopic.objects.values_list("event_id", "topic")) == sorted(
        [(rows[0].pk, "store:2"), (rows[1].pk, "store:2"), (rows[1].pk, "product:7")]
    )
    # What a message read back from the row says (PostgreSQL's jsonb orders keys its own
    # way), encoded byte for byte as `EventMessage.build` would encode it.
    assert [json.loads(m.json) for m in published] == [
        json.loads(EventMessage.from_event(r).json) for r in rows
    ]
    assert [m.frame for m in published] == [
        EventMessage.build(
            id=m.id, type=m.type, topics=m.topics, payload=m.payload, created_at=m.created_at
        ).frame
        for m in published
    ]
    assert enqueued_batches(recorded_tasks) == [[r.pk for r in rows]]


def test_a_batch_job_event_with_a_bad_topic_writes_nothing(recorded_tasks):
    from shelfwatch.events.publishing import emit_batch

    with pytest.raises(ValueError), transaction.atomic():
        emit_batch([NewEvent(type="stock.changed", payload={}, topics=["nosuchkind:1"])])
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"a": 1, "b": "x é", "c": None, "d": True},
        {"price": Decimal("1.20"), "at": datetime(2026, 12, 7, 12, 0, tzinfo=UTC), "n": {"x": [1]}},
        {1: "a"},
        {},
    ],
)
def test_a_message_made_without_an_event_object_is_the_rows_own(payload):
    """`checked_message` (events a statement wrote) gives the message of the row `emit`
    would have built, byte for byte, and makes the same checks."""
    from shelfwatch.events.messages import EventMessage
    from shelfwatch.events.publishing import _checked, checked_message

    at = datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=UTC)
    row = _checked("stock.changed", payload, ["product:7", "store:3"])
    row.pk, row.created_at = 42, at
    made = checked_message(
        42, "stock.changed", payload, ["product:7", "store:3"], created_at=at.isoformat()
    )
    expected = EventMessage.from_event(row)
    assert (made, made.json, made.frame) == (expected, expected.json, expected.frame)
    with pytest.raises(ValueError):
        checked_message(1, "Bad Type", {}, [], created_at=at.isoformat())
