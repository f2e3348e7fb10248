"""Who used the CPU during a measurement: the server, the load generator, the database and
cache services, and everything else on the machine (other work that skews the figures).

Used by http_baseline.py and sse_fanout.py; not run on its own. Reads /proc only.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from servers import process_tree

TICK = os.sysconf("SC_CLK_TCK")


def _busy_seconds() -> float:
    """CPU time spent busy by the whole machine (all cores) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICK


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def _service_pids(database: str | None) -> list[int]:
    """Redis, and the PostgreSQL backends serving `database` (our throwaway one)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        is_ours_pg = database and cmdline.startswith("postgres:") and f" {database} " in cmdline
        if is_ours_pg or cmdline.startswith("redis-server"):
            pids.append(int(entry.name))
    return pids


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuShare:
    """Average cores busy over a window, by who was busy."""

    seconds: float
    server: float
    load: float  # wrk (a waited child) or this process's own clients
    services: float  # PostgreSQL backends of our database, Redis
    other: float  # the rest of the machine: noise for the measurement


class CpuWindow:
    """CPU use between `start()` and `stop()`.

    `load` counts child processes waited for in between (wrk), or with `count_self=True`
    this process instead (SSE clients run in it), plus what `stop(extra_load=...)` adds.
    """

    def __init__(self, server_pid: int, *, database: str | None, count_self: bool = False) -> None:
        self.server_pid = server_pid
        self.database = database
        self.count_self = count_self

    def _snapshot(self) -> tuple[float, float, float, float, float, float]:
        services = _service_pids(self.database)
        return (
            time.monotonic(),
            _busy_seconds(),
            _cpu_seconds(process_tree(self.server_pid)),
            _cpu_seconds(services),
            0.0 if self.count_self else _children_seconds(),
            _self_seconds() if self.count_self else 0.0,
        )

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self, *, extra_load: float = 0.0) -> CpuShare:
        """`extra_load`: CPU seconds of load processes not otherwise counted."""
        end = self._snapshot()
        deltas = (b - a for a, b in zip(self._start, end, strict=True))
        wall, busy, server, services, children, own = deltas
        wall = max(wall, 1e-6)
        load = children + own + extra_load
        other = max(0.0, busy - server - services - load)
        return CpuShare(
            seconds=wall,
            server=server / wall,
            load=load / wall,
            services=services / wall,
            other=other / wall,
        )


def wait_for_quiet(*, below: float = 0.25, window: float = 1.0, max_wait: float = 60.0) -> float:
    """Wait (up to `max_wait` s) until the machine's busy cores over `window` fall below
    `below`; return the last reading. Call it while nothing of ours is working."""
    deadline = time.monotonic() + max_wait
    while True:
        before, started = _busy_seconds(), time.monotonic()
        time.sleep(window)
        busy = (_busy_seconds() - before) / (time.monotonic() - started)
        if busy < below or time.monotonic() > deadline:
            return busy
