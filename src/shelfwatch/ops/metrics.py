"""Prometheus metrics. With PROMETHEUS_MULTIPROC_DIR set, every process writes its samples
there and a scrape of any one process reports them all."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "shelfwatch_http_requests_total",
    "HTTP requests by route pattern, method and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "shelfwatch_http_request_duration_seconds",
    "HTTP request latency by route pattern.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(route).observe(seconds)
