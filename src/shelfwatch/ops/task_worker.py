"""The RQ worker `shelfwatch worker` runs: each task in the worker's own process.

RQ's default worker forks a child per task. A fork of a Django process, and the new
database connection the child must open, cost tens of milliseconds, and most of our tasks
(an event dispatch, a notification send) take a few: under a busy change stream the
`default` queue fell minutes behind on forks alone. This worker runs tasks one after
another in one process and keeps its database connection, treating each task like a
request: connections that broke or outlived `CONN_MAX_AGE` are closed around it, and a
kept one is checked (`SELECT 1`) before the task's first query, so a restarted database
costs a reconnect, not a failed task. Set `TASK_WORKER_FORK=1` to fork per task again
(isolation from a task that crashes the interpreter, at that cost).
"""

from __future__ import annotations

from django.db import close_old_connections, connections
from rq.job import Job
from rq.queue import Queue
from rq.worker import SimpleWorker

from shelfwatch.ops.startup_heap import freeze_startup_heap


class InProcessWorker(SimpleWorker):
    """RQ's SimpleWorker, with Django's per-request connection upkeep around each task."""

    def work(self, *args, **kwargs) -> bool:
        freeze_startup_heap()
        return super().work(*args, **kwargs)

    def execute_job(self, job: Job, queue: Queue) -> None:
        close_old_connections()
        for conn in connections.all(initialized_only=True):
            # The connection may have sat idle since the last task: one check before use.
            conn.health_check_enabled = True
        try:
            super().execute_job(job, queue)
        finally:
            close_old_connections()
