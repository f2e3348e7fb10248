"""Quality of basket recommendations on real baskets: the groceries data set.

Run from the repository root:

    .venv/bin/python bench/recommend_quality.py [--data FILE] [--als]

FILE is one basket a line, items separated by commas (defaults to $GROCERIES_CSV or
../shared/datasets/groceries/groceries.csv). Protocol: a fixed-seed 80/20 split of the
baskets into train and test; a validation split carved from train (again 80/20, another
seed) chooses the shipped scorer's parameters, which are then refitted on all of train and
scored on test once. For each test basket of two or more items each item is hidden in turn
and 10 recommendations are asked for from the rest: hit rate @10 (the hidden item is among
them) and catalog coverage (share of the items that appear in any list). Every method
fills a short list from popularity, as the shop does.

Printed, for the same split in the same run: popularity, raw pair counts, the shipped
scorer (`recommend.together`, chosen on validation) and the variants tried, and, with
--als and the `implicit` package installed (the `bench` extra), implicit ALS. Pair-wise
against the shipped scorer: trials only it hit and trials only the other hit (a sign
test on those is the fair comparison when the hit rates are close).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import machine
import numpy as np
from tables import render_table

from shelfwatch.recommend.evaluation import Quality, evaluate, read_baskets, split
from shelfwatch.recommend.together import (
    DEFAULT_SCORING,
    RAW_COUNTS,
    CoOccurrence,
    Scoring,
    count_pairs,
)

SPLIT_SEED = 20261206
VALIDATION_SEED = 7
K = 10
GRID = [
    Scoring(alpha=alpha, shrink=shrink, min_support=support)
    for alpha in (0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
    for shrink, support in ((0.0, 2.0), (2.0, 2.0), (5.0, 3.0))
]


def _default_data() -> Path:
    here = Path(__file__).resolve().parent.parent
    return Path(
        os.environ.get("GROCERIES_CSV")
        or here.parent / "shared" / "datasets" / "groceries" / "groceries.csv"
    )


def _popular(co: CoOccurrence):
    order = co.popularity().tolist()

    def recommend(visible: list[int]) -> list[int]:
        held = set(visible)
        return [i for i in order if i not in held][:K]

    return recommend


def _pairs(co: CoOccurrence, scoring: Scoring):
    fallback = co.popularity()
    return lambda visible: co.recommend(visible, scoring, K, fallback=fallback)


def _als(train: list[list[int]], n_items: int, factors: int, regularization: float):
    from implicit.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix
    from threadpoolctl import threadpool_limits

    # implicit runs its own threads; BLAS threads on top of them only slow it down.
    threadpool_limits(1, "blas")

    rows = np.repeat(np.arange(len(train)), [len(b) for b in train])
    cols = np.concatenate([np.asarray(b) for b in train])
    matrix = csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(train), n_items))
    model = AlternatingLeastSquares(
        factors=factors, regularization=regularization, iterations=15, random_state=1
    )
    model.fit(matrix, show_progress=False)

    def recommend(visible: list[int]) -> list[int]:
        basket = csr_matrix(
            (np.ones(len(visible)), (np.zeros(len(visible), dtype=int), visible)),
            shape=(1, n_items),
        )
        ids, _ = model.recommend(
            0, basket, N=K, recalculate_user=True, filter_already_liked_items=True
        )
        return [int(i) for i in ids]

    return recommend


def _row(name: str, q: Quality, shipped: Quality | None) -> list[str]:
    half_width = 1.96 * math.sqrt(q.hit_rate * (1 - q.hit_rate) / max(q.trials, 1))
    if shipped is None or shipped is q:
        only = "-"
    else:
        mine = sum(a and not b for a, b in zip(shipped.outcomes, q.outcomes, strict=True))
        theirs = sum(b and not a for a, b in zip(shipped.outcomes, q.outcomes, strict=True))
        only = f"{mine} / {theirs}"
    return [
        name,
        f"{q.hit_rate:.4f} ± {half_width:.4f}",
        f"{q.coverage:.3f}",
        only,
    ]


def _label(s: Scoring) -> str:
    return f"alpha={s.alpha:g} shrink={s.shrink:g} min_support={s.min_support:g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=_default_data())
    parser.add_argument("--als", action="store_true", help="add implicit ALS if installed")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"no baskets at {args.data}", file=sys.stderr)
        return 2

    info = machine.describe()
    info["load"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(machine.render(info))
    data = read_baskets(args.data)
    n = len(data.names)
    train, test = split(data.baskets, seed=SPLIT_SEED)
    fit, validation = split(train, seed=VALIDATION_SEED)
    print(f"\n{len(data.baskets)} baskets, {n} items; train {len(train)}, test {len(test)}")
    print(f"validation: fit {len(fit)}, validation {len(validation)}")

    started = time.perf_counter()
    fit_co = count_pairs(fit, n)
    rows = []
    tried: list[tuple[Scoring, Quality]] = []
    for scoring in GRID:
        q = evaluate(_pairs(fit_co, scoring), validation, catalog_size=n, k=K)
        rows.append([_label(scoring), f"{q.hit_rate:.4f}", f"{q.coverage:.3f}"])
        tried.append((scoring, q))
    # The one-standard-error rule: hit rates closer than one standard error of the best are
    # not told apart by this many trials, so among those the widest coverage wins.
    top = max(q.hit_rate for _, q in tried)
    trials = tried[0][1].trials
    standard_error = math.sqrt(top * (1 - top) / trials)
    close = [(s, q) for s, q in tried if q.hit_rate >= top - standard_error]
    chosen = max(close, key=lambda sq: (sq[1].coverage, sq[1].hit_rate))[0]
    print("\nValidation (choosing the shipped scorer's parameters)")
    print(render_table(["scorer", "hit@10", "coverage"], rows))
    print(f"best hit@10 {top:.4f}, one standard error {standard_error:.4f}: widest coverage")
    print(f"chosen on validation: {_label(chosen)}; shipped default: {_label(DEFAULT_SCORING)}")

    co = count_pairs(train, n)
    results: list[tuple[str, Quality]] = []
    shipped = evaluate(_pairs(co, DEFAULT_SCORING), test, catalog_size=n, k=K)
    results.append(("popularity", evaluate(_popular(co), test, catalog_size=n, k=K)))
    results.append(("raw pair counts", evaluate(_pairs(co, RAW_COUNTS), test, catalog_size=n)))
    results.append((f"shipped: {_label(DEFAULT_SCORING)}", shipped))
    if chosen != DEFAULT_SCORING:
        chosen_q = evaluate(_pairs(co, chosen), test, catalog_size=n, k=K)
        results.append((f"chosen now: {_label(chosen)}", chosen_q))
    for variant in (Scoring(alpha=0.5, shrink=2.0, min_support=2.0), Scoring(alpha=1.0)):
        if variant not in (DEFAULT_SCORING, chosen):
            q = evaluate(_pairs(co, variant), test, catalog_size=n, k=K)
            results.append((f"variant: {_label(variant)}", q))
    if args.als:
        try:
            import implicit  # noqa: F401
        except ImportError:
            print("implicit is not installed (pip install '.[bench]'): no ALS row")
        else:
            for factors, reg in ((32, 0.05), (64, 0.1)):
                q = evaluate(_als(train, n, factors, reg), test, catalog_size=n, k=K)
                results.append((f"implicit ALS factors={factors} reg={reg:g}", q))

    print(f"\nTest ({K} recommendations, each item of each test basket hidden in turn)")
    header = ["method", "hit@10 (95% interval)", "coverage", "trials only shipped / only it"]
    print(render_table(header, [_row(name, q, shipped) for name, q in results]))
    print(f"trials: {shipped.trials}; run took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
