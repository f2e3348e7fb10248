"""Shelfwatch's watcher side by side with changedetection.io, on the same pages from 127.0.0.1.

Run from the repository root (the first run also creates changedetection.io's own virtual
environment under var/, which takes a minute or two):

    .venv/bin/python bench/watch_vs_changedetection.py [--rounds 2] [--postgres]
        [--skip-slow] [--skip-cycle] [--skip-as-deployed]

Scenarios (each Shelfwatch run on a fresh, migrated deployment; SQLite unless --postgres, which
uses PostgreSQL + Redis as bench/deployments.py sets them up):

1. First poll of 1,000 product pages with schema.org JSON-LD (price, availability), one host,
   served by tests/fakes/fast_shops.py in its own process. Every page is fetched and parsed
   and its item created.
   - Shelfwatch, one jsonld source with the 1,000 URLs (`settings={"urls": [...]}`);
   - Shelfwatch, 1,000 jsonld sources of one URL each;
     both with the host's limits at max_concurrency=5, min_interval_ms=0, timed from
     `poller.claim_due_hosts` to the end of `poller.poll_hosts`, in one process;
   - changedetection.io, 1,000 watches with its restock processor (`restock_diff`), the
     plain requests fetcher and 5 fetch workers, driven by bench/cdio_driver.py in a
     separate virtual environment: timed from queueing every watch to the end of the last
     first check.
   Targets, as ratios within the same round: Shelfwatch >= 4x changedetection.io's checks/s
   and >= 5x its checks per CPU-second, for both Shelfwatch layouts.
2. A slow shop: 100 pages each answered 100 ms after the request (bench/slow_shop.py). The
   same three runs, 5 in flight. Target: Shelfwatch's wall time under 3 s.
3. One full poll cycle of 10,000 items on 100 hosts (bench/watch_poll_cycle.py's fake and
   sources: half Shopify storefronts, half JSON-LD shops found through their sitemap) with the
   Host defaults untouched (min_interval_ms=500, max_concurrency=2). Target: under 60 s.
   - all 100 hosts polled side by side (`--cycle-threads`, 100: one thread per host);
   - as a default deployment runs it: the dispatcher's batches of WATCH_HOSTS_PER_TASK hosts
     polled one batch after the other with WATCH_POLL_THREADS threads each, as one task
     worker (`serve`'s default) does them (skip with --skip-as-deployed: it takes minutes).

In each round the two systems take turns going first. Before each run the machine is waited
on to go quiet (up to 30 s). CPU is `getrusage` of the process doing the checks, over the
timed part only (all its threads; for changedetection.io also its reaped children); the fake
servers are separate processes and are not counted. "other cores" is what the rest of the
machine used meanwhile (the fake server included), averaged over the whole subprocess.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cpuload
import deployments
import machine
from inner_process import run_inner, setup_django
from servers import BENCH_DIR, REPO_DIR
from tables import render_table

CDIO_PACKAGE = "changedetection.io"
CDIO_VERSION = "0.60.10"
CDIO_DRIVER = BENCH_DIR / "cdio_driver.py"
IN_FLIGHT = 5
RUN_TIMEOUT = 1800


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- Shelfwatch's side, in a subprocess with a deployment's environment ----------------------


def inner_prepare_pages(urls: list[str], layout: str, concurrency: int, interval_ms: int) -> dict:
    from shelfwatch.watch.models import Host
    from shelfwatch.watch.sources import create_source

    if layout == "one":
        base = urls[0].split("/p/", 1)[0]
        create_source(name="Pages", kind="jsonld", base_url=base, settings={"urls": urls})
    else:
        for n, url in enumerate(urls):
            create_source(name=f"Page {n}", kind="jsonld", base_url=url, settings={"urls": [url]})
    Host.objects.update(min_interval_ms=interval_ms, max_concurrency=concurrency)
    return {"sources": len(urls) if layout == "each" else 1}


def inner_prepare_cycle(hosts: list[dict]) -> dict:
    """watch_poll_cycle's sources, with the Host limits left at the model's defaults."""
    import watch_poll_cycle

    from shelfwatch.watch.models import Host

    interval = Host._meta.get_field("min_interval_ms").default
    concurrency = Host._meta.get_field("max_concurrency").default
    result = watch_poll_cycle.inner_prepare(hosts, interval, concurrency)
    limits = sorted(set(Host.objects.values_list("min_interval_ms", "max_concurrency")))
    return {**result, "limits": limits}


def inner_poll(threads: int, batch: int) -> dict:
    """Everything due now, claimed and polled; timed. With `batch`, the claimed hosts are
    polled `batch` at a time, one batch after the other (one task worker's way)."""
    from django.utils import timezone

    from shelfwatch.watch import poller
    from shelfwatch.watch.models import Source, WatchedItem

    Source.objects.update(next_run_at=timezone.now())
    started, cpu = time.perf_counter(), _cpu_seconds()
    token, hosts = poller.claim_due_hosts(limit=10_000)
    size = batch or max(1, len(hosts))
    outcomes = []
    for at in range(0, len(hosts), size):
        outcomes += poller.poll_hosts(hosts[at : at + size], token, threads=threads)
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    items = WatchedItem.objects.filter(is_gone=False)
    return {
        "wall": round(wall, 3),
        "cpu": round(cpu, 3),
        "hosts": len(hosts),
        "sources": len(outcomes),
        "failed": sum(1 for o in outcomes if not o.ok),
        "failures": sorted({o.code for o in outcomes if not o.ok}),
        "requests": sum(o.requests for o in outcomes),
        "checks": items.count(),
        "with_price": items.filter(price__isnull=False).count(),
        "with_stock": items.filter(available__isnull=False).count(),
    }


# -- the fakes ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _fake(argv: list[str]) -> Iterator[dict]:
    """A fake shop process (stops when its stdin closes); yields its startup document."""
    process = subprocess.Popen(
        [sys.executable, *argv, "--port", "0", "--stop-on-stdin-eof"],
        cwd=REPO_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _page_urls(info: dict) -> list[str]:
    with urllib.request.urlopen(f"{info['control']}/items", timeout=30) as response:
        return [item["url"] for item in json.loads(response.read())["items"]]


# -- changedetection.io's side -----------------------------------------------------------------


def cdio_python(venv: Path) -> Path:
    """The Python of a virtual environment with changedetection.io CDIO_VERSION, made (and
    the package installed) when missing."""
    python = venv / "bin" / "python"
    probe = [
        str(python),
        "-c",
        f"import importlib.metadata as m; print(m.version({CDIO_PACKAGE!r}))",
    ]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip() == CDIO_VERSION:
            return python
    print(f"installing {CDIO_PACKAGE}=={CDIO_VERSION} into {venv} ...", flush=True)
    base = shutil.which("python3") or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"{CDIO_PACKAGE}=={CDIO_VERSION}"],
        check=True,
    )
    subprocess.run(probe, check=True, capture_output=True)
    return python


def run_cdio(python: Path, urls: list[str], workdir: Path, fake_pid: int) -> dict:
    urls_file = workdir / "cdio-urls.json"
    urls_file.write_text(json.dumps(urls))
    datastore = Path(tempfile.mkdtemp(prefix="cdio-datastore-", dir=workdir))
    busy, own, fake = cpuload._busy_seconds(), _children_seconds(), _fake_seconds(fake_pid)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [
                str(python),
                str(CDIO_DRIVER),
                "--urls-file",
                str(urls_file),
                "--workers",
                str(IN_FLIGHT),
                "--datastore",
                str(datastore),
            ],
            cwd=workdir,
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
            stdout=subprocess.PIPE,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    finally:
        shutil.rmtree(datastore, ignore_errors=True)
    span = max(time.monotonic() - started, 1e-6)
    if done.returncode != 0:
        raise RuntimeError(f"cdio_driver.py exited {done.returncode}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    whole = _children_seconds() - own
    fake_used = _fake_seconds(fake_pid) - fake
    other = max(0.0, cpuload._busy_seconds() - busy - whole - fake_used)
    result["cpu"] = round(result["cpu_self"] + result["cpu_children"], 3)
    result["fake_cores"] = fake_used / span
    result["other_cores"] = other / span
    return result


def _fake_seconds(pid: int) -> float:
    return cpuload._cpu_seconds([pid])


def run_shelfwatch(deploy, workdir: Path, prepare: list[str], poll: list[str], fake_pid: int):
    with deploy(workdir) as deployment:
        env = deployment.with_env(OUTBOUND_ALLOWED_NETWORKS="127.0.0.0/8")
        prepared, _ = run_inner(__file__, env, *prepare, database=deployment.database)
        cpuload.wait_for_quiet(max_wait=30)
        fake = _fake_seconds(fake_pid)
        result, share = run_inner(__file__, env, *poll, database=deployment.database)
        fake_cores = (_fake_seconds(fake_pid) - fake) / share.seconds
        result["prepared"] = prepared
        result["services_cores"] = share.services
        result["fake_cores"] = fake_cores
        result["other_cores"] = max(0.0, share.other - fake_cores)
        result["deployment"] = deployment.name
        return result


# -- the outer process ------------------------------------------------------------------------


def _row(system: str, scenario: str, round_: str, r: dict) -> list[str]:
    wall, cpu = max(r["wall"], 1e-6), max(r["cpu"], 1e-6)
    failed = r.get("failed", r.get("errors", 0))
    return [
        system,
        scenario,
        round_,
        f"{r['checks']:,}",
        f"{r['wall']:.2f}",
        f"{r['checks'] / wall:,.0f}",
        f"{r['cpu']:.2f}",
        f"{r['checks'] / cpu:,.0f}",
        f"{r.get('with_price', 0):,}",
        f"{failed}",
        f"{r.get('other_cores', 0.0):.2f}",
    ]


def _rate(r: dict) -> tuple[float, float]:
    return r["checks"] / max(r["wall"], 1e-6), r["checks"] / max(r["cpu"], 1e-6)


def compare(
    args: argparse.Namespace,
    deploy,
    workdir: Path,
    cdio: Path,
    fake_argv: list[str],
    label: str,
    rows: list,
    ratios: list,
    walls: dict,
) -> None:
    """Rounds of the two Shelfwatch layouts and changedetection.io on one fake's pages."""
    with _fake(fake_argv) as info:
        urls = _page_urls(info)
        pid = info["pid"]
        urls_file = workdir / f"urls-{label}.json"
        urls_file.write_text(json.dumps(urls))
        for number in range(args.rounds):
            order = ("shelfwatch", "cdio") if number % 2 == 0 else ("cdio", "shelfwatch")
            got: dict[str, dict] = {}
            for system in order:
                if system == "cdio":
                    cpuload.wait_for_quiet(max_wait=30)
                    got["cdio"] = run_cdio(cdio, urls, workdir, pid)
                    print(label, number + 1, "changedetection.io", json.dumps(got["cdio"]))
                    continue
                for layout in ("one", "each"):
                    prepare = [
                        "prepare-pages",
                        "--urls-file",
                        str(urls_file),
                        "--layout",
                        layout,
                        "--concurrency",
                        str(IN_FLIGHT),
                        "--interval-ms",
                        "0",
                    ]
                    poll = ["poll", "--threads", "1"]
                    got[layout] = run_shelfwatch(deploy, workdir, prepare, poll, pid)
                    print(label, number + 1, "Shelfwatch", layout, json.dumps(got[layout]))
                sys.stdout.flush()
            round_ = f"{number + 1} ({'Shelfwatch' if order[0] == 'shelfwatch' else 'cdio'} first)"
            names = {
                "one": f"Shelfwatch, 1 source of {len(urls):,} URLs",
                "each": f"Shelfwatch, {len(urls):,} sources",
            }
            for key in ("one", "each"):
                rows.append(_row(names[key], label, round_, got[key]))
                walls.setdefault((label, key), []).append(got[key]["wall"])
            rows.append(_row(f"changedetection.io {CDIO_VERSION}", label, round_, got["cdio"]))
            cdio_rate, cdio_per_cpu = _rate(got["cdio"])
            for key in ("one", "each"):
                rate, per_cpu = _rate(got[key])
                ratios.append(
                    [label, round_, names[key], rate / cdio_rate, per_cpu / max(cdio_per_cpu, 1e-9)]
                )


def cycle(
    args: argparse.Namespace, deploy, workdir: Path, rows: list, walls: dict
) -> list[tuple[str, dict]]:
    import watch_poll_cycle

    done = []
    fake, info = watch_poll_cycle._fake(args.cycle_hosts, args.cycle_items)
    try:
        hosts_file = workdir / "cycle-hosts.json"
        hosts_file.write_text(json.dumps(info["hosts"]))
        variants = [("side by side", ["--threads", str(args.cycle_threads), "--batch", "0"])]
        if not args.skip_as_deployed:
            variants.append(
                (
                    f"{args.hosts_per_task} hosts per task, one task at a time",
                    ["--threads", str(args.poll_threads), "--batch", str(args.hosts_per_task)],
                )
            )
        label = f"3 cycle {args.cycle_items:,} items / {args.cycle_hosts} hosts"
        for name, poll in variants:
            result = run_shelfwatch(
                deploy,
                workdir,
                ["prepare-cycle", "--hosts-json", str(hosts_file)],
                ["poll", *poll],
                info["pid"],
            )
            print(label, name, json.dumps(result), flush=True)
            rows.append(_row(f"Shelfwatch, {name}", label, "1", result))
            walls.setdefault(("cycle", name), []).append(result["wall"])
            done.append((name, result))
    finally:
        fake.stdin.close()
        fake.wait(timeout=30)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--slow-pages", type=int, default=100)
    parser.add_argument("--slow-delay-ms", type=float, default=100.0)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis, not SQLite")
    parser.add_argument("--skip-first-poll", action="store_true")
    parser.add_argument("--skip-slow", action="store_true")
    parser.add_argument("--skip-cycle", action="store_true")
    parser.add_argument("--skip-as-deployed", action="store_true")
    parser.add_argument("--cycle-hosts", type=int, default=100)
    parser.add_argument("--cycle-items", type=int, default=10_000)
    parser.add_argument("--cycle-threads", type=int, default=100)
    parser.add_argument("--hosts-per-task", type=int, default=128, help="WATCH_HOSTS_PER_TASK")
    parser.add_argument("--poll-threads", type=int, default=128, help="WATCH_POLL_THREADS")
    parser.add_argument(
        "--cdio-venv",
        type=Path,
        default=REPO_DIR / "var" / f"bench-cdio-{CDIO_VERSION}",
        help="changedetection.io's virtual environment (made when missing)",
    )
    inner = parser.add_argument_group("inner (the measured subprocess)")
    inner.add_argument(
        "--inner", choices=("prepare-pages", "prepare-cycle", "poll"), help=argparse.SUPPRESS
    )
    inner.add_argument("--urls-file", default="", help=argparse.SUPPRESS)
    inner.add_argument("--hosts-json", default="", help=argparse.SUPPRESS)
    inner.add_argument("--layout", choices=("one", "each"), default="one", help=argparse.SUPPRESS)
    inner.add_argument("--concurrency", type=int, default=IN_FLIGHT, help=argparse.SUPPRESS)
    inner.add_argument("--interval-ms", type=int, default=0, help=argparse.SUPPRESS)
    inner.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    inner.add_argument("--batch", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        if args.inner == "prepare-pages":
            urls = json.loads(Path(args.urls_file).read_text())
            result = inner_prepare_pages(urls, args.layout, args.concurrency, args.interval_ms)
        elif args.inner == "prepare-cycle":
            result = inner_prepare_cycle(json.loads(Path(args.hosts_json).read_text()))
        else:
            result = inner_poll(args.threads, args.batch)
        print(json.dumps(result))
        return

    info = machine.describe()
    info["changedetection.io"] = CDIO_VERSION
    print(machine.render(info), flush=True)
    if args.postgres and not deployments.scale_out_reachable():
        raise SystemExit("--postgres: PostgreSQL and Redis do not both answer on 127.0.0.1")
    deploy = deployments.scale_out if args.postgres else deployments.embedded
    print(f"load before: {cpuload.wait_for_quiet(max_wait=30):.2f} cores busy", flush=True)
    rows: list[list[str]] = []
    ratios: list[list] = []
    walls: dict = {}
    cycles: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="shelfwatch-vs-cdio-") as tmp:
        workdir = Path(tmp)
        needs_cdio = not (args.skip_first_poll and args.skip_slow)
        cdio = cdio_python(args.cdio_venv) if needs_cdio else Path()
        if not args.skip_first_poll:
            fake = ["-m", "tests.fakes.fast_shops", "--hosts", "1", "--items", str(args.pages)]
            fake += ["--mix", "jsonld=1"]
            label = f"1 first poll, {args.pages:,} pages"
            compare(args, deploy, workdir, cdio, fake, label, rows, ratios, walls)
        if not args.skip_slow:
            fake = [str(BENCH_DIR / "slow_shop.py"), "--hosts", "1"]
            fake += ["--items", str(args.slow_pages), "--delay-ms", str(args.slow_delay_ms)]
            label = f"2 slow shop, {args.slow_pages} pages x {args.slow_delay_ms:.0f} ms"
            compare(args, deploy, workdir, cdio, fake, label, rows, ratios, walls)
        if not args.skip_cycle:
            cycles = cycle(args, deploy, workdir, rows, walls)

    where = "PostgreSQL + Redis" if args.postgres else "SQLite"
    print()
    print(f"Shelfwatch on {where}; {IN_FLIGHT} requests in flight per system in scenarios 1-2.")
    print()
    print(
        render_table(
            [
                "system",
                "scenario",
                "round",
                "checks",
                "wall s",
                "checks/s",
                "CPU s",
                "checks per CPU-s",
                "with price",
                "failed",
                "other cores",
            ],
            rows,
        )
    )
    if ratios:
        print()
        table = []
        for label, round_, name, rate, per_cpu in ratios:
            first = label.startswith("1 ")
            met = "yes" if rate >= 4 and per_cpu >= 5 else "NO"
            table.append(
                [
                    label,
                    round_,
                    name,
                    f"{rate:.2f}",
                    f"{per_cpu:.2f}",
                    ">= 4 / >= 5" if first else "-",
                    met if first else "-",
                ]
            )
        print(
            render_table(
                [
                    "scenario",
                    "round",
                    "÷ changedetection.io",
                    "checks/s ratio",
                    "checks per CPU-s ratio",
                    "target",
                    "met",
                ],
                table,
            )
        )
    targets = []
    for (label, key), values in walls.items():
        if label.startswith("2 "):
            worst = max(values)
            name = "1 source" if key == "one" else f"{args.slow_pages} sources"
            targets.append(
                [f"slow shop, Shelfwatch {name}", _walls(values), "< 3 s", _met(worst < 3)]
            )
        if label == "cycle":
            targets.append([f"cycle, {key}", _walls(values), "< 60 s", _met(max(values) < 60)])
    if targets:
        print()
        print(render_table(["wall time", "s (each round)", "target", "met"], targets))
    for name, result in cycles:
        print(
            f"cycle {name}: Host limits (min_interval_ms, max_concurrency) "
            f"{result['prepared'].get('limits')}, {result['requests']:,} requests, "
            f"{result['sources']} sources, failed {result['failed']} {result['failures']}"
        )


def _walls(values: list[float]) -> str:
    shown = " / ".join(f"{v:.2f}" for v in values)
    return shown if len(values) == 1 else f"{shown} (median {statistics.median(values):.2f})"


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


if __name__ == "__main__":
    main()
