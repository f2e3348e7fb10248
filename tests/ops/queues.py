"""Reading what was enqueued, on either task backend (database or RQ)."""

from __future__ import annotations

import threading
from datetime import datetime

from django.conf import settings
from django.db import connections


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


def finish_queued(task_paths: set[str]) -> None:
    """What a worker does to the waiting tasks of `task_paths`: take them off the queue."""
    if using_rq():
        discard(task_paths)
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path__in=task_paths, status="READY").update(
        status="SUCCESSFUL"
    )


def _waiting(task_paths: set[str]) -> dict[str, tuple[str, datetime]]:
    """Tasks of `task_paths` waiting in the default queue: id -> (task path, enqueued at)."""
    if using_rq():
        return {
            job.id: (job.func_name, job.enqueued_at)
            for job in rq_queue().get_jobs()
            if job.func_name in task_paths
        }
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(task_path__in=task_paths, status="READY")
    return {
        str(pk): (path, at) for pk, path, at in rows.values_list("pk", "task_path", "enqueued_at")
    }


def _finish(task_ids: list[str]) -> None:
    if not task_ids:
        return
    if using_rq():
        queue = rq_queue()
        for job in queue.get_jobs():
            if job.id in task_ids:
                job.delete()
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(pk__in=task_ids, status="READY").update(status="SUCCESSFUL")


class Drain:
    """A stand-in worker: takes the tasks of `task_paths` off the queue as they arrive and
    remembers when each was enqueued (the queue itself forgets finished tasks on RQ)."""

    def __init__(self, task_paths: set[str], *, every: float = 0.05) -> None:
        self.task_paths = task_paths
        self.every = every
        self.seen: dict[str, tuple[str, datetime]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                waiting = _waiting(self.task_paths)
                self.seen.update(waiting)
                # Only what was seen: a task enqueued after the read waits for the next round.
                _finish(list(waiting))
        finally:
            connections.close_all()

    def times(self, task_path: str) -> list[datetime]:
        """When each task of `task_path` seen so far was enqueued, oldest first."""
        return sorted(at for path, at in list(self.seen.values()) if path == task_path)

    def __enter__(self) -> Drain:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def free_scheduler_lease() -> None:
    """Forget any scheduler lease another test's process left behind (it would hold for its
    full length after that process was killed)."""
    from shelfwatch.ops.models import SchedulerLease
    from shelfwatch.ops.scheduler import redis_lease_key

    if settings.REDIS_URL:
        import redis

        with redis.Redis.from_url(settings.REDIS_URL) as client:
            client.delete(redis_lease_key())
    SchedulerLease.objects.all().delete()
