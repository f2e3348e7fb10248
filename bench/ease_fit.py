"""Time and memory of the nightly EASE fit at the sizes RECOMMEND_EASE_MAX_ITEMS allows.

Run from the repository root:

    .venv/bin/python bench/ease_fit.py [--items 1000 2000 3000] [--baskets 200000]

A synthetic order history: baskets of 2-12 items drawn with Zipf-like popularity over
twice the largest item count, so the most bought N are a real cut. For each N it times the
Gram matrix (pair counts restricted to the N most bought), the inverse, and the per-item
lists the refresh stores (60 a product), and reports the peak of numpy's allocations
(tracemalloc) during the fit and the lists, and the process's peak resident size.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc

import machine
import numpy as np
from tables import render_table

from shelfwatch.recommend.ease import EaseFit, fit_gram, gram, most_bought
from shelfwatch.recommend.together import count_pairs


def _history(n_items: int, baskets: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1) ** 0.9
    p /= p.sum()
    sizes = rng.integers(2, 13, size=baskets)
    drawn = rng.choice(n_items, size=int(sizes.sum()), p=p)
    bounds = np.cumsum(sizes)[:-1]
    return [b.tolist() for b in np.split(drawn, bounds)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 2000, 3000])
    parser.add_argument("--baskets", type=int, default=200_000)
    parser.add_argument("--l2", type=float, default=100.0)
    args = parser.parse_args()

    info = machine.describe()
    info["load"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(machine.render(info))
    catalog = 2 * max(args.items)
    started = time.perf_counter()
    co = count_pairs(_history(catalog, args.baskets, seed=1), catalog)
    print(
        f"\n{args.baskets} baskets over {catalog} items, {len(co.anchors) // 2} pairs "
        f"counted in {time.perf_counter() - started:.1f} s"
    )

    rows = []
    for n in args.items:
        tracemalloc.start()
        t0 = time.perf_counter()
        items = most_bought(co, n)
        g = gram(co, items)
        t1 = time.perf_counter()
        fit = EaseFit(items=items, weights=fit_gram(g, l2=args.l2))
        del g
        t2 = time.perf_counter()
        lists = fit.lists(60)
        t3 = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append(
            [
                str(len(items)),
                f"{t1 - t0:.2f}",
                f"{t2 - t1:.2f}",
                f"{t3 - t2:.2f}",
                f"{peak / 2**20:.0f}",
                str(sum(len(v) for v in lists.values())),
            ]
        )
        del fit, lists
    print(f"\nEASE fit, l2={args.l2:g} (seconds; peak of traced allocations in MiB)")
    header = ["items", "gram s", "inverse s", "lists s", "peak MiB", "list rows"]
    print(render_table(header, rows))
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak resident size: {peak_rss:.0f} MiB")
    print("load at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
