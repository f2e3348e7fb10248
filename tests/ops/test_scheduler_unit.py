"""The scheduler's lease and claim logic, in process, with a controllable clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from shelfwatch.ops.jobs import PeriodicJob
from shelfwatch.ops.models import PeriodicJobState
from shelfwatch.ops.scheduler import DatabaseLease, RedisLease, Scheduler, redis_lease_key
from tests.ops.periodic_fixtures import JOBS, fast_tick, slow_tick
from tests.ops.queues import discard, enqueued_times, finish_queued

pytestmark = pytest.mark.django_db

TEST_TASKS = {fast_tick.module_path, slow_tick.module_path}


@pytest.fixture(autouse=True)
def _clean_queue():
    discard(TEST_TASKS)
    yield
    discard(TEST_TASKS)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class AlwaysHeld:
    """A lease both schedulers believe they hold: the split-brain case."""

    holder = "split-brain"

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def test_database_lease_has_one_holder_and_expires():
    first = DatabaseLease(holder="a", seconds=0.5)
    second = DatabaseLease(holder="b", seconds=0.5)
    assert first.acquire() is True
    assert second.acquire() is False
    assert first.acquire() is True  # renewal
    time.sleep(0.6)
    assert second.acquire() is True  # expired: taken over
    assert first.acquire() is False
    second.release()
    assert first.acquire() is True  # released: free at once


def test_redis_lease_has_one_holder_and_expires(settings):
    if not settings.REDIS_URL:
        pytest.skip("Redis lease runs only with REDIS_URL")
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete(redis_lease_key())
    first = RedisLease(holder="a", seconds=0.5)
    second = RedisLease(holder="b", seconds=0.5)
    assert first.acquire() is True
    assert second.acquire() is False
    assert first.acquire() is True
    time.sleep(0.6)
    assert second.acquire() is True
    assert first.acquire() is False
    first.release()  # not the holder: must not delete b's key
    assert second.acquire() is True
    second.release()
    assert first.acquire() is True
    first.release()


def test_each_job_runs_once_per_interval_even_with_two_holders():
    clock = Clock()
    schedulers = [
        Scheduler(jobs=JOBS, lease=AlwaysHeld(), tick_seconds=0.1, clock=clock) for _ in range(2)
    ]
    for _ in range(5):
        for scheduler in schedulers:
            scheduler.tick()
        finish_queued(TEST_TASKS)  # a worker keeps up
        clock.advance(seconds=0.5)
    # 2.5 s of ticks with a 1 s interval: runs at 0, 1 and 2 s; the hourly job once.
    assert PeriodicJobState.objects.get(name="test-slow").runs == 1
    state = PeriodicJobState.objects.get(name="test-fast")
    assert state.runs == 3
    assert state.next_run_at == datetime(2030, 1, 1, 12, 0, 3, tzinfo=UTC)


def test_a_scheduler_that_was_down_runs_missed_work_once():
    clock = Clock()
    scheduler = Scheduler(jobs=JOBS, lease=AlwaysHeld(), tick_seconds=1, clock=clock)
    assert scheduler.tick() == ["test-fast", "test-slow"]
    finish_queued(TEST_TASKS)
    clock.advance(hours=5)
    assert scheduler.tick() == ["test-fast", "test-slow"]
    finish_queued(TEST_TASKS)
    assert scheduler.tick() == []
    assert PeriodicJobState.objects.get(name="test-slow").next_run_at == clock.now + timedelta(
        hours=1
    )


def test_a_shortened_interval_applies_without_waiting_out_the_old_one():
    clock = Clock()
    hourly = [PeriodicJob("test-fast", fast_tick.module_path, timedelta(hours=1))]
    Scheduler(jobs=hourly, lease=AlwaysHeld(), tick_seconds=1, clock=clock).tick()
    finish_queued(TEST_TASKS)
    clock.advance(minutes=2)
    every_minute = [PeriodicJob("test-fast", fast_tick.module_path, timedelta(minutes=1))]
    assert Scheduler(jobs=every_minute, lease=AlwaysHeld(), tick_seconds=1, clock=clock).tick()
    state = PeriodicJobState.objects.get(name="test-fast")
    assert state.next_run_at == clock.now + timedelta(minutes=1)


def test_a_job_whose_last_run_still_waits_in_the_queue_is_not_enqueued_again():
    clock = Clock()
    scheduler = Scheduler(jobs=JOBS, lease=AlwaysHeld(), tick_seconds=1, clock=clock)
    assert scheduler.tick() == ["test-fast", "test-slow"]
    for _ in range(5):  # every worker is busy: the first run has not started
        clock.advance(seconds=1)
        assert scheduler.tick() == []
    assert len(enqueued_times(fast_tick.module_path)) == 1
    finish_queued(TEST_TASKS)  # a worker took it: the job is due again
    assert scheduler.tick() == ["test-fast"]
    assert PeriodicJobState.objects.get(name="test-fast").runs == 2


def test_a_broken_job_does_not_stop_the_others():
    clock = Clock()
    jobs = [
        PeriodicJob("test-broken", "tests.ops.no_such_module.task", timedelta(seconds=1)),
        *JOBS,
    ]
    scheduler = Scheduler(jobs=jobs, lease=AlwaysHeld(), tick_seconds=1, clock=clock)
    assert scheduler.tick() == ["test-fast", "test-slow"]
    # The broken job was not claimed, so it stays due.
    assert PeriodicJobState.objects.get(name="test-broken").runs == 0


def test_without_the_lease_nothing_is_enqueued():
    holder = DatabaseLease(holder="other", seconds=30)
    assert holder.acquire()
    scheduler = Scheduler(jobs=JOBS, lease=DatabaseLease(holder="me", seconds=30), tick_seconds=1)
    assert scheduler.tick() == []
    assert enqueued_times(fast_tick.module_path) == []
