"""Background tasks of the events app: dispatching a committed batch, and the sweeper."""

from __future__ import annotations

from django_tasks import task

from shelfwatch.events import dispatch


@task()
def dispatch_events(event_ids: list[int]) -> dict[str, int]:
    """Run consumers for one transaction's events (enqueued once per committed batch)."""
    return dispatch.dispatch(event_ids).as_dict()


@task()
def sweep_undispatched_events() -> dict[str, int]:
    """Retry events whose dispatch never finished; the scheduler runs this every minute."""
    return dispatch.sweep().as_dict()
