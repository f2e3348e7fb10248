"""Background tasks of the events app: dispatching a committed batch, and the sweeper."""

from __future__ import annotations

from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task, task_backends
from django_tasks.backends.base import BaseTaskBackend

from shelfwatch.events import dispatch

# Named here, not read from the task object, so publishing can tell which backend takes
# the dispatch task (and whether it can join the events' transaction) before enqueueing.
DISPATCH_BACKEND = DEFAULT_TASK_BACKEND_ALIAS


@task(backend=DISPATCH_BACKEND)
def dispatch_events(event_ids: list[int]) -> dict[str, int]:
    """Run consumers for one transaction's events (enqueued once per committed batch)."""
    return dispatch.dispatch(event_ids).as_dict()


@task()
def sweep_undispatched_events() -> dict[str, int]:
    """Retry events whose dispatch never finished; the scheduler runs this every minute."""
    return dispatch.sweep().as_dict()


def dispatch_backend() -> BaseTaskBackend:
    """The task backend that `dispatch_events` is enqueued on, as currently configured."""
    return task_backends[DISPATCH_BACKEND]
