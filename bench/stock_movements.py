"""Stock movements per second from 8 concurrent writer processes, and a ledger audit after.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/stock_movements.py [--seconds 5] [--products 200000] [--skip-scale-out]

For each deployment (see deployments.py): migrate a fresh database, load the generated
catalog (catalog_data.py), open a store with ten stock items through `add_stock_item` (so
the opening stock is in the ledger), then run three scenarios, each with 8 writer
PROCESSES (threads would share one GIL) started together, every one calling
`inventory.stock.move_stock` in a loop with its own Django connection:

- hot item: all 8 on one item holding 1,000,000, alternating a sale (-1) and a return (+1);
- own items: each writer on its own item, the same alternation;
- scarce item: all 8 selling one unit at a time from an item holding 400 until it is gone
  (InsufficientStock), which checks that concurrent takes never oversell.

A movement's latency is the whole `move_stock` call: the conditional UPDATE, the ledger
row, the event rows, the dispatch task (written in the move's transaction with the
database task backend, enqueued after commit with RQ) and the after-commit publish.
Afterwards every item is audited: ledger rows of the run == successful calls, quantity ==
quantity before + the sum of the run's deltas == the sum of the item's whole ledger, no
`quantity_after` below zero, and each row's `quantity_after` equals the previous row's
plus its delta (the moves were serialized); and each move wrote one `stock.changed` event
and one dispatch task (nothing runs the tasks meanwhile). "database is locked" and other
errors are counted, not fatal.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import catalog_search
import cpuload
import deployments
import inner_process
import machine
from cpuload import _busy_seconds
from inner_process import percentile, run_inner, setup_django
from tables import render_table

WRITERS = 8
OPENING = 1_000_000
SCARCE = 400
SCENARIOS = {
    "hot": "8 writers, one hot item, -1/+1",
    "own": "8 writers, one item each, -1/+1",
    "scarce": f"8 writers taking 1 from {SCARCE} until gone",
}


# --- inside the deployment ----------------------------------------------------------------


def inner_prepare(products: int, seed: int) -> dict:
    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import Store
    from shelfwatch.inventory.stock_items import add_stock_item

    loaded = catalog_search.inner_load(products, seed)
    admin = Principal(user=User.objects.get(email=catalog_search.ADMIN_EMAIL), method="jwt")
    store = Store.objects.create(name="Stock Bench", slug="stock-bench", region="IN-KA")
    chosen = Product.objects.filter(status="verified").order_by("pk")[: WRITERS + 2]
    quantities = [OPENING] * (WRITERS + 1) + [SCARCE]
    items = [
        add_stock_item(store=store, product=p, principal=admin, quantity=q).pk
        for p, q in zip(chosen, quantities, strict=True)
    ]
    return {"load_seconds": loaded["total_seconds"], "items": items}


def _writer(scenario: str, worker: int, item_id: int, seconds: float, sync, queue) -> None:
    """One writer process: move stock on `item_id` until `seconds` pass (or, scarce, the
    stock is gone); puts its counts, latencies and CPU seconds (its own and, on
    PostgreSQL, its backend's) on `queue`."""
    setup_django()
    from django.db import OperationalError, connection

    from shelfwatch.inventory.models import StockItem
    from shelfwatch.inventory.stock import InsufficientStock, move_stock

    item = StockItem.objects.get(pk=item_id)
    backend = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = str(cursor.fetchone()[0])
    out = {
        "item": item_id,
        "ok": 0,
        "delta": 0,
        "insufficient": 0,
        "locked": 0,
        "errors": {},
        "latencies": [],
    }
    ready, start = sync
    ready.put(worker)  # set up and connected: the clock may start
    start.wait()
    began, cpu = time.monotonic(), _cpu(None)
    backend_cpu = _cpu(backend)
    step = 0
    while time.monotonic() - began < seconds:
        delta = -1 if scenario == "scarce" or step % 2 == 0 else 1
        reason = "sale" if delta < 0 else "return"
        started = time.perf_counter()
        try:
            move_stock(
                item=item, delta=delta, reason=reason, reference=f"bench:{scenario}:{worker}:{step}"
            )
        except InsufficientStock:
            out["insufficient"] += 1
            if scenario == "scarce":
                break
        except OperationalError as exc:
            if "locked" in str(exc):
                out["locked"] += 1
            else:
                out["errors"][str(exc)[:80]] = out["errors"].get(str(exc)[:80], 0) + 1
        except Exception as exc:  # counted and reported: the figure is how often it happens
            name = type(exc).__name__
            out["errors"][name] = out["errors"].get(name, 0) + 1
        else:
            out["ok"] += 1
            out["delta"] += delta
            out["latencies"].append((time.perf_counter() - started) * 1000)
        step += 1
    out["began"], out["ended"] = began, time.monotonic()
    out["cpu"], out["db_cpu"] = _cpu(None) - cpu, _cpu(backend) - backend_cpu
    queue.put(out)


def _cpu(pid: str | None) -> float:
    """CPU seconds of this process (None) or of another process on this machine ("": none)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    if pid == "":
        return 0.0  # SQLite: the database works inside the writer process
    try:
        return inner_process._process_seconds(pid)
    except OSError:  # a database on another machine
        return 0.0


def _audit(scenario: str, item_ids: list[int], before: dict[int, int], ok: dict, delta: dict):
    """What is wrong with the ledger after the run; an empty list when nothing is."""
    from django.db.models import Sum

    from shelfwatch.inventory.models import StockItem, StockMovement

    problems = []
    for item_id in item_ids:
        rows = list(
            StockMovement.objects.filter(
                item_id=item_id, reference__startswith=f"bench:{scenario}:"
            )
            .order_by("id")
            .values_list("delta", "quantity_after")
        )
        quantity = StockItem.objects.get(pk=item_id).quantity
        whole = StockMovement.objects.filter(item_id=item_id).aggregate(s=Sum("delta"))["s"]
        if len(rows) != ok[item_id]:
            problems.append(f"item {item_id}: {len(rows)} ledger rows, {ok[item_id]} calls")
        if quantity != before[item_id] + delta[item_id] or quantity != whole:
            problems.append(f"item {item_id}: quantity {quantity}, ledger says {whole}")
        if rows and min(after for _, after in rows) < 0:
            problems.append(f"item {item_id}: went negative")
        last = before[item_id]
        for d, after in rows:
            if after != last + d:
                problems.append(f"item {item_id}: {last}{d:+d} recorded as {after}")
                break
            last = after
    return problems


def _dispatch_tasks() -> int:
    """Dispatch tasks waiting so far (nothing runs them during the benchmark)."""
    from django.conf import settings

    from shelfwatch.events.tasks import dispatch_events

    if settings.TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend":
        import django_rq

        return django_rq.get_queue("default").count
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=dispatch_events.module_path).count()


def _audit_events(last_event: int, tasks_before: int, moves: int) -> list[str]:
    """Each successful move wrote one `stock.changed` event and ONE dispatch task."""
    from shelfwatch.events.models import Event

    changed = Event.objects.filter(pk__gt=last_event, type="stock.changed").count()
    tasks = _dispatch_tasks() - tasks_before
    problems = []
    if changed != moves:
        problems.append(f"{changed} stock.changed events for {moves} moves")
    if tasks != moves:
        problems.append(f"{tasks} dispatch tasks for {moves} moves")
    return problems


def _redis_cpu() -> float:
    total = 0.0
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and Path(entry.path, "cmdline").read_bytes().startswith(
                b"redis-server"
            ):
                total += inner_process._process_seconds(entry.name)
        except OSError:
            continue
    return total


def inner_run(scenario: str, items: list[int], seconds: float) -> dict:
    from django.db.models import Max

    from shelfwatch.events.models import Event
    from shelfwatch.inventory.models import StockItem

    targets = {"hot": [items[0]] * WRITERS, "own": items[1 : WRITERS + 1]}
    targets["scarce"] = [items[-1]] * WRITERS
    chosen = targets[scenario]
    before = dict(StockItem.objects.filter(pk__in=chosen).values_list("pk", "quantity"))
    last_event = Event.objects.aggregate(last=Max("pk"))["last"] or 0
    tasks_before = _dispatch_tasks()
    context = multiprocessing.get_context("spawn")
    ready, start, queue = context.Queue(), context.Event(), context.Queue()
    procs = [
        context.Process(target=_writer, args=(scenario, n, item, seconds, (ready, start), queue))
        for n, item in enumerate(chosen)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=300)
    busy, redis = _busy_seconds(), _redis_cpu()
    start.set()
    outs = [queue.get(timeout=seconds + 300) for _ in procs]
    busy, redis = _busy_seconds() - busy, _redis_cpu() - redis
    for proc in procs:
        proc.join()
    ok: dict[int, int] = dict.fromkeys(chosen, 0)
    delta: dict[int, int] = dict.fromkeys(chosen, 0)
    for out in outs:
        ok[out["item"]] += out["ok"]
        delta[out["item"]] += out["delta"]
    latencies = [ms for out in outs for ms in out["latencies"]]
    wall = max(o["ended"] for o in outs) - min(o["began"] for o in outs)
    errors: dict[str, int] = {}
    for out in outs:
        for key, count in out["errors"].items():
            errors[key] = errors.get(key, 0) + count
    writers = sum(o["cpu"] for o in outs)
    database = sum(o["db_cpu"] for o in outs) + redis
    return {
        "cpu": {
            "writers": writers / wall,
            "database": database / wall,
            "other": max(0.0, busy - writers - database) / wall,
        },
        "ok": sum(ok.values()),
        "per_second": sum(ok.values()) / wall,
        "wall": wall,
        "p50": statistics.median(latencies) if latencies else 0.0,
        "p99": percentile(latencies, 99) if latencies else 0.0,
        "insufficient": sum(o["insufficient"] for o in outs),
        "locked": sum(o["locked"] for o in outs),
        "errors": errors,
        "problems": _audit(scenario, sorted(set(chosen)), before, ok, delta)
        + _audit_events(last_event, tasks_before, sum(ok.values())),
    }


# --- outside: deployments, subprocesses, the table ----------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per scenario")
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--inner", choices=("prepare", "run"), help=argparse.SUPPRESS)
    parser.add_argument("--scenario", choices=tuple(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--items", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        if args.inner == "prepare":
            result = inner_prepare(args.products, args.seed)
        else:
            items = [int(i) for i in args.items.split(",")]
            result = inner_run(args.scenario, items, args.seconds)
        print(json.dumps(result))
        return

    info = machine.describe()
    print(machine.render(info), flush=True)
    rows, notes = [], []
    with tempfile.TemporaryDirectory(prefix="shelfwatch-stock-") as tmp:
        picked = deployments.chosen(
            skip_embedded=args.skip_embedded, skip_scale_out=args.skip_scale_out
        )
        for deploy in picked:
            with deploy(Path(tmp)) as deployment:
                print(f"\n{deployment.name}: loading {args.products:,} products", flush=True)
                common = ["--products", str(args.products), "--seed", str(args.seed)]
                prepared, _ = run_inner(__file__, deployment.env, "prepare", *common)
                items = ",".join(str(i) for i in prepared["items"])
                for scenario, label in SCENARIOS.items():
                    cpuload.wait_for_quiet(max_wait=30)
                    result, _ = run_inner(
                        __file__,
                        deployment.env,
                        "run",
                        *common,
                        "--scenario",
                        scenario,
                        "--items",
                        items,
                        "--seconds",
                        str(args.seconds),
                        database=deployment.database,
                    )
                    print(f"  {scenario}: {result}", flush=True)
                    errors = sum(result["errors"].values())
                    audit = "ok" if not result["problems"] else "; ".join(result["problems"][:3])
                    rows.append(
                        [
                            deployment.name,
                            label,
                            f"{result['per_second']:,.0f}",
                            f"{result['p50']:.1f}",
                            f"{result['p99']:.1f}",
                            f"{result['ok']:,}",
                            str(result["insufficient"]),
                            str(result["locked"]),
                            str(errors),
                            audit,
                        ]
                    )
                    cpu = result["cpu"]
                    notes.append(
                        f"{deployment.name}, {scenario}: while the writers ran they used "
                        f"{cpu['writers']:.2f} cores, PostgreSQL backends and Redis "
                        f"{cpu['database']:.2f}, the rest of the machine {cpu['other']:.2f}"
                        + (f"; errors {result['errors']}" if errors else "")
                    )
    header = ["database", "scenario", "moves/s", "p50 ms", "p99 ms", "moves"]
    header += ["insufficient", "locked", "other errors", "ledger audit"]
    print(
        f"\n{WRITERS} writer processes, {args.seconds:g} s each, {info['date']}, {info['cpus']}\n"
    )
    print(render_table(header, rows))
    print()
    print("\n".join(f"- {note}" for note in notes))


if __name__ == "__main__":
    main()
