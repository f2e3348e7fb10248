"""`shelfwatch serve` as a real process: it answers, restarts crashed children, stops cleanly."""

from __future__ import annotations

import os
import signal
import time
import urllib.request

import pytest
from django_tasks import TaskResultStatus

from shelfwatch.ops.models import PeriodicJobState
from tests.conftest import free_port
from tests.ops.processes import Running, alive, children, cmdline, descendants
from tests.processes import wait_for

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read()
    except OSError:
        return 0, b""


def purge_status() -> TaskResultStatus | None:
    from django_tasks import default_task_backend

    state = PeriodicJobState.objects.filter(name="purge-expired").first()
    if state is None or not state.last_result_id:
        return None
    return default_task_backend.get_result(state.last_result_id).status


def child_named(supervisor: int, name: str) -> int | None:
    for pid in children(supervisor):
        argv = cmdline(pid)
        if argv[3:4] == [name]:  # python -m shelfwatch <name> ...
            return pid
    return None


def test_serve_supervises_front_worker_and_scheduler(subprocess_env, settings):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with Running(["serve", "--port", str(port)], subprocess_env) as serve:
        wait_for(lambda: get(base + "/health")[0] == 200, timeout=60, interval=0.2)
        assert f"running at http://127.0.0.1:{port}/" in serve.output
        assert get(base + "/ready")[0] == 200
        status, body = get(base + "/metrics")
        assert status == 200
        assert b'shelfwatch_http_requests_total{method="GET",route="health",status="200"}' in body

        for name in ("front", "worker", "scheduler"):
            assert wait_for(lambda n=name: child_named(serve.pid, n), timeout=10), name

        # The scheduler enqueues the purge at start and the worker runs it.
        assert wait_for(lambda: purge_status() == TaskResultStatus.SUCCESSFUL, timeout=30)

        # A crashed child comes back; the front comes back serving on the same port.
        for name in ("worker", "front"):
            old = child_named(serve.pid, name)
            serve_tree = descendants(old)
            os.kill(old, signal.SIGKILL)
            new = wait_for(
                lambda n=name, o=old: (p := child_named(serve.pid, n)) and p != o and p,
                timeout=15,
            )
            assert new != old
            # Nothing the dead child started is left behind.
            wait_for(lambda t=serve_tree: not any(alive(p) for p in t), timeout=5)
        wait_for(lambda: get(base + "/health")[0] == 200, timeout=30, interval=0.2)
        assert "restarting in" in serve.output

        tree = descendants(serve.pid)
        assert len(tree) >= 4  # front (+ its granian worker), worker, scheduler
        started = time.monotonic()
        serve.signal(signal.SIGTERM)
        code = serve.process.wait(10)
        took = time.monotonic() - started
        assert code == 0
        assert took < 10, took
        wait_for(lambda: not any(alive(pid) for pid in tree), timeout=2)
        assert get(base + "/health")[0] == 0
    # The per-run Prometheus directory is removed with the run.
    assert not (settings.DATA_DIR / "prometheus" / f"serve-{serve.pid}").exists()
