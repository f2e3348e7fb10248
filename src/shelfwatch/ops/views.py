"""Liveness, readiness and metrics endpoints for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_safe

from shelfwatch.http.problems import problem_response
from shelfwatch.notify.health import paused_channels

logger = logging.getLogger("shelfwatch.ops")

# Liveness is probed often and benchmarked: answer with constant bytes, touch nothing.
_HEALTH_BODY = b'{"status":"ok"}'


@require_safe
def health(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers HTTP. No authentication, no database."""
    return HttpResponse(_HEALTH_BODY, content_type="application/json")


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    # A unique value proves the round trip; a fixed one could be a stale hit.
    key = "ops:ready-probe"
    value = secrets.token_hex(8)
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        raise RuntimeError("cache did not return the value just stored")


def check_tasks() -> None:
    """The task backend can take work: its table answers, or Redis answers a PING."""
    from django_tasks import task_backends

    for alias in settings.TASKS:
        backend = task_backends[alias]
        if backend.__class__.__name__ == "RQBackend":
            import django_rq

            for queue in backend.queues:
                django_rq.get_connection(queue).ping()
        else:
            from django_tasks_db.models import DBTaskResult

            list(DBTaskResult.objects.order_by().values_list("pk", flat=True)[:1])


READY_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "tasks": check_tasks,
}


def run_checks() -> tuple[dict[str, dict[str, object]], list[str]]:
    """Each readiness check's outcome and time, and the names of those that failed."""
    checks: dict[str, dict[str, object]] = {}
    failed: list[str] = []
    for name, check in READY_CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:
            # Details (hosts, credentials in URLs) go to the log, only the class to the client.
            logger.warning("readiness check %s failed: %r", name, exc)
            failed.append(name)
            checks[name] = {"ok": False, "error": type(exc).__name__}
        else:
            checks[name] = {"ok": True}
        checks[name]["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return checks, failed


@require_safe
def ready(request: HttpRequest) -> HttpResponse:
    """Readiness: database, cache and task backend answer. 503 problem+json names failures."""
    checks, failed = run_checks()
    if failed:
        return problem_response(
            request,
            status=503,
            code="not_ready",
            detail="Failing checks: " + ", ".join(failed) + ".",
            extra={"failed": failed, "checks": checks},
            headers={"Cache-Control": "no-store"},
        )
    paused = _paused_sending()
    if not _internal_reader(request):
        # Sending numbers and the provider's reasons are the operator's business; a public
        # probe tells only that a channel is paused and for how long.
        paused = [
            {"channel": str(p["key"]).split(":", 1)[0], "seconds_left": p["seconds_left"]}
            for p in paused
        ]
    body = {"status": "ok", "checks": checks, "paused": paused}
    response = HttpResponse(json.dumps(body), content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


# The checks in words, for the status page people open from the footer.
CHECK_LABELS = {
    "database": _lazy("Database"),
    "cache": _lazy("Cache"),
    "tasks": _lazy("Background tasks (alerts, imports, reports)"),
}


@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    """The readiness checks as a page for people (the footer's "Service status"); /health
    and /ready stay JSON for load balancers and monitoring."""
    checks, failed, paused = _status_outcome()
    rows = [
        {"label": CHECK_LABELS.get(name, name), "ok": result["ok"], "ms": result["ms"]}
        for name, result in checks.items()
    ]
    context = {"rows": rows, "failed": failed, "paused": paused}
    response = render(request, "ops/status.html", context, status=503 if failed else 200)
    response["Cache-Control"] = "no-store"
    return response


# The status page is public and anyone may reload it as fast as they like: its checks (a
# cache write among them, a database write on the default cache) run at most once per this
# many seconds in a process, and the page shows that outcome meanwhile. /ready stays live.
STATUS_REUSE_SECONDS = 5.0
_status_lock = threading.Lock()
_status_last: tuple[float, dict[str, dict[str, object]], list[str], int] | None = None


def _status_outcome() -> tuple[dict[str, dict[str, object]], list[str], int]:
    """The checks, the failed ones and the count of paused channels, run afresh only when
    the last run is STATUS_REUSE_SECONDS old (one request at a time runs them)."""
    global _status_last
    with _status_lock:
        now = time.monotonic()
        if _status_last is None or now - _status_last[0] >= STATUS_REUSE_SECONDS:
            checks, failed = run_checks()
            _status_last = (now, checks, failed, len(_paused_sending()))
        return _status_last[1], _status_last[2], _status_last[3]


def forget_status() -> None:
    """Drop the status page's last outcome (the next request runs the checks)."""
    global _status_last
    with _status_lock:
        _status_last = None


def _paused_sending() -> list[dict[str, object]]:
    """Paused numbers and channels, for the operator: a pause leaves the process ready (it
    serves and queues), so it is shown here without failing the probe."""
    try:
        return paused_channels()
    except Exception as exc:
        logger.warning("could not read the sending pauses: %r", exc)
        return []


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


# Headers a reverse proxy adds. A proxy on the same machine (deploy/nginx.conf) connects
# from 127.0.0.1, so without this check every visitor it forwards would count as loopback.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _forwarded(request: HttpRequest) -> bool:
    return any(header in request.META for header in FORWARDING_HEADERS)


def _internal_reader(request: HttpRequest) -> bool:
    """The caller may read what /metrics shows: the metrics token as a bearer token, or,
    without a token set, a loopback client that came through no proxy."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), token.encode()
        )
    return _is_loopback(request.META.get("REMOTE_ADDR", "")) and not _forwarded(request)


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition. With METRICS_TOKEN: `Authorization: Bearer <token>` required;
    without it, only loopback clients that came through no proxy may scrape."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return problem_response(
                request,
                status=401,
                code="not_authenticated",
                detail="Send the metrics token as a bearer token.",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        if not hmac.compare_digest(presented.strip().encode(), token.encode()):
            return problem_response(
                request, status=403, code="forbidden", detail="Wrong metrics token."
            )
    elif not _is_loopback(request.META.get("REMOTE_ADDR", "")) or _forwarded(request):
        return problem_response(
            request,
            status=403,
            code="forbidden",
            detail="Metrics are served to loopback clients only unless METRICS_TOKEN is set.",
        )
    # Imported on first scrape so commands that only load the URLconf (check, migrate) never
    # import prometheus_client; see shelfwatch.ops.metrics on import order.
    from shelfwatch.ops.metrics import render_latest

    body, content_type = render_latest(request.headers.get("Accept", ""))
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
