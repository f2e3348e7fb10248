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


@task()
def scheduled_backup() -> dict[str, object]:
    """Write a backup into BACKUP_DIR and keep the newest BACKUP_KEEP (nothing when unset)."""
    from pathlib import Path

    from django.conf import settings

    from shelfwatch.ops.backup import create_backup, prune_backups

    if not settings.BACKUP_DIR:
        return {"skipped": "BACKUP_DIR is not set"}
    destination = Path(settings.BACKUP_DIR)
    archive = create_backup(destination=destination, progress=lambda line: None)
    removed = prune_backups(destination=destination, keep=settings.BACKUP_KEEP)
    return {"archive": archive.name, "removed": len(removed)}
