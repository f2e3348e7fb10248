"""CPU per flash-sale request inside one process: add-to-cart and checkout, no HTTP server.

Run from the repository root (PostgreSQL + Redis must answer on 127.0.0.1; the same
BENCH_PG_DATABASE / BENCH_REDIS_URL as the other benchmarks choose where):

    .venv/bin/python bench/flash_request_cpu.py [--customers 20] [--rounds 5] [--profile 25]

A fresh PostgreSQL + Redis deployment (see deployments.py) gets the flash-sale set-up of
flash_sale_checkout.py; then, in one process and one thread, each customer in turn adds
one sale unit (`POST /api/v1/cart/lines`) and checks out (`POST /api/v1/checkout`) through
Django's test client (the whole middleware and Ninja stack, the WSGI server excepted),
`rounds` times. Printed: the thread's CPU time per request (median and mean, ms), which
holds on a loaded machine where wall time does not, since it is what this thread ran;
the whole process's CPU per request (every thread, so work done after the response by a
background thread counts too); and with `--profile N`, the N functions with the most
cumulative CPU time over the measured requests (cProfile with a CPU-time clock). A warm-up
round is not counted.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import deployments
import machine
from inner_process import setup_django
from servers import REPO_DIR


def inner(customers: int, rounds: int, profile: int) -> dict:
    setup_django()
    from django.test import Client
    from flash_sale_checkout import inner_prepare

    # Enough units and per-customer room that every measured add is a held sale unit.
    units = customers * (rounds + 1)
    ids = inner_prepare(customers, units)
    target = {
        "store_id": ids["store_id"],
        "product_id": ids["product_id"],
        "flash_sale_id": ids["sale_id"],
        "quantity": 1,
    }
    body = json.dumps(target)
    clients = [
        Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
        for token in ids["tokens"]
    ]
    times: dict[str, list[float]] = {"add": [], "checkout": []}
    profiler = cProfile.Profile(time.thread_time) if profile else None

    def one(client: Client, n: int, kind: str, measured: bool) -> None:
        started = time.thread_time()
        if kind == "add":
            response = client.post("/api/v1/cart/lines", body, content_type="application/json")
            expected = 201
        else:
            response = client.post(
                "/api/v1/checkout", "{}", content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"k{n}-{time.monotonic_ns()}",
            )  # fmt: skip
            expected = 201
        spent = time.thread_time() - started
        if response.status_code != expected:
            raise SystemExit(f"{kind}: {response.status_code} {response.content[:300]!r}")
        if kind == "add" and response.json()["stores"][0]["lines"][0]["price_kind"] == "regular":
            raise SystemExit("add: the sale unit was not held")
        if measured:
            times[kind].append(spent * 1000)

    process_started = 0.0
    for rnd in range(rounds + 1):
        measured = rnd > 0
        if rnd == 1:
            process_started = time.process_time()
        for n, client in enumerate(clients):
            for kind in ("add", "checkout"):
                if profiler is not None and measured:
                    profiler.enable()
                one(client, n, kind, measured)
                if profiler is not None and measured:
                    profiler.disable()
    # Every thread of the process: work a request leaves to another thread counts too.
    process_spent = time.process_time() - process_started
    out: dict = {
        kind: {
            "requests": len(values),
            "median_ms": statistics.median(values),
            "mean_ms": statistics.fmean(values),
        }
        for kind, values in times.items()
    }
    out["process"] = {
        "requests": sum(len(values) for values in times.values()),
        "ms_per_request": process_spent * 1000 / max(1, sum(len(v) for v in times.values())),
    }
    if profiler is not None:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("cumulative").print_stats(profile)
        stats.sort_stats("tottime").print_stats(profile)
        out["profile"] = text.getvalue()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(inner(args.customers, args.rounds, args.profile)))
        return
    print(machine.render(machine.describe()), flush=True)
    print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="shelfwatch-flash-cpu-") as tmp,
        deployments.scale_out(Path(tmp)) as deployment,
    ):
        done = subprocess.run(
            [sys.executable, __file__, "--inner", "--customers", str(args.customers),
             "--rounds", str(args.rounds), "--profile", str(args.profile)],
            env=deployment.env, cwd=REPO_DIR, capture_output=True, text=True,
        )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(done.stdout[-2000:] + done.stderr[-4000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "profile" in result:
        print(result.pop("profile"))
    process = result.pop("process")
    print(
        f"whole process (every thread): {process['requests']} "
        f"requests, CPU per request {process['ms_per_request']:.2f} ms on average"
    )
    for kind, figures in result.items():
        print(
            f"{kind}: {figures['requests']} requests, CPU per request "
            f"median {figures['median_ms']:.2f} ms, mean {figures['mean_ms']:.2f} ms"
        )
    print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)


if __name__ == "__main__":
    main()
