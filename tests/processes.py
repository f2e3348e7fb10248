"""Starting real Shelfwatch processes in tests and waiting for them to answer."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from tests.conftest import free_port

SHELFWATCH = [sys.executable, "-m", "shelfwatch"]


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.1):
    """Poll until `predicate()` is truthy and return it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def wait_for_http(
    url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen, *, grace: float = 10.0) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@contextlib.contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run `shelfwatch <args>` in its own process group; stop the whole group afterwards."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*SHELFWATCH, *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop(process)


@contextlib.contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """A `shelfwatch web` process on a free port; yields its base URL once it answers."""
    port = free_port()
    with running(
        ["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], env, log
    ) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(base + "/health", process=proc)
        yield base


@contextlib.contextmanager
def serving_all(
    commands: dict[str, list[str]], env: dict[str, str], logs: Path
) -> Iterator[tuple[dict[str, str], dict[str, subprocess.Popen]]]:
    """Start every server at once (startup dominates); yield base URLs and processes by name."""
    with contextlib.ExitStack() as stack:
        bases: dict[str, str] = {}
        processes = {}
        for name, args in commands.items():
            port = free_port()
            argv = [*args, "--host", "127.0.0.1", "--port", str(port)]
            processes[name] = stack.enter_context(running(argv, env, logs / f"{name}.log"))
            bases[name] = f"http://127.0.0.1:{port}"
        for name, base in bases.items():
            try:
                wait_for_http(base + "/health", timeout=60, process=processes[name])
            except Exception:
                print((logs / f"{name}.log").read_text(errors="replace"))
                raise
        yield bases, processes


def wait_for_dead_sessions(timeout: float = 15) -> None:
    """Wait until no other session is busy in the test database: a COMMIT a killed process
    sent just before it died still lands on a PostgreSQL server after the process is gone."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return

    def settled() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'"
            )
            return cursor.fetchone()[0] == 0

    wait_for(settled, timeout=timeout)
