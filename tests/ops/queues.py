"""Reading what was enqueued, on either task backend (database or RQ)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings


def using_rq() -> bool:
    return settings.TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend"


def rq_queue():
    import django_rq
    from django_tasks_rq.backend import Job

    return django_rq.get_queue("default", job_class=Job)


def enqueued_times(task_path: str) -> list[datetime]:
    """When each task of `task_path` waiting in the default queue was enqueued, oldest first."""
    if using_rq():
        jobs = [job for job in rq_queue().get_jobs() if job.func_name == task_path]
        return sorted(job.enqueued_at for job in jobs)
    from django_tasks_db.models import DBTaskResult

    return sorted(
        DBTaskResult.objects.filter(task_path=task_path).values_list("enqueued_at", flat=True)
    )


def discard(task_paths: set[str]) -> None:
    """Remove the given tasks from the RQ queue (database rows go with the test's flush)."""
    if not using_rq():
        return
    queue = rq_queue()
    for job in queue.get_jobs():
        if job.func_name in task_paths:
            job.delete()
