"""The apps' signals turned into metrics: task wait and run times, notification sends per
channel, polls per source kind, import rows, stream clients.

Connected at start-up without importing prometheus_client: ops.metrics is imported by the
first receiver that runs, after the CLI has set PROMETHEUS_MULTIPROC_DIR for the process.
"""

from __future__ import annotations

from typing import Any

_UID = "shelfwatch-metrics"


def connect() -> None:
    """Connect every receiver (idempotent)."""
    from django_tasks.signals import task_finished, task_started

    from shelfwatch.events.signals import clients_changed
    from shelfwatch.imports.signals import rows_imported
    from shelfwatch.notify.signals import sends_recorded
    from shelfwatch.watch.signals import polls_recorded

    task_started.connect(_task_started, dispatch_uid=_UID)
    task_finished.connect(_task_finished, dispatch_uid=_UID)
    sends_recorded.connect(_sends, dispatch_uid=_UID)
    polls_recorded.connect(_polls, dispatch_uid=_UID)
    rows_imported.connect(_rows, dispatch_uid=_UID)
    clients_changed.connect(_clients, dispatch_uid=_UID)


def _task_started(sender: Any, task_result: Any, **kwargs: Any) -> None:
    from shelfwatch.ops import metrics

    due = task_result.enqueued_at
    run_after = getattr(task_result.task, "run_after", None)
    if run_after is not None and (due is None or run_after > due):
        due = run_after
    started = task_result.started_at
    if due is not None and started is not None:
        wait = max(0.0, (started - due).total_seconds())
        metrics.TASK_WAIT.labels(task_result.task.queue_name).observe(wait)


def _task_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    from shelfwatch.ops import metrics

    started, finished = task_result.started_at, task_result.finished_at
    if started is None or finished is None:
        return
    status = str(getattr(task_result.status, "value", task_result.status)).lower()
    name = task_result.task.module_path.rsplit(".", 1)[-1]
    metrics.TASK_RUN.labels(name, status).observe(max(0.0, (finished - started).total_seconds()))


def _sends(sender: Any, outcomes: dict[tuple[str, str], int], **kwargs: Any) -> None:
    from shelfwatch.ops import metrics

    for (channel, outcome), count in outcomes.items():
        metrics.NOTIFICATION_SENDS.labels(channel, outcome).inc(count)


def _polls(sender: Any, outcomes: dict[tuple[str, str], int], **kwargs: Any) -> None:
    from shelfwatch.ops import metrics

    for (kind, result), count in outcomes.items():
        metrics.POLLS.labels(kind, result).inc(count)


def _rows(sender: Any, source: str, outcomes: dict[str, int], **kwargs: Any) -> None:
    from shelfwatch.ops import metrics

    for outcome, count in outcomes.items():
        metrics.IMPORT_ROWS.labels(source, outcome).inc(count)


def _clients(sender: Any, count: int, **kwargs: Any) -> None:
    from shelfwatch.ops import metrics

    metrics.SSE_CLIENTS.set(count)
