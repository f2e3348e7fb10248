"""A data feed served by `shelfwatch web` beside a careful Flask user's `send_file` of the
same precompressed snapshot (the twin in ../shared/twins/flask_feed, `/fetch-data-file`).

    .venv/bin/python bench/feeds_vs_flask.py [--orders 30000] [--rounds 4] [--twins DIR]
        [--write-results]

One data directory (SQLite) holds the orders and the `orders` feed's snapshot; the twin is
given the same bytes (its `data_cache.json.gz` is our stored file, its `data_cache.json`
that file decompressed). Both run under granian with one worker and 4 threads. Per round,
in alternating order, each side gets: sequential gzip downloads on fresh connections (time
to first byte and full transfer), If-None-Match revalidations answered 304 on fresh
connections and on one keep-alive connection, each with the CPU seconds the server's
process tree used per request. Medians over rounds; ours / twin beside them.
`--write-results` puts the printed report in its section of bench/RESULTS.md.

The twin's virtual environment (flask, flask-compress and the granian we run) is made in
var/twin-venvs/flask on first use.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import machine
from cpuload import _cpu_seconds
from feeds_orders import build_orders, keep_alive_times, request, setup_django, timed_refresh
from http_baseline import granian_wsgi_argv
from results_file import write_section
from servers import (
    REPO_DIR,
    Server,
    clean_env,
    free_port,
    http_probe,
    process_tree,
    running,
    web_argv,
)

THREADS = 4
TWIN_PATH = "/fetch-data-file"
FEED_PATH = "/api/v1/feeds/orders"
TWIN_KEY = "twin-key-for-the-bench"


def twin_python(venvs: Path) -> Path:
    """The Flask twin's interpreter, its environment made on first use."""
    home = venvs / "flask"
    python = home / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
        wanted = ["flask", "flask-compress", f"granian=={version('granian')}"]
        subprocess.run([str(python), "-m", "pip", "install", "-q", *wanted], check=True)
    return python


def build(data_dir: str, orders: int) -> tuple[str, str, Path, str]:
    """Orders, the `orders` feed's snapshot and an API key; (key, etag, stored gzip file,
    a line describing the snapshot)."""
    setup_django(data_dir)
    from django.db import connection

    from shelfwatch.accounts.api_keys import create_api_key
    from shelfwatch.accounts.models import User
    from shelfwatch.feeds.datasets import create_dataset, grant_read
    from shelfwatch.feeds.storage import open_snapshot

    build_orders(orders)
    admin = User.objects.create_superuser(email="bench@example.com", password="x" * 20)
    dataset = create_dataset(
        name="orders", source_kind="internal", source_config={"table": "orders"}, owner=admin
    )
    _, run = timed_refresh(dataset)
    snapshot = run.snapshot
    created = create_api_key(user=admin, name="bench", scopes=["read"])
    grant_read(api_key=created.key, dataset=dataset)
    stored = Path(data_dir) / "twin" / "data_cache.json.gz"
    stored.parent.mkdir()
    with open_snapshot("orders", snapshot.file_name) as src, stored.open("wb") as out:
        shutil.copyfileobj(src, out)
    with gzip.open(stored) as src, stored.with_suffix("").open("wb") as out:
        shutil.copyfileobj(src, out)
    described = (
        f"snapshot: {snapshot.record_count:,} orders, {snapshot.raw_bytes / 1e6:.1f} MB JSON, "
        f"{snapshot.stored_bytes / 1e6:.1f} MB gzip"
    )
    connection.close()
    return created.raw, snapshot.etag, stored, described


def cpu_of(server: Server) -> float:
    return _cpu_seconds(process_tree(server.proc.pid))


def measured(server: Server, work: Callable[[], list], count: int) -> tuple[list, float]:
    """`work()`'s samples and the server's CPU milliseconds per request meanwhile."""
    before = cpu_of(server)
    samples = work()
    return samples, (cpu_of(server) - before) / count * 1000


def one_side(server: Server, path: str, headers: dict, etag_header: str, n: int) -> dict:
    gz = {**headers, "Accept-Encoding": "gzip"}
    downloads, dl_cpu = measured(
        server, lambda: [request(server.port, path, gz) for _ in range(n)], n
    )
    assert {s[2] for s in downloads} == {200}, {s[2] for s in downloads}
    conditional = {**gz, "If-None-Match": etag_header}
    fresh, fresh_cpu = measured(
        server, lambda: [request(server.port, path, conditional) for _ in range(n * 10)], n * 10
    )
    assert {s[2] for s in fresh} == {304}, {s[2] for s in fresh}
    kept, kept_cpu = measured(
        server, lambda: keep_alive_times(server.port, path, conditional, n * 25), n * 25
    )
    return {
        "ttfb": statistics.median(s[0] for s in downloads) * 1000,
        "download": statistics.median(s[1] for s in downloads) * 1000,
        "download_cpu": dl_cpu,
        "bytes": downloads[0][3],
        "304_fresh": statistics.median(s[1] for s in fresh) * 1000,
        "304_fresh_cpu": fresh_cpu,
        "304_kept": statistics.median(kept) * 1000,
        "304_kept_cpu": kept_cpu,
    }


ROWS = (
    ("gzip download, TTFB p50 ms", "ttfb"),
    ("gzip download, full p50 ms", "download"),
    ("gzip download, server CPU ms", "download_cpu"),
    ("304, new connection, p50 ms", "304_fresh"),
    ("304, new connection, server CPU ms", "304_fresh_cpu"),
    ("304, keep-alive, p50 ms", "304_kept"),
    ("304, keep-alive, server CPU ms", "304_kept_cpu"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=40, help="downloads per round and side")
    parser.add_argument("--twins", default=str(REPO_DIR.parent / "shared" / "twins"))
    parser.add_argument("--venvs", default=str(REPO_DIR / "var" / "twin-venvs"))
    parser.add_argument("--write-results", action="store_true", help="refresh bench/RESULTS.md")
    args = parser.parse_args()
    twin_dir = Path(args.twins) / "flask_feed"
    if not (twin_dir / "app.py").exists():
        sys.exit(f"no Flask twin in {twin_dir} (use --twins)")
    report: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        report.append(line)

    say("Feed downloads: `shelfwatch web` beside the Flask `send_file` twin")
    say()
    say("```")
    say(machine.render(machine.describe()))
    say(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    say("```")
    python = twin_python(Path(args.venvs))
    workdir = Path(tempfile.mkdtemp(prefix="feeds-vs-flask-"))
    try:
        data_dir = str(workdir / "data")
        key, etag, stored, described = build(data_dir, args.orders)
        say(described)
        ours_env = clean_env({"DATA_DIR": data_dir, "THROTTLE_ENABLED": "0"})
        ours_env |= {"SECURE_SSL_REDIRECT": "0", "LOG_LEVEL": "WARNING"}
        twin_env = clean_env(
            {
                "PYTHONPATH": str(twin_dir),
                "TWIN_CACHE": str(stored.with_suffix("")),
                "TWIN_API_KEY": TWIN_KEY,
            }
        )
        twin_argv = granian_wsgi_argv("app:app", port := free_port(), THREADS)
        twin_argv[0] = str(python.parent / "granian")
        ours_port = free_port()
        auth = {"X-API-Key": key}
        results: dict[str, list[dict]] = {"ours": [], "twin": []}
        with (
            running(
                "twin",
                twin_argv,
                env=twin_env,
                port=port,
                log_dir=workdir,
                probe=http_probe("/health"),
            ) as twin,
            running(
                "ours",
                web_argv(ours_port, THREADS),
                env=ours_env,
                port=ours_port,
                log_dir=workdir,
                probe=http_probe("/health"),
            ) as ours,
        ):
            # The twin's tag is Werkzeug's, read from a first answer.
            twin_tag = request_etag(twin, {"X-API-Key": TWIN_KEY, "Accept-Encoding": "gzip"})
            sides = {
                "ours": (ours, FEED_PATH, auth, f'"{etag}-gzip"'),
                "twin": (twin, TWIN_PATH, {"X-API-Key": TWIN_KEY}, twin_tag),
            }
            for side in sides.values():  # warm up
                one_side(*side, 3)
            for index in range(args.rounds):
                order = ("ours", "twin") if index % 2 == 0 else ("twin", "ours")
                for name in order:
                    results[name].append(one_side(*sides[name], args.requests))
                print(f"round {index + 1}: done ({' then '.join(order)})", flush=True)
        for line in table(results):
            say(line)
        say(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.write_results:
            write_section("feeds_vs_flask", "\n".join(report))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def request_etag(server: Server, headers: dict) -> str:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", TWIN_PATH, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.getheader("ETag") or ""


def table(results: dict[str, list[dict]]) -> list[str]:
    """The report's lines: medians per measure, ours beside the twin's."""
    size = results["ours"][0]["bytes"]
    lines = []
    if size != results["twin"][0]["bytes"]:
        lines.append(f"warning: bodies differ: ours {size}, twin {results['twin'][0]['bytes']}")
    lines += [
        "",
        f"medians over {len(results['ours'])} rounds ({size / 1e6:.1f} MB gzip body):",
        "",
        "| measure | shelfwatch web | Flask send_file twin | ours / twin |",
        "| --- | --- | --- | --- |",
    ]
    for label, field in ROWS:
        ours = statistics.median(r[field] for r in results["ours"])
        twin = statistics.median(r[field] for r in results["twin"])
        lines.append(f"| {label} | {ours:.3f} | {twin:.3f} | {ours / twin:.2f} |")
    lines.append("")
    return lines


if __name__ == "__main__":
    main()
