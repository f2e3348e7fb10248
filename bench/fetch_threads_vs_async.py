"""Fetching a shop's pages 5 at a time: threads with httpx's sync client (what the poller
does) against asyncio with httpx's async client, CPU per request in the same run.

Run from the repository root:

    .venv/bin/python bench/fetch_threads_vs_async.py [--pages 1000] [--concurrency 5]
        [--rounds 3]

Both sides fetch the same pages of one fast fake host (tests/fakes/fast_shops.py, its own
process) over keep-alive connections, the bodies read whole; nothing is parsed. Rounds
alternate which side goes first. CPU is getrusage of this process over each side's run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def with_threads(urls: list[str], concurrency: int) -> int:
    limits = httpx.Limits(max_connections=concurrency)
    with httpx.Client(limits=limits) as client:

        def get(url: str) -> int:
            return len(client.get(url).content)

        with ThreadPoolExecutor(concurrency) as pool:
            return sum(pool.map(get, urls))


def with_asyncio(urls: list[str], concurrency: int) -> int:
    async def run() -> int:
        limits = httpx.Limits(max_connections=concurrency)
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(limits=limits) as client:

            async def get(url: str) -> int:
                async with gate:
                    return len((await client.get(url)).content)

            return sum(await asyncio.gather(*(get(url) for url in urls)))

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fast_shops", "--hosts", "1", "--items",
         str(args.pages), "--port", "0", "--mix", "jsonld=1", "--stop-on-stdin-eof"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        info = json.loads(fake.stdout.readline())
        with urllib.request.urlopen(info["control"] + "/items") as answer:
            urls = [item["url"] for item in json.load(answer)["items"]]
        sides = {"threads (httpx sync)": with_threads, "asyncio (httpx async)": with_asyncio}
        rows = []
        for round_no in range(1, args.rounds + 1):
            order = list(sides.items())
            if round_no % 2 == 0:
                order.reverse()
            for name, fetch in order:
                started, cpu = time.perf_counter(), _cpu()
                size = fetch(urls, args.concurrency)
                wall, cpu = time.perf_counter() - started, _cpu() - cpu
                rows.append((round_no, name, wall, cpu, size))
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        print(f"{args.pages} pages, {args.concurrency} in flight, {stamp}")
        print("| round | side | wall s | CPU s | CPU ms per request | requests/s |")
        print("| --- | --- | --- | --- | --- | --- |")
        for round_no, name, wall, cpu, _size in rows:
            print(
                f"| {round_no} | {name} | {wall:.2f} | {cpu:.2f} | "
                f"{cpu * 1000 / args.pages:.3f} | {args.pages / wall:,.0f} |"
            )
    finally:
        fake.stdin.close()
        fake.wait(10)


if __name__ == "__main__":
    main()
