"""The periodic-work scheduler: one elected process enqueues due jobs from config/periodic.py.

Election is a lease: a row in `ops_schedulerlease` taken with a conditional UPDATE, or, with
REDIS_URL, a Redis key set with NX + PX and renewed only by its holder. A holder that stops
renewing (crashed, hung, partitioned) loses the lease after SCHEDULER_LEASE_SECONDS and the
next scheduler to tick takes over.

The lease keeps the work on one process; it is not what makes each run happen once. A due job
is claimed by a conditional UPDATE of its `next_run_at` (only the one that still sees the old
value wins) in the same transaction as the enqueue. With the database task backend the claim
and the task row commit together, so even two schedulers that both believe they hold the lease
(a paused holder waking after its lease expired) cannot enqueue a run twice. With RQ the
enqueue goes to Redis inside that transaction: a failed enqueue rolls the claim back, and only
a crash between the Redis write and the commit can repeat a run (at-least-once).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import redis
from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.base import Task, TaskResultStatus

from shelfwatch.ops.jobs import PeriodicJob
from shelfwatch.ops.models import PeriodicJobState, SchedulerLease

logger = logging.getLogger("shelfwatch.scheduler")

LEASE_NAME = "scheduler"


def new_holder_id() -> str:
    """An id unique to this process and start, readable in logs (host:pid:random)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease(Protocol):
    holder: str

    def acquire(self) -> bool:
        """Take the lease or extend it if we hold it; True while we hold it."""
        ...

    def release(self) -> None:
        """Give the lease up at once if we hold it, so a successor need not wait for expiry."""
        ...


class DatabaseLease:
    """The lease as one row, changed only by conditional UPDATEs.

    Expiry uses this process's clock: fine on one machine (the embedded default) and with
    NTP-synced hosts; deployments with Redis use RedisLease, where Redis keeps the time.
    """

    def __init__(self, *, holder: str, seconds: float, name: str = LEASE_NAME) -> None:
        self.holder = holder
        self.seconds = seconds
        self.name = name

    def acquire(self) -> bool:
        """Renew the lease if this holder has it, or take it if it expired or never existed; False
        while another holder has it."""
        now = timezone.now()
        expires = now + timedelta(seconds=self.seconds)
        # Renew (we hold it) or take over (it expired) in one statement; `acquired_at` moves
        # only on a change of holder.
        updated = (
            SchedulerLease.objects.filter(name=self.name)
            .filter(Q(holder=self.holder) | Q(expires_at__lte=now))
            .update(
                expires_at=expires,
                acquired_at=Case(
                    When(holder=self.holder, then=F("acquired_at")),
                    default=Value(now),
                    output_field=DateTimeField(),
                ),
                holder=self.holder,
            )
        )
        if updated:
            return True
        if SchedulerLease.objects.filter(name=self.name).exists():
            return False
        try:
            # First scheduler ever: the row does not exist yet. The primary key makes a
            # concurrent first start fail here instead of creating a second holder.
            with transaction.atomic():
                SchedulerLease.objects.create(
                    name=self.name, holder=self.holder, expires_at=expires, acquired_at=now
                )
        except IntegrityError:
            return False
        return True

    def release(self) -> None:
        """Give the lease up at once if this holder has it; otherwise nothing changes."""
        SchedulerLease.objects.filter(name=self.name, holder=self.holder).update(
            holder="", expires_at=timezone.now()
        )


# Compare-and-act scripts: only the holder may extend or delete its own key.
_RENEW_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def redis_lease_key(name: str = LEASE_NAME) -> str:
    """The Redis key of the lease `name`, under the default cache's KEY_PREFIX."""
    prefix = settings.CACHES.get("default", {}).get("KEY_PREFIX") or "shelfwatch"
    return f"{prefix}:lease:{name}"


def redis_client() -> redis.Redis:
    """A client for REDIS_URL with 5-second timeouts."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


class RedisLease:
    """The lease as a Redis key: SET NX PX to take it, a compare-and-PEXPIRE to renew it."""

    def __init__(
        self,
        *,
        holder: str,
        seconds: float,
        name: str = LEASE_NAME,
        client: redis.Redis | None = None,
    ) -> None:
        self.holder = holder
        self.millis = max(1, int(seconds * 1000))
        self.key = redis_lease_key(name)
        self.client = client or redis_client()
        self._renew = self.client.register_script(_RENEW_SCRIPT)
        self._release = self.client.register_script(_RELEASE_SCRIPT)

    def acquire(self) -> bool:
        """Renew the lease if this holder has it, or take it if the key is free; False while another
        holder has it."""
        if self._renew(keys=[self.key], args=[self.holder, self.millis]):
            return True
        return bool(self.client.set(self.key, self.holder, nx=True, px=self.millis))

    def release(self) -> None:
        """Delete the lease key if this holder has it; otherwise nothing changes."""
        self._release(keys=[self.key], args=[self.holder])


def default_lease(*, holder: str | None = None, seconds: float | None = None) -> Lease:
    """The Redis lease when REDIS_URL is set, the database lease otherwise."""
    holder = holder or new_holder_id()
    seconds = float(seconds if seconds is not None else settings.SCHEDULER_LEASE_SECONDS)
    if settings.REDIS_URL:
        return RedisLease(holder=holder, seconds=seconds)
    return DatabaseLease(holder=holder, seconds=seconds)


def current_holder() -> str | None:
    """Who holds the scheduler lease now, or None (for status output and tests)."""
    if settings.REDIS_URL:
        with redis_client() as client:
            value = client.get(redis_lease_key())
        return value.decode() if value else None
    lease = SchedulerLease.objects.filter(name=LEASE_NAME, expires_at__gt=timezone.now()).first()
    return lease.holder if lease and lease.holder else None


def load_task(job: PeriodicJob) -> Task:
    """The task at the job's dotted path; raises ImportError when missing, TypeError when it is not
    a django-tasks task."""
    task = import_string(job.task)
    if not isinstance(task, Task):
        raise TypeError(f"{job.task} is not a django-tasks task")
    return task


def still_queued(task: Task, result_id: str) -> bool:
    """Whether the run `result_id` of `task` waits in its queue, not yet started."""
    if not result_id:
        return False
    try:
        return task.get_result(result_id).status == TaskResultStatus.READY
    except Exception:  # purged, or the backend cannot say: never block the job on it
        return False


class Scheduler:
    """Enqueues each due periodic job while holding the lease; see the module docstring."""

    def __init__(
        self,
        *,
        jobs: Sequence[PeriodicJob],
        lease: Lease,
        tick_seconds: float,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"periodic job names must be unique: {names}")
        self.jobs = list(jobs)
        self.lease = lease
        self.tick_seconds = tick_seconds
        self.clock = clock
        self.holding = False
        self._failures: dict[str, str] = {}

    def tick(self) -> list[str]:
        """One round: renew or take the lease, then enqueue due jobs. Returns enqueued names."""
        try:
            held = self.lease.acquire()
        except Exception:
            # Unknown whether we still hold it: behave as if not, and let the expiry decide.
            logger.exception("scheduler lease check failed")
            held = False
        if held != self.holding:
            if held:
                logger.info("scheduler %s took the lease", self.lease.holder)
            else:
                logger.warning("scheduler %s lost the lease", self.lease.holder)
            self.holding = held
        if not held:
            return []
        return self.run_due_jobs()

    def run_due_jobs(self) -> list[str]:
        """Enqueue each due job and return their names; a job that fails to enqueue is logged and
        skipped, not raised."""
        now = self.clock()
        states = {
            state.name: state
            for state in PeriodicJobState.objects.filter(name__in=[j.name for j in self.jobs])
        }
        enqueued = []
        for job in self.jobs:
            state = states.get(job.name)
            if state is None:
                # A job seen for the first time is due now.
                state, _ = PeriodicJobState.objects.get_or_create(
                    name=job.name, defaults={"next_run_at": now}
                )
            try:
                if self._run_if_due(job, state, now):
                    enqueued.append(job.name)
            except Exception as exc:
                # One broken job (bad dotted path, backend down) must not starve the others;
                # its traceback is logged when the failure starts or changes, not every tick.
                failure = repr(exc)
                if self._failures.get(job.name) != failure:
                    logger.exception("could not enqueue periodic job %s", job.name)
                    self._failures[job.name] = failure
            else:
                if self._failures.pop(job.name, None) is not None:
                    logger.info("periodic job %s can be enqueued again", job.name)
        return enqueued

    def _run_if_due(self, job: PeriodicJob, state: PeriodicJobState, now: datetime) -> bool:
        due_at = state.next_run_at
        if state.last_enqueued_at is not None:
            # A shortened interval takes effect now instead of after the old one elapses.
            due_at = min(due_at, state.last_enqueued_at + job.every)
        if due_at > now:
            return False
        task = load_task(job)
        if still_queued(task, state.last_result_id):
            # The last run has not even started (workers busy): another copy behind it
            # would only repeat its work. Asked again at the next tick.
            return False
        next_run_at = due_at + job.every
        if next_run_at <= now:
            # We were down for a while: run once now, never a burst of the missed runs.
            next_run_at = now + job.every
        with transaction.atomic():
            claimed = PeriodicJobState.objects.filter(
                name=job.name, next_run_at=state.next_run_at
            ).update(next_run_at=next_run_at, last_enqueued_at=now, runs=F("runs") + 1)
            if not claimed:
                return False
            result = task.enqueue()
            PeriodicJobState.objects.filter(name=job.name).update(last_result_id=str(result.id))
        # Routine: one line per job every few seconds would bury everything else at INFO.
        logger.debug(
            "enqueued periodic job %s (%s) as %s; next run at %s",
            job.name,
            job.task,
            result.id,
            next_run_at.isoformat(),
        )
        return True

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop` is set, then release the lease."""
        logger.info(
            "scheduler %s started: %d jobs, tick %.1fs",
            self.lease.holder,
            len(self.jobs),
            self.tick_seconds,
        )
        try:
            while not stop.is_set():
                started = time.monotonic()
                # Drop connections the database closed (restart, idle timeout) before use.
                close_old_connections()
                try:
                    self.tick()
                except Exception:
                    # Database or backend trouble: keep ticking; the next round retries.
                    logger.exception("scheduler round failed")
                close_old_connections()
                stop.wait(max(0.0, self.tick_seconds - (time.monotonic() - started)))
        finally:
            if self.holding:
                try:
                    self.lease.release()
                    logger.info("scheduler %s released the lease", self.lease.holder)
                except Exception:
                    logger.exception("could not release the scheduler lease; it will expire")
            self.holding = False
