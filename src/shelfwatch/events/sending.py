"""Sending a committed batch to Redis: its bus messages and its dispatch job together.

With the RQ task backend, a committed transaction's events cost two Redis writes: the
bus publish and the dispatch job. Sent separately (django-tasks-rq asks django-rq for a
queue, which builds a Redis client, and RQ executes two pipelines per job) that was three
round trips and a new client per transaction, about a sixth of a rush request's CPU. Here
the job, built exactly as django-tasks-rq builds it (same job class, function path,
arguments, callbacks and meta, so workers run it unchanged), and the publishes go out in
one MULTI/EXEC on a queue kept per process, whose client (see `SharedClientQueue`) stays
connected.

Nothing is lost when Redis is away: the events are rows committed before this runs. A
failed send is logged; the sweeper dispatches undispatched rows after EVENTS_SWEEP_AFTER
and stream processes catch up from the table, as they do for a failed publish.

Web processes go one step further (`coalesce_in_background`, called by config/wsgi.py,
EVENTS_DISPATCH_COALESCE): the request thread only hands its committed messages to a
per-process buffer, and one daemon thread sends whatever has gathered as one dispatch job
(and its publishes) in one MULTI/EXEC. Under a rush that is one job for many transactions
instead of one each, and no Redis work in the request. What the buffer holds when the
process dies is lost only as a send: the events are committed rows still undispatched, so
the sweeper (`sweep-events`, every minute) dispatches them once they are EVENTS_SWEEP_AFTER
old, and stream processes read them in their table catch-up. A normal exit sends what is
left (atexit).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from shelfwatch.events import bus
from shelfwatch.events.messages import EventMessage

logger = logging.getLogger("shelfwatch.events")

_lock = threading.Lock()
# (pid, queue name, its settings, queue): a queue belongs to the process that made it (an
# RQ worker forks a work horse per job, which must not share its parent's socket).
_queue: tuple[int, str, dict[str, Any] | None, Any] | None = None


@receiver(setting_changed)
def _forget_queue(*, setting: str, **kwargs: Any) -> None:
    global _queue
    if setting in {"RQ_QUEUES", "TASKS", "REDIS_URL", "RQ"}:
        _queue = None


def send_committed(messages: Sequence[EventMessage]) -> None:
    """Publish `messages` (committed events) on the bus and enqueue their dispatch task,
    in one Redis round trip where both go to the same Redis. Never raises."""
    from django_tasks_rq.backend import RQBackend

    from shelfwatch.events.tasks import dispatch_backend

    backend = dispatch_backend()
    if not isinstance(backend, RQBackend):
        publish(messages)
        enqueue_dispatch([message.id for message in messages])
        return
    if _coalescing_wanted:
        _hand_over(messages)
        return
    _send_now(backend, messages)


def _send_now(backend, messages: Sequence[EventMessage]) -> None:
    try:
        _send_through_rq(backend, messages)
    except Exception:
        logger.exception(
            "could not send events %s to Redis; the sweeper will dispatch them and stream "
            "processes read them from the table",
            [message.id for message in messages],
        )


def publish(messages: Sequence[EventMessage]) -> None:
    """Publish committed `messages` on the bus; a failure is logged, never raised."""
    try:
        bus.publish(messages)
    except Exception:
        # Committed already: a failure here must not reach the caller, and the stream
        # processes' table catch-up delivers what was not published.
        logger.exception("publishing events %s failed", [m.id for m in messages])


def enqueue_dispatch(event_ids: list[int]) -> None:
    """Enqueue the dispatch task of committed events through the task backend; a failure
    is logged and left to the sweeper."""
    from shelfwatch.events.tasks import dispatch_events

    try:
        dispatch_events.enqueue(event_ids)
    except Exception:
        # The rows are committed; the sweeper dispatches them after EVENTS_SWEEP_AFTER.
        logger.exception("could not enqueue dispatch of events %s; the sweeper will", event_ids)


def _send_through_rq(backend, messages: Sequence[EventMessage]) -> None:
    from django_tasks.signals import task_enqueued
    from django_tasks_rq.backend import failed_callback, success_callback
    from rq.job import Callback, JobStatus

    from shelfwatch.events.tasks import dispatch_events

    event_ids = [message.id for message in messages]
    queue = _rq_queue(dispatch_events.queue_name)
    # As django-tasks-rq's RQBackend.enqueue builds it, so its workers run it as theirs.
    job = queue.create_job(
        dispatch_events.module_path,
        args=(event_ids,),
        kwargs={},
        # 32 random characters RQ accepts, as django-tasks' own ids are; its generator
        # draws them one by one from SystemRandom, a tenth of this function's CPU.
        job_id=uuid.uuid4().hex,
        status=JobStatus.QUEUED,
        on_failure=Callback(failed_callback),
        on_success=Callback(success_callback),
        meta={"backend_name": backend.alias},
    )
    pipe = queue.connection.pipeline()
    queue.enqueue_job(job, pipeline=pipe)  # puts the pipeline in MULTI mode
    together = bus.bus_enabled() and bus.same_server(queue.connection)
    if together:
        channel = bus.channel_name()
        for message in messages:
            pipe.publish(channel, message.json)
    pipe.execute()
    if not together:
        publish(messages)
    if task_enqueued.has_listeners(type(backend)):
        _announce_enqueued(backend, job, event_ids)


def _announce_enqueued(backend, job, event_ids: list[int]) -> None:
    """The `task_enqueued` signal RQBackend.enqueue sends (tracing listens to it)."""
    from django_tasks.base import TaskResult, TaskResultStatus
    from django_tasks.signals import task_enqueued

    from shelfwatch.events.tasks import dispatch_events

    result = TaskResult(
        task=dispatch_events,
        id=job.id,
        status=TaskResultStatus.READY,
        enqueued_at=job.enqueued_at,
        started_at=None,
        last_attempted_at=None,
        finished_at=None,
        args=[event_ids],
        kwargs={},
        backend=backend.alias,
        errors=[],
        worker_ids=[],
    )
    task_enqueued.send(type(backend), task_result=result)


def _rq_queue(name: str):
    """This process's RQ queue `name` (django-tasks-rq's job class), made once per process
    and again when its settings change."""
    import django_rq
    from django_rq.settings import QUEUES
    from django_tasks_rq.backend import Job

    global _queue
    config = QUEUES.get(name)
    known = _queue
    if known is not None and known[:3] == (os.getpid(), name, config):
        return known[3]
    with _lock:
        queue = django_rq.get_queue(name, job_class=Job)
        _queue = (os.getpid(), name, dict(config) if config is not None else None, queue)
    return queue


# The coalescing buffer of a web process (see the module's docstring).

# Events per dispatch job at most; the rest wait for the next round.
COALESCE_MAX_EVENTS = 500
# How long the sender waits after waking, so the transactions committing meanwhile join
# its job; short next to a request's time, and the only delay it adds to a publish.
COALESCE_LINGER_SECONDS = 0.002

_coalescing_wanted = False
_pending: list[EventMessage] = []
_pending_cond = threading.Condition()
# The process whose sender thread runs (none after a fork until the child's first send).
_sender_pid: int | None = None


def coalesce_in_background() -> None:
    """From now on, send committed batches from a daemon thread, several transactions'
    events in one dispatch job (when EVENTS_DISPATCH_COALESCE is on and the dispatch task
    goes to RQ). Server processes call it at start (config/wsgi.py)."""
    global _coalescing_wanted
    _coalescing_wanted = bool(settings.EVENTS_DISPATCH_COALESCE)


def stop_coalescing() -> None:
    """Undo `coalesce_in_background`: what waits is sent now, in this thread, and the sender
    thread ends at its next wake-up."""
    global _coalescing_wanted
    _coalescing_wanted = False
    with _pending_cond:
        _pending_cond.notify_all()
    send_pending()


def pending_count() -> int:
    """Committed events this process holds whose dispatch job is not sent yet."""
    with _pending_cond:
        return len(_pending)


def send_pending() -> None:
    """Send what the buffer holds now, in this thread (at exit, and for tests)."""
    while True:
        batch = _take()
        if not batch:
            return
        _send_batch(batch)


def _hand_over(messages: Sequence[EventMessage]) -> None:
    global _sender_pid
    pid = os.getpid()
    with _pending_cond:
        _pending.extend(messages)
        if _sender_pid != pid:
            _sender_pid = pid
            threading.Thread(target=_send_in_background, name="events-send", daemon=True).start()
        else:
            _pending_cond.notify()


def _take() -> list[EventMessage]:
    with _pending_cond:
        batch = _pending[:COALESCE_MAX_EVENTS]
        del _pending[:COALESCE_MAX_EVENTS]
    return batch


def _send_batch(batch: list[EventMessage]) -> None:
    from shelfwatch.events.tasks import dispatch_backend

    try:
        backend = dispatch_backend()
    except Exception:
        logger.exception("no task backend for events %s; the sweeper will", [m.id for m in batch])
        return
    _send_now(backend, batch)


def _send_in_background() -> None:
    global _sender_pid
    pid = os.getpid()
    while True:
        with _pending_cond:
            while not _pending:
                if not _coalescing_wanted or _sender_pid != pid:
                    if _sender_pid == pid:
                        _sender_pid = None
                    return
                _pending_cond.wait(timeout=1.0)
        time.sleep(COALESCE_LINGER_SECONDS)
        while True:
            batch = _take()
            if not batch:
                break
            try:
                _send_batch(batch)
            except Exception:  # _send_now logs its own failures; this thread must live on
                logger.exception("sending events %s failed", [m.id for m in batch])


def _forget_pending_in_child() -> None:
    # A forked child starts with none of its parent's buffer (the parent sends it) and a
    # fresh lock, which the parent's sender thread may have held at the fork.
    global _pending, _pending_cond, _sender_pid
    _pending = []
    _pending_cond = threading.Condition()
    _sender_pid = None


os.register_at_fork(after_in_child=_forget_pending_in_child)
atexit.register(send_pending)
