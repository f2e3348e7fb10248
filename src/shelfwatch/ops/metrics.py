"""Prometheus metrics. With PROMETHEUS_MULTIPROC_DIR set, every process writes its samples
there and a scrape of any one process reports them all.

Import this module only after PROMETHEUS_MULTIPROC_DIR is in the environment (the CLI sets it
before starting servers): prometheus_client picks its value storage when first imported.
"""

from __future__ import annotations

import atexit
import bisect
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Count
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from shelfwatch.notify.health import PauseCollector

logger = logging.getLogger("shelfwatch.metrics")

REQUESTS = Counter(
    "shelfwatch_http_requests_total",
    "HTTP requests by route pattern, method and status.",
    ["method", "route", "status"],
)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LATENCY = Histogram(
    "shelfwatch_http_request_duration_seconds",
    "HTTP request latency by route pattern.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)


TASK_WAIT = Histogram(
    "shelfwatch_task_wait_seconds",
    "Seconds from a task being due (enqueued, or its run_after) to a worker starting it.",
    ["queue"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
TASK_RUN = Histogram(
    "shelfwatch_task_run_seconds",
    "Seconds a task ran, by task and how it ended.",
    ["task", "status"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
NOTIFICATION_SENDS = Counter(
    "shelfwatch_notification_sends_total",
    "Notification sends by channel and outcome (sent, retried, failed, deferred).",
    ["channel", "outcome"],
)
POLLS = Counter(
    "shelfwatch_polls_total",
    'Watch polls by source kind and result ("ok" or the failure code).',
    ["kind", "result"],
)
IMPORT_ROWS = Counter(
    "shelfwatch_import_rows_total",
    "Import rows committed, by source (csv, off_jsonl, off_csv) and outcome.",
    ["source", "outcome"],
)
SSE_CLIENTS = Gauge(
    "shelfwatch_sse_clients",
    "Event stream clients connected, summed over the live stream processes.",
    multiprocess_mode="livesum",
)


class _RequestBatch:
    """Request counts and latency buckets gathered in plain dicts and written to the
    Prometheus metrics in one go, at most FLUSH_SECONDS or FLUSH_REQUESTS apart, at a
    scrape of this process and at exit: a labelled metric update takes locks (and, with
    PROMETHEUS_MULTIPROC_DIR, writes a memory-mapped file) for every request otherwise."""

    FLUSH_SECONDS = 1.0
    FLUSH_REQUESTS = 256

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, str, int], int] = {}
        # route -> [sum of seconds, count in bucket 0, 1, ..., +Inf]
        self.latency: dict[str, list[float]] = {}
        self.pending = 0
        self.flushed_at = time.monotonic()

    def add(self, method: str, route: str, status: int, seconds: float) -> None:
        # The first bucket whose upper bound holds `seconds` (le is inclusive); past the
        # last, +Inf.
        bucket = bisect.bisect_left(LATENCY_BUCKETS, seconds) + 1
        key = (method, route, status)
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            sums = self.latency.get(route)
            if sums is None:
                sums = self.latency[route] = [0.0] * (len(LATENCY_BUCKETS) + 2)
            sums[0] += seconds
            sums[bucket] += 1
            self.pending += 1
            due = (
                self.pending >= self.FLUSH_REQUESTS
                or time.monotonic() - self.flushed_at >= self.FLUSH_SECONDS
            )
        if due:
            self.flush()

    def flush(self) -> None:
        """Write what was gathered to the Prometheus metrics."""
        with self.lock:
            counts, latency = self.counts, self.latency
            self.counts, self.latency = {}, {}
            self.pending = 0
            self.flushed_at = time.monotonic()
        for (method, route, status), count in counts.items():
            REQUESTS.labels(method, route, str(status)).inc(count)
        for route, sums in latency.items():
            child = LATENCY.labels(route)
            # prometheus_client keeps one counter per bucket (made cumulative when
            # collected) and one for the sum; Histogram has no public bulk observe.
            child._sum.inc(sums[0])
            for index, count in enumerate(sums[1:]):
                if count:
                    child._buckets[index].inc(count)


_batch = _RequestBatch()
atexit.register(_batch.flush)


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    """Count one request by method, route and status, and record its latency in seconds by
    route (batched: written out within a second, at a scrape of this process, or at exit)."""
    _batch.add(method, route, status, seconds)


def flush_request_metrics() -> None:
    """Write this process's gathered request metrics out now."""
    _batch.flush()


class TaskQueueCollector:
    """Task queue depth per backend and queue, counted when Prometheus scrapes.

    Counting at scrape time (one grouped query, or one LLEN per RQ queue) keeps the number
    exact across all processes without any process having to publish it.
    """

    def collect(self) -> Iterator[Metric]:
        """The depth of each task backend's queues and whether the backend answered; a backend that
        fails is reported down, not raised."""
        from django_tasks import task_backends

        depth = GaugeMetricFamily(
            "shelfwatch_task_queue_depth",
            "Tasks waiting to run, by task backend and queue.",
            labels=["backend", "queue"],
        )
        up = GaugeMetricFamily(
            "shelfwatch_task_backend_up",
            "1 when the task backend answered the queue depth query, else 0.",
            labels=["backend"],
        )
        for alias in settings.TASKS:
            backend = task_backends[alias]
            try:
                counts = queue_depths(backend)
            except Exception:
                logger.exception("could not count the queues of task backend %s", alias)
                up.add_metric([alias], 0)
                continue
            up.add_metric([alias], 1)
            for queue, count in sorted(counts.items()):
                depth.add_metric([alias, queue], count)
        yield depth
        yield up


def queue_depths(backend: Any) -> dict[str, int]:
    """Waiting tasks per queue of one django-tasks backend (database or RQ)."""
    queues = {name: 0 for name in backend.queues}
    # Matched by name: importing django_tasks_rq loads django_rq, installed only with REDIS_URL.
    if backend.__class__.__name__ == "RQBackend":
        import django_rq

        for name in queues:
            queues[name] = django_rq.get_queue(name).count
        return queues
    from django_tasks_db.backend import DatabaseBackend

    if not isinstance(backend, DatabaseBackend):
        return queues
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    rows = (
        DBTaskResult.objects.filter(status=TaskResultStatus.READY, backend_name=backend.alias)
        .order_by()
        .values("queue_name")
        .annotate(count=Count("pk"))
    )
    for row in rows:
        queues[row["queue_name"]] = row["count"]
    return queues


def render_latest(accept: str = "") -> tuple[bytes, str]:
    """The exposition of every metric: all processes' when PROMETHEUS_MULTIPROC_DIR is set.

    prometheus_client decides multiprocess mode from the environment variable at import time,
    so this reads the environment too rather than settings.
    """
    flush_request_metrics()
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_DefaultRegistry())
    registry.register(TaskQueueCollector())
    registry.register(_Guarded(PauseCollector()))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


class _Guarded:
    """A collector whose failure (its store unreachable) costs its own metrics, not the
    whole scrape."""

    def __init__(self, collector: object) -> None:
        self.collector = collector

    def collect(self) -> Iterator[Metric]:
        try:
            yield from list(self.collector.collect())
        except Exception as exc:
            logger.warning("collector %s failed: %r", type(self.collector).__name__, exc)


class _DefaultRegistry:
    """Adapter so the process-global registry can sit inside a per-scrape registry."""

    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()
