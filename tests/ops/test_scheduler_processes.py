"""Real `shelfwatch scheduler` processes: one enqueues, the other stands by and takes over."""

from __future__ import annotations

import itertools
import signal
import time

import pytest

from shelfwatch.ops.scheduler import current_holder
from tests.ops.periodic_fixtures import FAST_EVERY, fast_tick, slow_tick
from tests.ops.processes import Running
from tests.ops.queues import Drain, discard, free_scheduler_lease
from tests.processes import wait_for

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]

TICK = 0.2
LEASE = 2.0
# Runs are due on a fixed 1 s cadence but start up to a tick late; a double enqueue would show
# as a gap near zero.
MIN_GAP = FAST_EVERY.total_seconds() / 2
TEST_TASKS = {fast_tick.module_path, slow_tick.module_path}


@pytest.fixture
def scheduler_env(subprocess_env):
    discard(TEST_TASKS)
    free_scheduler_lease()
    env = {
        **subprocess_env,
        "SCHEDULER_TICK_SECONDS": str(TICK),
        "SCHEDULER_LEASE_SECONDS": str(int(LEASE)),
    }
    yield env
    discard(TEST_TASKS)


def start(env) -> Running:
    return Running(["scheduler", "--jobs", "tests.ops.periodic_fixtures.JOBS"], env)


def holder_pid() -> int | None:
    holder = current_holder()
    return int(holder.split(":")[-2]) if holder else None


def test_two_schedulers_enqueue_each_job_once_per_interval(scheduler_env):
    with Drain(TEST_TASKS) as worker, start(scheduler_env) as first, start(scheduler_env) as second:
        wait_for(lambda: worker.times(fast_tick.module_path), timeout=20)
        time.sleep(3.3)
        holder = holder_pid()
        assert holder in (first.pid, second.pid)
        assert (first.output + second.output).count("took the lease") == 1
        first.signal(signal.SIGTERM)
        second.signal(signal.SIGTERM)
        assert first.process.wait(10) == 0
        assert second.process.wait(10) == 0
        time.sleep(0.2)  # the last run is taken too
    fast = worker.times(fast_tick.module_path)
    # About 3.3 s after the first run at a 1 s interval: 4 runs (a slow start may cost one).
    assert 3 <= len(fast) <= 5, (fast, first.output, second.output)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(fast)]
    assert all(gap >= MIN_GAP for gap in gaps), gaps
    assert len(worker.times(slow_tick.module_path)) == 1
    # The holder released the lease on SIGTERM, so nobody holds it now.
    assert current_holder() is None
    assert "released the lease" in first.output + second.output


def test_a_standby_takes_over_when_the_holder_dies(scheduler_env):
    with Drain(TEST_TASKS) as worker, start(scheduler_env) as first:
        wait_for(lambda: holder_pid() == first.pid, timeout=20)
        with start(scheduler_env) as second:
            # While the holder lives, the standby never takes the lease.
            deadline = time.monotonic() + LEASE + 1
            while time.monotonic() < deadline:
                assert holder_pid() == first.pid, first.output + second.output
                time.sleep(0.1)
            runs_before = len(worker.times(fast_tick.module_path))
            first.signal(signal.SIGKILL)
            killed_at = time.monotonic()
            wait_for(lambda: holder_pid() == second.pid, timeout=LEASE + 5)
            took = time.monotonic() - killed_at
            assert took <= LEASE + 1.5, took
            # The new holder keeps the schedule going.
            wait_for(lambda: len(worker.times(fast_tick.module_path)) > runs_before, timeout=5)
            assert second.stop() == 0
        time.sleep(0.2)
    fast = worker.times(fast_tick.module_path)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(fast)]
    assert all(gap >= MIN_GAP for gap in gaps), gaps
