"""A committed batch on RQ: its bus messages and its dispatch job in one Redis round trip,
the job as django-tasks-rq's workers run it, and nothing lost while Redis is away."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shelfwatch.events import bus, dispatch
from shelfwatch.events.models import Event
from shelfwatch.events.publishing import emit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.TASKS["default"]["BACKEND"] != "django_tasks_rq.RQBackend",
        reason="needs the RQ task backend (REDIS_URL)",
    ),
]


@pytest.fixture
def queue():
    """The dispatch task's RQ queue; jobs the test leaves in it are removed after."""
    import django_rq
    from django_tasks_rq.backend import Job

    from shelfwatch.events.tasks import dispatch_events

    found = django_rq.get_queue(dispatch_events.queue_name, job_class=Job)
    before = set(found.job_ids)
    found.before = before
    yield found
    for job_id in set(found.job_ids) - before:
        job = found.fetch_job(job_id)
        if job is not None:
            job.delete()


@pytest.fixture
def listener():
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(bus.channel_name())
    assert pubsub.get_message(timeout=2) is None  # consumes the confirmation
    yield pubsub
    pubsub.close()
    client.close()


def _new_jobs(queue) -> list:
    return [job for job in queue.get_jobs() if job.id not in queue.before]


def test_a_committed_batch_is_published_and_queued_in_one_round_trip(queue, listener, monkeypatch):
    with transaction.atomic():
        emit(type="stock.changed", payload={}, topics=["product:1"])  # connects, if need be
    sends = []
    original = redis.connection.Connection.send_packed_command

    def counting(self, command, check_health=True):
        sends.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counting)
    with transaction.atomic():
        first = emit(type="stock.changed", payload={"n": 1}, topics=["product:1"])
        second = emit(type="stock.changed", payload={"n": 2}, topics=["product:1"])
    monkeypatch.undo()
    assert len(sends) == 1
    published = [json.loads(listener.get_message(timeout=2)["data"]) for _ in range(3)]
    assert [body["id"] for body in published[1:]] == [first.pk, second.pk]
    jobs = _new_jobs(queue)
    assert sorted(job.args[0] for job in jobs)[-1] == [first.pk, second.pk]


def test_the_dispatch_job_is_the_one_django_tasks_rq_reads_and_runs(queue):
    from django_tasks import task_backends

    from shelfwatch.events.tasks import dispatch_events

    with transaction.atomic():
        event = emit(type="stock.changed", payload={}, topics=["product:1"])
    (job,) = _new_jobs(queue)
    result = task_backends["default"].get_result(job.id)
    assert result.task.func is dispatch_events.func
    assert result.args == [[event.pk]]
    assert result.status == "READY"
    job.perform()  # what an RQ worker's work horse runs
    assert Event.objects.get(pk=event.pk).dispatched_at is not None


def test_while_redis_is_away_the_events_wait_for_the_sweeper(queue, settings, caplog):
    away = "redis://127.0.0.1:1/0"
    settings.REDIS_URL = away
    settings.RQ_QUEUES = {
        name: {**config, "URL": away} for name, config in settings.RQ_QUEUES.items()
    }
    with transaction.atomic():
        event = emit(type="stock.changed", payload={}, topics=["product:1"])
    assert "the sweeper will dispatch them" in caplog.text
    assert Event.objects.get(pk=event.pk).dispatched_at is None
    later = timezone.now() + settings.EVENTS_SWEEP_AFTER + timedelta(seconds=1)
    assert dispatch.sweep(now=later).dispatched == 1
    assert Event.objects.get(pk=event.pk).dispatched_at is not None


# Coalescing (web processes): several transactions' events in one dispatch job, sent by a
# background thread; nothing lost when that send never happens.


@pytest.fixture
def coalescing(settings):
    from shelfwatch.events import sending

    settings.EVENTS_DISPATCH_COALESCE = True
    sending.coalesce_in_background()
    yield sending
    sending.stop_coalescing()


def _wait_for(predicate, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_coalesced_transactions_share_one_dispatch_job_that_runs_them_all(
    queue, listener, coalescing, monkeypatch
):
    from shelfwatch.events import sending

    # Hold the sender back so the three commits are in its buffer together.
    gate = __import__("threading").Event()
    original = sending._take
    monkeypatch.setattr(sending, "_take", lambda: (gate.wait(5), original())[1])
    events = []
    for n in range(3):
        with transaction.atomic():
            events.append(emit(type="stock.changed", payload={"n": n}, topics=["product:1"]))
    assert _new_jobs(queue) == []  # the commits did not wait for Redis
    gate.set()
    _wait_for(lambda: coalescing.pending_count() == 0 and _new_jobs(queue))
    published = [json.loads(listener.get_message(timeout=2)["data"])["id"] for _ in range(3)]
    assert published == [event.pk for event in events]
    (job,) = _new_jobs(queue)
    assert job.args[0] == [event.pk for event in events]
    job.perform()
    assert Event.objects.filter(pk__in=[e.pk for e in events], dispatched_at=None).count() == 0


def test_an_event_whose_coalesced_send_never_happened_is_dispatched_by_the_sweeper(
    queue, coalescing, monkeypatch
):
    """The process dies with the event in its buffer: no job, no publish, and yet the
    committed row is dispatched by the periodic sweep."""
    from shelfwatch.events import sending

    # No sender thread ever runs in this "process", and then it dies: the buffer is gone.
    monkeypatch.setattr(sending, "_sender_pid", __import__("os").getpid())
    with transaction.atomic():
        event = emit(type="stock.changed", payload={}, topics=["product:1"])
    assert sending.pending_count() == 1
    sending._forget_pending_in_child()  # what a dead process's buffer amounts to: nothing
    assert _new_jobs(queue) == []
    assert Event.objects.get(pk=event.pk).dispatched_at is None
    assert dispatch.sweep().dispatched == 0  # not yet EVENTS_SWEEP_AFTER old
    later = timezone.now() + settings.EVENTS_SWEEP_AFTER + timedelta(seconds=1)
    assert dispatch.sweep(now=later).dispatched == 1
    assert Event.objects.get(pk=event.pk).dispatched_at is not None


def test_the_sweep_the_scheduler_runs_finds_an_unsent_event(queue, coalescing, monkeypatch):
    """The periodic job is the sweeper, every minute, so an unsent event is dispatched
    within EVENTS_SWEEP_AFTER plus a minute."""
    from shelfwatch.config.periodic import PERIODIC_JOBS
    from shelfwatch.events.tasks import sweep_undispatched_events

    (job,) = [job for job in PERIODIC_JOBS if job.name == "sweep-events"]
    assert job.task == sweep_undispatched_events.module_path
    assert job.every <= timedelta(minutes=1)


def test_what_is_left_at_exit_is_sent(queue, coalescing, monkeypatch):
    import atexit  # noqa: F401  (send_pending is the registered exit hook)

    from shelfwatch.events import sending

    monkeypatch.setattr(sending, "_sender_pid", __import__("os").getpid())
    with transaction.atomic():
        event = emit(type="stock.changed", payload={}, topics=["product:1"])
    assert _new_jobs(queue) == []
    sending.send_pending()
    (job,) = _new_jobs(queue)
    assert job.args[0] == [event.pk]
