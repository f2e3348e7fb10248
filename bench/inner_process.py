"""Run a benchmark's measuring part in a subprocess with a deployment's environment, and
tell apart the CPU it used, the CPU PostgreSQL and Redis used for it, and the CPU the rest
of the machine used meanwhile (other work skewing the figures).

Used by catalog_search.py and stock_movements.py; not run on its own. cpuload.CpuWindow
reads the PostgreSQL backends only at the start and the end of a window, when a measuring
subprocess has not connected yet or has already gone; here they are sampled throughout.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cpuload import _busy_seconds
from servers import REPO_DIR

SAMPLE_SECONDS = 0.2


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")
    import django

    django.setup()
    # As a server process starts (config/wsgi.py): the URLconf loaded, then the startup heap
    # frozen, so a full garbage collection does not land inside a timed call. Code from
    # before the freeze has no such module and runs as it did.
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018
    # Committed events sent from a background thread, as config/wsgi.py has it (code from
    # before that change has no such function).
    from shelfwatch.events import sending

    coalesce = getattr(sending, "coalesce_in_background", None)
    if coalesce is not None:
        coalesce()
    try:
        from shelfwatch.ops.startup_heap import freeze_startup_heap
    except ImportError:
        return
    freeze_startup_heap()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class CpuShare:
    """Average cores busy over a window, by who was busy."""

    seconds: float
    ours: float  # the measuring subprocess and its children
    services: float  # PostgreSQL backends (and their parallel workers) of our database, Redis
    other: float  # the rest of the machine

    def describe(self) -> str:
        return (
            f"{self.seconds:.0f} s: the benchmark {self.ours:.2f} cores, PostgreSQL/Redis "
            f"{self.services:.2f}, the rest of the machine {self.other:.2f}"
        )


def _process_seconds(pid: str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Sampler(threading.Thread):
    """Sums the CPU of our database's backends, their parallel workers and Redis."""

    def __init__(self, database: str | None, *, redis: bool = True) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.redis = redis
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.done = threading.Event()

    def _services(self) -> dict[str, float]:
        found: dict[str, float] = {}
        backends: set[str] = set()
        workers: dict[str, str] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                cmd = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if self.redis and cmd.startswith("redis-server"):
                    found[entry.name] = _process_seconds(entry.name)
                elif self.database and cmd.startswith("postgres:"):
                    if f" {self.database} " in cmd:
                        backends.add(entry.name)
                        found[entry.name] = _process_seconds(entry.name)
                    elif "parallel worker for PID" in cmd:
                        workers[entry.name] = cmd.split("PID")[1].split()[0]
            except (OSError, UnicodeDecodeError, IndexError):
                continue
        for pid, leader in workers.items():
            if leader in backends:
                try:
                    found[pid] = _process_seconds(pid)
                except OSError:
                    continue
        return found

    def sample(self, *, initial: bool = False) -> None:
        for pid, seconds in self._services().items():
            # A process first seen later started inside the window: all its CPU counts.
            self.first.setdefault(pid, seconds if initial else 0.0)
            self.last[pid] = seconds

    def run(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            self.sample()

    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def _own_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped descendants included
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_inner(
    script: str,
    env: dict[str, str],
    *args: str,
    database: str | None = None,
    redis: bool = True,
    timeout: float | None = 7200,
) -> tuple[dict, CpuShare]:
    """Run `script --inner ARGS` with `env` (its stderr passes through); the JSON on the
    last line it prints, and how the machine's CPU was shared meanwhile (`redis=False`:
    Redis's CPU counts as the rest of the machine's, for a deployment without it)."""
    sampler = _Sampler(database, redis=redis)
    sampler.sample(initial=True)
    sampler.start()
    started, busy, own = time.monotonic(), _busy_seconds(), _own_seconds()
    done = subprocess.run(
        [sys.executable, script, "--inner", *args],
        env=env,
        cwd=REPO_DIR,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    sampler.done.set()
    sampler.join()
    sampler.sample()
    wall = max(time.monotonic() - started, 1e-6)
    ours = _own_seconds() - own
    services = sampler.seconds()
    other = max(0.0, _busy_seconds() - busy - ours - services)
    if done.returncode != 0:
        raise RuntimeError(f"{script} --inner {' '.join(args)} exited {done.returncode}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result, CpuShare(wall, ours / wall, services / wall, other / wall)
