"""Tasks and a short-interval job list for the scheduler tests (loaded by child processes)."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from shelfwatch.ops.jobs import PeriodicJob


@task()
def fast_tick() -> None:
    """Does nothing; the tests count how often it was enqueued."""


@task()
def slow_tick() -> None:
    """Does nothing; due once in a test's lifetime."""


FAST_EVERY = timedelta(seconds=1)

JOBS = [
    PeriodicJob(name="test-fast", task="tests.ops.periodic_fixtures.fast_tick", every=FAST_EVERY),
    PeriodicJob(
        name="test-slow", task="tests.ops.periodic_fixtures.slow_tick", every=timedelta(hours=1)
    ),
]
