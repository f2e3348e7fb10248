"""Starting the HTTP servers (granian) and preparing the shared Prometheus directory.

Three shapes, chosen by measurement (see DESIGN.md, "Serving shape"):
- web: Django under granian's WSGI interface, a few blocking threads per worker process;
- stream: the SSE application under granian's ASGI interface, one process holding many idle
  connections;
- front: the single-port ASGI dispatcher `shelfwatch serve` runs (streams natively, every
  other request bridged to the WSGI app).
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import shutil
from pathlib import Path

from shelfwatch.events.capacity import OVERFLOW_CONNECTIONS, stream_capacity

logger = logging.getLogger("shelfwatch.servers")

WSGI_TARGET = "shelfwatch.config.wsgi:application"
STREAM_TARGET = "shelfwatch.config.asgi:stream_application"
FRONT_TARGET = "shelfwatch.config.asgi:application"

# Workers are killed if they do not stop this long after SIGTERM (open SSE streams never end
# on their own); keeps every shutdown bounded.
WORKERS_KILL_TIMEOUT = 5
STREAM_BACKLOG = 2048


# granian's `backpressure` is not a request limit: each worker takes a permit before it
# accepts a connection and gives it back only when that connection closes (granian 2.8,
# src/workers.rs). Set to the thread count, a few keep-alive clients held every permit and
# all others waited unanswered in the listen backlog. So the limit is on connections, well
# above the threads: accepted requests queue first come, first served for the worker's
# blocking threads (one FIFO channel), one request at a time per HTTP/1 connection, so the
# queue is fair across connections and bounded by the connection limit.
def web_backpressure() -> int:
    """Connections one web worker process accepts at once (WEB_MAX_CONNECTIONS)."""
    from django.conf import settings

    return max(1, int(settings.WEB_MAX_CONNECTIONS))


def stream_backpressure() -> int:
    """Connections one stream worker accepts: its streams plus room to refuse the next ones
    (an SSE client holds its connection, and so a permit, for its whole life)."""
    from django.conf import settings

    return stream_capacity(settings.STREAM_MAX_CLIENTS) + OVERFLOW_CONNECTIONS


def front_backpressure() -> int:
    """The single-port front carries both: streams and ordinary requests."""
    return stream_backpressure() + web_backpressure()


def default_web_workers() -> int:
    """One WSGI worker process per core (2 on the reference machine), at most 8."""
    return max(1, min(os.cpu_count() or 1, 8))


# Threads only overlap I/O waits (database, cache) under the GIL; granian itself warns above
# 2 x cores + 1 threads per worker, so 4 keeps a 2-core box busy without thrashing.
DEFAULT_WEB_THREADS = 4


def raise_open_files_limit() -> None:
    """Lift the soft open-files limit to the hard one: each stream client holds a socket."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def fresh_metrics_dir(data_dir: Path, label: str) -> Path:
    """A new, empty directory for prometheus_client's multiprocess files.

    Named after this process so directories left by runs that died (no cleanup) are found and
    removed on the next start; prometheus_client requires the directory to start empty.
    """
    root = data_dir / "prometheus"
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.iterdir():
        _, _, pid = stale.name.rpartition("-")
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    path = root / f"{label}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_granian(
    *,
    interface: str,
    target: str,
    host: str,
    port: int,
    workers: int = 1,
    blocking_threads: int | None = None,
    backpressure: int | None = None,
    backlog: int = 1024,
) -> None:
    """Serve `target` with granian in this process (its master) until SIGINT/SIGTERM.

    granian's server log is routed through settings.LOGGING; its access log stays off because
    RequestMiddleware writes one access line per request with the route and request id.
    """
    from django.conf import settings
    from granian import Granian
    from granian.constants import Interfaces

    from shelfwatch.ops.logs import granian_log_config

    server = Granian(
        target,
        address=host,
        port=port,
        interface=Interfaces(interface),
        workers=workers,
        blocking_threads=blocking_threads,
        backpressure=backpressure,
        backlog=backlog,
        websockets=interface != "wsgi",
        log_dictconfig=granian_log_config(settings.LOGGING),
        log_access=False,
        respawn_failed_workers=True,
        respawn_interval=1.0,
        workers_kill_timeout=WORKERS_KILL_TIMEOUT,
    )
    server.serve()
