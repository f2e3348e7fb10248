"""How fast one RQ worker drains a backlog of event-dispatch tasks, forking per task or not.

Run from the repository root (PostgreSQL and Redis on 127.0.0.1):

    .venv/bin/python bench/task_drain.py [--changes 1000] [--rounds 2]

A throwaway PostgreSQL database (`--database`, dropped and made anew) gets one store with
one stock item, and `--changes` stock moves, each in its own transaction: each commits its
events and enqueues one dispatch task on the `default` queue, as a busy shop does. Then one
`shelfwatch worker --queues default` is started and timed until every event is dispatched,
once with tasks run in the worker's process (the default) and once forking per task
(`TASK_WORKER_FORK=1`), alternating which goes first. Printed per run, counted from the
moment the worker registers with Redis (its start-up left out): tasks per second, and the
CPU the worker and the children it forked and reaped used per task (the kernel's
utime/stime/cutime/cstime of the worker). Correctness is checked: every event
dispatched, none twice.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
SHELFWATCH = [sys.executable, "-m", "shelfwatch"]

PRODUCE = """
import django
django.setup()
from shelfwatch.catalog.models import Product
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.inventory.stock import move_stock

store = Store.objects.create(name="Drain Bench", slug="drain-bench", city="Pune")
product = Product.objects.create(name="Bench Rice 1 kg", brand="Bench")
item = StockItem.objects.create(store=store, product=product, quantity=0, reorder_level=0)
for _ in range({changes}):
    move_stock(item=item, delta=1, reason="restock")
"""


def _fresh_database(url: str) -> None:
    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _counts(url: str) -> tuple[int, int, int]:
    """(events, dispatched, dispatch attempts beyond one) in the database of `url`."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT COUNT(*), COUNT(dispatched_at), "
            "COALESCE(SUM(GREATEST(dispatch_attempts - 1, 0)), 0) FROM events_event"
        ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def _tree_cpu(pid: int) -> float:
    """CPU seconds of process `pid` and of the children it has reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def run_once(*, fork: bool, changes: int, env: dict[str, str], url: str, redis_url: str) -> dict:
    """Build the backlog, then time one worker draining it; returns the figures."""
    _fresh_database(url)
    redis.Redis.from_url(redis_url).flushdb()
    subprocess.run([*SHELFWATCH, "migrate", "--no-input", "-v", "0"], env=env, check=True)
    code = PRODUCE.format(changes=changes)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)
    events, dispatched, _ = _counts(url)
    queued = redis.Redis.from_url(redis_url).llen("rq:queue:default")
    worker_env = {**env, "TASK_WORKER_FORK": "1" if fork else "0", "LOG_LEVEL": "WARNING"}
    bus = redis.Redis.from_url(redis_url)
    worker = subprocess.Popen(
        [*SHELFWATCH, "worker", "--queues", "default"],
        env=worker_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not bus.scard("rq:workers"):
            if worker.poll() is not None:
                raise SystemExit(f"the worker exited with {worker.returncode}")
            time.sleep(0.005)
        started = time.perf_counter()
        cpu_before = _tree_cpu(worker.pid)
        while True:
            _, dispatched, _ = _counts(url)
            if dispatched >= events:
                break
            if worker.poll() is not None:
                raise SystemExit(f"the worker exited with {worker.returncode}")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        cpu = _tree_cpu(worker.pid) - cpu_before
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    events, dispatched, repeats = _counts(url)
    return {
        "mode": "fork per task" if fork else "in process",
        "tasks": queued,
        "events": events,
        "dispatched": dispatched,
        "repeats": repeats,
        "seconds": elapsed,
        "tasks_per_s": queued / elapsed,
        "cpu_ms_per_task": cpu * 1000 / max(queued, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs, order alternating")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/bench_task_drain")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="task-drain-")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DATABASE_URL": args.database,
        "REDIS_URL": args.redis,
        "CACHE_REDIS_URL": args.redis,
        "DATA_DIR": data_dir,
        "SECRET_KEY": "task-drain-bench-secret-key-not-for-production-use-0123456789",
        "SHELFWATCH_ENV_FILE": "/dev/null",
        "DJANGO_SETTINGS_MODULE": "shelfwatch.config.settings",
    }
    print(
        f"{args.changes} committed stock moves, one dispatch task each, one worker on "
        f"`default`; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.2f}"
    )
    print()
    print("| run | mode | tasks | tasks/s | worker CPU ms per task | events dispatched | repeats |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    order = [False, True]
    run = 0
    for round_no in range(args.rounds):
        for fork in order if round_no % 2 == 0 else order[::-1]:
            run += 1
            got = run_once(
                fork=fork, changes=args.changes, env=env, url=args.database, redis_url=args.redis
            )
            print(
                f"| {run} | {got['mode']} | {got['tasks']:,} | {got['tasks_per_s']:,.1f} | "
                f"{got['cpu_ms_per_task']:.2f} | {got['dispatched']:,} / {got['events']:,} | "
                f"{got['repeats']} |",
                flush=True,
            )
            if got["dispatched"] != got["events"]:
                raise SystemExit("some events were never dispatched")
    print()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
