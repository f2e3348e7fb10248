"""Tasks the worker-log tests enqueue (loaded by the child worker process)."""

from __future__ import annotations

from django_tasks import task


@task()
def routine_work() -> str:
    """Succeeds: the kind of run that should leave no line at INFO."""
    return "done"


@task()
def broken_work() -> None:
    """Fails: the kind of run that must always be logged."""
    raise RuntimeError("broken_work failed on purpose")
