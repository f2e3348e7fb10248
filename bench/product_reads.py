"""Product reads against the FastAPI + SQLAlchemy twin, side by side, on PostgreSQL.

    .venv/bin/python bench/product_reads.py --twin-python FA_VENV/bin/python
        [--products 20000] [--rounds 3] [--seconds 5] [--connections 32] [--async-twin]

The twin (`../shared/twins/fastapi_products`, or --twin-dir) reads Shelfwatch's own
catalog tables and answers with the same JSON; it needs a virtual environment of its own
(`fastapi "sqlalchemy[asyncio]>=2" "psycopg[binary]>=3.2" granian uvloop`), given by
--twin-python. One PostgreSQL + Redis deployment (deployments.py) is loaded with the
generated catalog (catalog_data.py); then `shelfwatch web` (one worker, 4 threads) and the
twin (granian ASGI, one worker) run side by side, and in each round every URL is driven
with wrk on each server in turn, the order alternating between rounds. Anonymous callers
on both sides (the twin has no accounts); ours still counts them against its rate limit
(raised here so nothing is refused) and in its analytics.

Per run it prints requests/s, p50/p99 and CPU milliseconds per request of the server's
process tree and of the PostgreSQL backends and Redis ("db"): the CPU figures move far
less than requests/s with other load on the machine. The ratio is ours / twin within a
round; the summary gives the median over rounds. The 1-minute load average is printed
before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

import cpuload
import deployments
import loadgen
import machine
from inner_process import run_inner, setup_django
from servers import REPO_DIR, SHELFWATCH, clean_env, free_port, http_probe, running
from tables import render_table

URLS = {
    "product page": "/api/v1/products/{product_id}",
    "narrow search": "/api/v1/products?q=mysore",
    "broad search": "/api/v1/products?q=masala",
}
DEFAULT_TWIN_DIR = REPO_DIR.parent / "shared" / "twins" / "fastapi_products"
# Anonymous callers all come from 127.0.0.1: one rate-limit bucket for the whole run.
HIGH_LIMITS = {"THROTTLE_ANON": "100000000/m"}


def inner_prepare(products: int, seed: int) -> dict:
    import catalog_search

    from shelfwatch.catalog.models import Product

    catalog_search.inner_load(products, seed)
    verified = Product.objects.filter(status="verified", merged_into__isnull=True)
    # A product in the middle of the catalog with a picture or regional names if any has.
    picked = (
        verified.filter(regional_names__isnull=False).order_by("pk").values_list("pk", flat=True)
    )
    ids = list(picked[:1000]) or list(verified.order_by("pk").values_list("pk", flat=True)[:1000])
    return {"product_id": ids[len(ids) // 2]}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _service_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend of `database` and of Redis, by pid."""
    return {pid: cpuload._cpu_seconds([pid]) for pid in cpuload._service_pids(database)}


def measure(server, path: str, *, seconds: float, connections: int, database: str) -> dict:
    window = cpuload.CpuWindow(server.proc.pid, database=database)
    services_before = _service_cpu(database)
    window.start()
    result = loadgen.run_wrk(server.url(path), seconds=seconds, connections=connections, threads=2)
    share = window.stop()
    services_after = _service_cpu(database)
    if not result.clean:
        raise RuntimeError(f"{server.name} {path}: {result.non_2xx} non-2xx, errors")
    # Per backend: one that ended meanwhile (a pool's overflow connection) drops out rather
    # than subtracting its whole life; one that started counts from zero.
    services = sum(
        max(0.0, after - services_before.get(pid, 0.0)) for pid, after in services_after.items()
    )
    requests = max(result.requests, 1)
    return {
        "rps": result.requests_per_s,
        "p50": result.p50_ms,
        "p99": result.p99_ms,
        "server_ms": share.server * share.seconds * 1000 / requests,
        "db_ms": services * 1000 / requests,
        "other_cores": share.other,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twin-python", help="python of the twin's venv (required)")
    parser.add_argument("--twin-dir", type=Path, default=DEFAULT_TWIN_DIR)
    parser.add_argument("--async-twin", action="store_true", help="app.py instead of app_sync")
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--inner", choices=("prepare",), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        print(json.dumps(inner_prepare(args.products, args.seed)))
        return
    if not args.twin_python:
        parser.error("--twin-python is required")
    if not deployments.scale_out_reachable():
        raise SystemExit("PostgreSQL and Redis must answer on 127.0.0.1")

    info = machine.describe()
    print(machine.render(info), flush=True)
    print(f"load average at start: {load_average()}", flush=True)
    twin_module = "app:app" if args.async_twin else "app_sync:app"
    rows, ratios = [], {name: [] for name in URLS}
    with (
        tempfile.TemporaryDirectory(prefix="shelfwatch-product-reads-") as tmp,
        deployments.scale_out(Path(tmp), **HIGH_LIMITS) as deployment,
    ):
        print(f"loading {args.products:,} products", flush=True)
        common = ["--products", str(args.products), "--seed", str(args.seed)]
        prepared, _ = run_inner(__file__, deployment.env, "prepare", *common)
        urls = {name: url.format(**prepared) for name, url in URLS.items()}
        database = deployment.database or ""
        twin_env = clean_env(
            {
                "PYTHONPATH": str(args.twin_dir),
                "TWIN_DATABASE_URL": "postgresql+psycopg://"
                f"{deployments.PG_USER}@{deployments.PG_HOST}:{deployments.PG_PORT}/{database}",
            }
        )
        granian = Path(args.twin_python).parent / "granian"
        ours_port, twin_port = free_port(), free_port()
        ours_argv = [SHELFWATCH, "web", "--host", "127.0.0.1", "--port", str(ours_port)]
        ours_argv += ["--workers", "1", "--threads", "4"]
        twin_argv = [granian, "--interface", "asgi", "--workers", "1", "--host"]
        twin_argv += ["127.0.0.1", "--port", str(twin_port), "--no-ws", twin_module]
        logs = Path(tmp) / "logs"
        with (
            running("ours", ours_argv, env=deployment.env, port=ours_port, log_dir=logs,
                    probe=http_probe("/health")) as ours,
            running("twin", twin_argv, env=twin_env, port=twin_port, log_dir=logs,
                    probe=http_probe(urls["product page"])) as twin,
        ):  # fmt: skip
            for server in (ours, twin):  # warm both: connections, caches
                for url in urls.values():
                    loadgen.run_wrk(
                        server.url(url), seconds=2, connections=args.connections, threads=2
                    )
            for index in range(args.rounds):
                for name, url in urls.items():
                    order = (ours, twin) if index % 2 == 0 else (twin, ours)
                    got = {}
                    for server in order:
                        got[server.name] = measure(
                            server,
                            url,
                            seconds=args.seconds,
                            connections=args.connections,
                            database=database,
                        )
                    ratio = got["ours"]["rps"] / got["twin"]["rps"]
                    ratios[name].append(ratio)
                    for side in ("ours", "twin"):
                        m = got[side]
                        rows.append([
                            str(index + 1), name, side, f"{m['rps']:,.0f}",
                            f"{m['p50']:.1f}", f"{m['p99']:.1f}", f"{m['server_ms']:.3f}",
                            f"{m['db_ms']:.3f}", f"{m['other_cores']:.2f}",
                        ])  # fmt: skip
                    print(
                        f"  round {index + 1} {name:<14} ours {got['ours']['rps']:7,.0f}/s"
                        f" {got['ours']['server_ms']:.3f}+{got['ours']['db_ms']:.3f} ms"
                        f"  twin {got['twin']['rps']:7,.0f}/s"
                        f" {got['twin']['server_ms']:.3f}+{got['twin']['db_ms']:.3f} ms"
                        f"  ratio {ratio:.2f}",
                        flush=True,
                    )
    print(f"\nload average at end: {load_average()}")
    twin_name = "async" if args.async_twin else "sync"
    print(
        f"\n{args.connections} connections, {args.seconds:g} s per run, {args.products:,} "
        f"products, twin: FastAPI {twin_name}, {info['date']}, {info['cpus']}\n"
    )
    header = ["round", "read", "server", "req/s", "p50 ms", "p99 ms", "server CPU ms/req"]
    header += ["db+redis CPU ms/req", "other cores"]
    print(render_table(header, rows))
    print()
    summary = [
        [name, f"{statistics.median(v):.2f}", f"{min(v):.2f} - {max(v):.2f}", ">= 1.5"]
        for name, v in ratios.items()
    ]
    print(render_table(["read", "median ratio ours / twin", "min - max", "target"], summary))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
