"""Quality of basket recommendations on real baskets: the groceries data set.

Run from the repository root:

    .venv/bin/python bench/recommend_quality.py [--data FILE] [--als]

FILE is one basket a line, items separated by commas (defaults to $GROCERIES_CSV or
../shared/datasets/groceries/groceries.csv). Protocol: a fixed-seed 80/20 split of the
baskets into train and test; a validation split carved from train (again 80/20, another
seed) chooses the shipped scorer's parameters, which are then refitted on all of train and
scored on test once. EASE (`recommend.ease`) gets its L2 penalty the same way, from its own
small grid on the same validation split, by the rule written in `_one_se` below, fixed
before its test figures were first printed. For each test basket of two or more items
each item is hidden in turn and 10 recommendations are asked for from the rest: hit rate
@10 (the hidden item is among them) and catalog coverage (share of the items that appear
in any list). Every method fills a short list from popularity, as the shop does.

Printed, for the same split in the same run: popularity, raw pair counts, the pair scorer
(`recommend.together`, chosen on validation), the variants tried, the chosen EASE, and,
with --als and the `implicit` package installed (the `bench` extra), implicit ALS.
Pair-wise against the pair scorer, and then against EASE: trials only one hit and trials
only the other hit, with a two-sided sign test on those (the fair comparison when the hit
rates are close).

EASE is scored as the shop serves it: each item's best LIST_LENGTH positive weights (the
stored rows), summed over the basket (what the cart's read does).

Rule to ship EASE, fixed before its test figures were seen: its test hit rate is above raw
pair counts' with a sign-test p below 0.05 on the trials only one of the two hit, and its
coverage is at least two thirds of the pair scorer's.
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

from shelfwatch.recommend import ease
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
EASE_GRID = (50.0, 100.0, 200.0, 300.0, 500.0, 800.0)
# What the refresh stores per product (refresh.LIST_LENGTH) and the cart reads of each.
LIST_LENGTH = 30
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


def _ease(co: CoOccurrence, l2: float):
    fit = ease.fit_ease(co, l2=l2, max_items=co.n_items)
    lists = ease.served_lists(co, scoring=DEFAULT_SCORING, fit=fit, limit=LIST_LENGTH)
    fallback = co.popularity()
    return lambda visible: ease.recommend(lists, visible, co.n_items, K, fallback=fallback)


def _one_se(tried: list[tuple[object, Quality]]) -> tuple[object, float, float]:
    """The one-standard-error rule: hit rates closer than one standard error of the best
    are not told apart by this many trials, so among those the widest coverage wins.
    Returns the chosen setting, the best hit rate and the standard error."""
    top = max(q.hit_rate for _, q in tried)
    standard_error = math.sqrt(top * (1 - top) / tried[0][1].trials)
    close = [(s, q) for s, q in tried if q.hit_rate >= top - standard_error]
    return max(close, key=lambda sq: (sq[1].coverage, sq[1].hit_rate))[0], top, standard_error


def _only(a: Quality, b: Quality) -> tuple[int, int, float]:
    """Trials only `a` hit, trials only `b` hit, and the two-sided sign-test p of that."""
    only_a = sum(x and not y for x, y in zip(a.outcomes, b.outcomes, strict=True))
    only_b = sum(y and not x for x, y in zip(a.outcomes, b.outcomes, strict=True))
    n = only_a + only_b
    if n == 0:
        return only_a, only_b, 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1))
    return only_a, only_b, min(1.0, 2 * tail / 2**n)


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
    chosen, top, standard_error = _one_se(tried)
    print("\nValidation (choosing the shipped scorer's parameters)")
    print(render_table(["scorer", "hit@10", "coverage"], rows))
    print(f"best hit@10 {top:.4f}, one standard error {standard_error:.4f}: widest coverage")
    print(f"chosen on validation: {_label(chosen)}; shipped default: {_label(DEFAULT_SCORING)}")

    ease_rows = []
    ease_tried: list[tuple[float, Quality]] = []
    for l2 in EASE_GRID:
        q = evaluate(_ease(fit_co, l2), validation, catalog_size=n, k=K)
        ease_rows.append([f"EASE l2={l2:g}", f"{q.hit_rate:.4f}", f"{q.coverage:.3f}"])
        ease_tried.append((l2, q))
    ease_l2, ease_top, ease_se = _one_se(ease_tried)
    print("\nValidation (choosing EASE's L2 penalty, same rule)")
    print(render_table(["scorer", "hit@10", "coverage"], ease_rows))
    print(f"best hit@10 {ease_top:.4f}, one standard error {ease_se:.4f}: widest coverage")
    print(f"chosen on validation: EASE l2={ease_l2:g}")

    co = count_pairs(train, n)
    results: list[tuple[str, Quality]] = []
    shipped = evaluate(_pairs(co, DEFAULT_SCORING), test, catalog_size=n, k=K)
    results.append(("popularity", evaluate(_popular(co), test, catalog_size=n, k=K)))
    results.append(("raw pair counts", evaluate(_pairs(co, RAW_COUNTS), test, catalog_size=n)))
    results.append((f"pair scorer: {_label(DEFAULT_SCORING)}", shipped))
    ease_q = evaluate(_ease(co, ease_l2), test, catalog_size=n, k=K)
    results.append((f"EASE l2={ease_l2:g}", ease_q))
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
    header = ["method", "hit@10 (95% interval)", "coverage", "trials only pair scorer / only it"]
    print(render_table(header, [_row(name, q, shipped) for name, q in results]))
    print(f"\nPair-wise against EASE l2={ease_l2:g}")
    pair_rows = []
    for name, q in results:
        if q is ease_q:
            continue
        only_ease, only_it, p = _only(ease_q, q)
        pair_rows.append([name, str(only_ease), str(only_it), f"{p:.2g}"])
    print(render_table(["method", "only EASE hit", "only it hit", "sign test p"], pair_rows))
    raw_q = results[1][1]
    _, _, raw_p = _only(ease_q, raw_q)
    ship = (
        ease_q.hit_rate > raw_q.hit_rate
        and raw_p < 0.05
        and ease_q.coverage >= 2 / 3 * shipped.coverage
    )
    print(f"ship EASE by the rule fixed before this run: {'yes' if ship else 'no'}")
    print(f"trials: {shipped.trials}; run took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
