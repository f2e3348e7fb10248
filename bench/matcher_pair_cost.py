"""The cost of scoring one prepared pair with the matcher of the `shelfwatch` package on the
path, to compare two versions of it on one machine.

Run from the repository root, once per version (alternate them: old, new, new, old):

    PYTHONPATH=src .venv/bin/python bench/matcher_pair_cost.py [--data DIR]

DIR (default tests/data/abt_buy) is a DeepMatcher-layout data set; its valid pairs are
prepared once with the data set's word statistics, then each is scored alone through
`similarity.score_many` (features, trees and the rules above them) twice over. Prints the
p50 and p99 in microseconds and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from shelfwatch.catalog.matcher_model import load_model
from shelfwatch.catalog.matcher_training import Benchmark
from shelfwatch.catalog.similarity import prepare, score_many

REPO = Path(__file__).resolve().parent.parent
WARM_UP = 200
PASSES = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO / "tests" / "data" / "abt_buy"))
    args = parser.parse_args()
    bench = Benchmark(Path(args.data))
    model = load_model()
    prepared = [
        (prepare(a, bench.stats), prepare(b, bench.stats)) for a, b, _ in bench.pairs("valid")
    ]
    for a, b in prepared[:WARM_UP]:
        score_many(a, [b], stats=bench.stats, model=model)
    times = []
    for _ in range(PASSES):
        for a, b in prepared:
            t0 = time.perf_counter()
            score_many(a, [b], stats=bench.stats, model=model)
            times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"model {model.version}: {len(times)} pairs scored, p50 {statistics.median(times):.1f} us,"
        f" p99 {p99:.1f} us, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
