"""One full poll cycle of 10,000 watched items on 100 shop hosts, with per-host limits on.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/watch_poll_cycle.py [--hosts 100] [--items 10000] [--threads 64]

A fast fake (tests/fakes/fast_shops.py, its own process) serves 100 hosts, 127.0.0.1 to
127.0.0.100: half Shopify storefronts (one products.json page per host), half shops with
one JSON-LD page per product (found through the sitemap). Each host is polled at most
`--concurrency` requests at a time, starting at least `--interval-ms` apart.

For each deployment: one source per host, then three timed cycles, each the work of the
dispatcher and one poll task (`poller.claim_due_hosts` + `poller.poll_hosts` with
`--threads` threads) in one process:
- baseline: the first poll of every source (every page fetched and parsed, items created);
- changed: after 5 % of the products changed availability or price (pages answer 200 or
  304 by ETag; the changes become events);
- unchanged: nothing changed (every page answers 304).
Reported: wall time of the cycle (target: under 60 s), checks (items verified) per CPU
second of the polling process, requests, 304s and events.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import cpuload
import deployments
import machine
from inner_process import run_inner, setup_django
from servers import REPO_DIR
from tables import render_table


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def inner_prepare(hosts: list[dict], interval_ms: int, concurrency: int) -> dict:
    from shelfwatch.watch.models import Host
    from shelfwatch.watch.sources import create_source

    for n, host in enumerate(hosts):
        base = host["base_url"]
        if host["kind"] == "shopify":
            create_source(name=f"Shop {n}", kind="shopify", base_url=base)
        else:
            create_source(
                name=f"Pages {n}",
                kind="jsonld",
                base_url=base,
                settings={"sitemap_url": f"{base}/sitemap.xml"},
            )
    Host.objects.update(min_interval_ms=interval_ms, max_concurrency=concurrency)
    return {"sources": len(hosts)}


def inner_cycle(threads: int) -> dict:
    from django.utils import timezone

    from shelfwatch.events.models import Event
    from shelfwatch.watch import poller
    from shelfwatch.watch.models import Source, WatchedItem

    Source.objects.update(next_run_at=timezone.now())
    events_before = Event.objects.count()
    started, cpu = time.perf_counter(), _cpu_seconds()
    token, hosts = poller.claim_due_hosts(limit=10_000)
    outcomes = poller.poll_hosts(hosts, token, threads=threads)
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    checks = WatchedItem.objects.filter(is_gone=False).count()
    return {
        "wall": round(wall, 2),
        "cpu": round(cpu, 2),
        "hosts": len(hosts),
        "sources": len(outcomes),
        "failed": sum(1 for o in outcomes if not o.ok),
        "failures": sorted({o.code for o in outcomes if not o.ok}),
        "requests": sum(o.requests for o in outcomes),
        "not_modified": sum(o.not_modified for o in outcomes),
        "items": checks,
        "events": Event.objects.count() - events_before,
    }


def _fake(hosts: int, items: int) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.fast_shops",
            "--hosts",
            str(hosts),
            "--items",
            str(items),
            "--port",
            "0",
            "--mix",
            "shopify=0.5,jsonld=0.5",
            "--stop-on-stdin-eof",
        ],
        cwd=REPO_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    info = json.loads(process.stdout.readline())
    return process, info


def _flip(info: dict, fraction: float) -> int:
    url = f"{info['control']}/flip?fraction={fraction}&price=1"
    request = urllib.request.Request(url, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return len(json.loads(response.read()).get("changes", []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--interval-ms", type=int, default=250)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--inner", choices=("prepare", "cycle"), help=argparse.SUPPRESS)
    parser.add_argument("--hosts-json", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        if args.inner == "prepare":
            hosts = json.loads(Path(args.hosts_json).read_text())
            result = inner_prepare(hosts, args.interval_ms, args.concurrency)
        else:
            result = inner_cycle(args.threads)
        print(json.dumps(result))
        return

    print(machine.render(machine.describe()), flush=True)
    rows = []
    fake, info = _fake(args.hosts, args.items)
    try:
        with tempfile.TemporaryDirectory(prefix="shelfwatch-poll-") as tmp:
            hosts_file = Path(tmp) / "hosts.json"
            hosts_file.write_text(json.dumps(info["hosts"]))
            picked = deployments.chosen(
                skip_embedded=args.skip_embedded, skip_scale_out=args.skip_scale_out
            )
            for deploy in picked:
                with deploy(Path(tmp)) as deployment:
                    env = deployment.with_env(OUTBOUND_ALLOWED_NETWORKS="127.0.0.0/8")
                    common = [
                        "--interval-ms",
                        str(args.interval_ms),
                        "--concurrency",
                        str(args.concurrency),
                        "--threads",
                        str(args.threads),
                    ]
                    run_inner(__file__, env, "prepare", *common, "--hosts-json", str(hosts_file))
                    for label in ("baseline", "changed", "unchanged"):
                        if label == "changed":
                            flipped = _flip(info, 0.05)
                            print(f"flipped {flipped} products", flush=True)
                        cpuload.wait_for_quiet(max_wait=30)
                        result, share = run_inner(__file__, env, "cycle", *common)
                        print(deployment.name, label, json.dumps(result), flush=True)
                        rows.append(
                            [
                                deployment.name,
                                label,
                                f"{result['wall']:.1f}",
                                f"{result['items'] / max(result['cpu'], 1e-6):,.0f}",
                                f"{result['cpu']:.1f}",
                                f"{result['requests']:,}",
                                f"{result['not_modified']:,}",
                                f"{result['events']:,}",
                                f"{result['failed']}",
                                f"{share.services:.2f} / {share.other:.2f}",
                            ]
                        )
    finally:
        fake.stdin.close()
        fake.wait(timeout=30)
    print()
    print(
        render_table(
            [
                "deployment",
                "cycle",
                "wall s",
                "checks per CPU-s",
                "poller CPU s",
                "requests",
                "304",
                "events",
                "failed sources",
                "DB+Redis / other cores",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
