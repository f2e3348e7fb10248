"""Background tasks of the operations app (enqueued by the scheduler, see config/periodic.py)."""

from __future__ import annotations

from django_tasks import task

from shelfwatch.ops import retention


@task()
def purge_expired_records() -> dict[str, int]:
    """Delete expired refresh tokens, finished task results past TASK_RESULT_RETENTION and
    dispatched events past EVENTS_RETENTION.

    Returns the counts, e.g. {"refresh_tokens": 3, "task_results": 120, "events": 0}. On the
    RQ backend task results live in Redis and expire by themselves, so `task_results` counts
    only rows of the database backend.
    """
    return retention.purge_expired_records()
