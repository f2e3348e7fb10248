"""Product-matching quality of the catalog matcher on Abt-Buy (or any data set in the
DeepMatcher layout) and on the grocery pair sets, with the scorer production runs.

Run from the repository root:

    .venv/bin/python bench/abt_buy_match.py [--data DIR] [--no-test]

DIR holds tableA.csv, tableB.csv and train/valid/test.csv (defaults to $ABT_BUY_DIR or
../shared/datasets/abt-buy); the name column may be `name` or `title`, the brand `brand` or
`manufacturer`, with optional `description`, `price` and `modelno`. Protocol: models are
fitted on train.csv, their threshold is chosen on valid.csv (with train.csv's out-of-fold
scores), and test.csv is scored once;
`--no-test` leaves it out, and the held-out grocery files too (for work on the matcher).
Each model is the same scorer the catalog runs (`similarity.score_many`: features,
boosted trees, the barcode and quantity rules), with the word statistics of its own data
(both tables' names; for a grocery file, its own names), as the catalog uses its own.
Figures printed:

1. a baseline: character 3-gram TF-IDF cosine on the name, threshold from valid;
2. the model fitted on this data set's train split, threshold from valid and the train
   split's out-of-fold scores (`matcher_model.fit`): test P/R/F1;
3. the shipped model (`matcher_model.json`) as it is, at its threshold;
4. cross-domain: the model fitted only on grocery pairs (tests/data/grocery_pairs.csv, a
   quarter kept apart for its threshold) scored on this data set's test split; and the
   model fitted only on this data set, scored on the three grocery files;
5. the cost of scoring: one prepared pair, and one query against 200 prepared candidates.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path

import machine
import numpy as np
from tables import render_table

from shelfwatch.catalog.matcher_model import TreeModel, fit, load_model, prf
from shelfwatch.catalog.matcher_training import (
    REPO_DATA,
    Benchmark,
    Pair,
    features,
    grocery_pairs,
    grocery_stats,
    grocery_training_pairs,
    split_grocery,
    with_augmented,
    with_augmented_folds,
)
from shelfwatch.catalog.record_features import forget_prepared
from shelfwatch.catalog.similarity import CorpusStats, prepare, score_many

REPO = Path(__file__).resolve().parent.parent
GROCERY_FILES = ("grocery_pairs.csv", "grocery_pairs_heldout.csv", "grocery_pairs_heldout2.csv")
PASSES = 5


# --- the baseline: character 3-gram TF-IDF cosine on the name ---------------------------


def _grams(text: str) -> Counter[str]:
    text = f" {' '.join(text.lower().split())} "
    return Counter(text[i : i + 3] for i in range(len(text) - 2))


def baseline_scores(bench: Benchmark, pairs: list[Pair]) -> list[float]:
    records = [*bench.left.values(), *bench.right.values()]
    df: Counter[str] = Counter()
    for record in records:
        df.update(set(_grams(record.name)))
    n = len(records)

    def vector(name: str) -> dict[str, float]:
        vec = {g: tf * (math.log((n + 1) / (df[g] + 1)) + 1) for g, tf in _grams(name).items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {g: v / norm for g, v in vec.items()}

    out = []
    for a, b, _ in pairs:
        va, vb = vector(a.name), vector(b.name)
        out.append(sum(v * vb.get(g, 0.0) for g, v in va.items()))
    return out


def best_cut(scores: list[float], labels: list[int]) -> float:
    return max(sorted(set(scores)), key=lambda t: (prf([s >= t for s in scores], labels)[2], -t))


# --- scoring with the production scorer ---------------------------------------------------


def scored(pairs: list[Pair], stats: CorpusStats, model: TreeModel) -> list[float]:
    """Scores of each pair through similarity.score_many, as the catalog scores them."""
    return [
        score_many(prepare(a, stats), [prepare(b, stats)], stats=stats, model=model)[0].score
        for a, b, _ in pairs
    ]


def figures(scores: list[float], labels: list[int], cut: float = 0.5) -> list[str]:
    p, r, f1 = prf([s >= cut for s in scores], labels)
    return [f"{p * 100:.1f}", f"{r * 100:.1f}", f"{f1 * 100:.1f}"]


def main() -> int:
    default_data = os.environ.get("ABT_BUY_DIR") or str(REPO.parent / "shared/datasets/abt-buy")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=default_data, help="data set directory")
    parser.add_argument("--no-test", action="store_true", help="leave the test split out")
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / "tableA.csv").exists():
        print(f"data not found in {data} (use --data or ABT_BUY_DIR)", file=sys.stderr)
        return 2

    print(machine.render(machine.describe()), flush=True)
    bench = Benchmark(data)
    splits = ["train", "valid"] + ([] if args.no_test else ["test"])
    pairs = {s: bench.pairs(s) for s in splits}
    labels = {s: [y for *_, y in p] for s, p in pairs.items()}
    print(
        f"{data.name}: "
        + ", ".join(f"{s} {len(p)} ({sum(labels[s])} matches)" for s, p in pairs.items()),
        flush=True,
    )
    shown = "valid" if args.no_test else "test"
    rows: list[list[str]] = []

    base = {s: baseline_scores(bench, pairs[s]) for s in ("valid", shown)}
    cut = best_cut(base["valid"], labels["valid"])
    rows.append(
        ["baseline: char 3-gram TF-IDF cosine on name", *figures(base[shown], labels[shown], cut)]
    )

    # 2. fitted on this data set's train split, threshold from its valid split and the
    # train split's out-of-fold scores. The same recipe as the shipped model: the train
    # pairs and those written again from their matches (catalog/matcher_augment.py).
    train_pairs, train_weights, train_folds = with_augmented_folds(pairs["train"])
    train_rows = features(train_pairs, bench.stats)
    t0 = time.perf_counter()
    own = fit(
        train_rows,
        [y for *_, y in train_pairs],
        weights=train_weights,
        folds=train_folds,
        valid_rows=features(pairs["valid"], bench.stats),
        valid_labels=labels["valid"],
        version=f"{data.name}-train",
    )
    fit_seconds = time.perf_counter() - t0
    own_scores = {s: scored(pairs[s], bench.stats, own) for s in ("valid", shown)}
    rows.append(
        [
            "matcher fitted on train, threshold from valid + train out of fold",
            *figures(own_scores[shown], labels[shown]),
        ]
    )

    # 3. the shipped model as it is.
    shipped = load_model()
    rows.append(
        [
            f"shipped model {shipped.version} as it is",
            *figures(scored(pairs[shown], bench.stats, shipped), labels[shown]),
        ]
    )

    # 4a. fitted on grocery pairs only, scored here.
    groceries = grocery_pairs(REPO_DATA / "grocery_pairs.csv")
    g_fit, g_valid = split_grocery(groceries)
    g_fit, g_weights = with_augmented(grocery_training_pairs(g_fit))
    g_stats = grocery_stats(groceries)
    grocery_model = fit(
        features(g_fit, g_stats),
        [y for *_, y in g_fit],
        weights=g_weights,
        valid_rows=features(g_valid, g_stats),
        valid_labels=[y for *_, y in g_valid],
        version="grocery-only",
    )
    rows.append(
        [
            "cross-domain: fitted on grocery pairs only",
            *figures(scored(pairs[shown], bench.stats, grocery_model), labels[shown]),
        ]
    )
    print()
    print(f"{data.name} {shown} split (P / R / F1 in %):")
    print(render_table(["method", f"{shown} P", f"{shown} R", f"{shown} F1"], rows))

    # 4b. grocery files with the model fitted on this data set only, and with the shipped one.
    grocery_rows = []
    # The held-out files, like the test split, are scored only in a full run.
    for name in GROCERY_FILES[:1] if args.no_test else GROCERY_FILES:
        file_pairs = grocery_pairs(REPO_DATA / name)
        stats = grocery_stats(file_pairs)
        file_labels = [y for *_, y in file_pairs]
        for label, model in ((f"fitted on {data.name} only", own), ("shipped model", shipped)):
            grocery_rows.append(
                [
                    name,
                    label,
                    str(len(file_pairs)),
                    *figures(scored(file_pairs, stats, model), file_labels),
                ]
            )
    print()
    print("grocery pair files (grocery_pairs.csv is part of the shipped model's fit):")
    print(render_table(["file", "model", "pairs", "P", "R", "F1"], grocery_rows))

    # 5. cost: prepared records (as the catalog prepares each candidate once), then scored.
    prepared = [(prepare(a, bench.stats), prepare(b, bench.stats)) for a, b, _ in pairs["valid"]]
    best = [math.inf] * len(prepared)
    for _ in range(PASSES):
        for i, (a, b) in enumerate(prepared):
            t0 = time.perf_counter_ns()
            score_many(a, [b], stats=bench.stats, model=shipped)
            best[i] = min(best[i], (time.perf_counter_ns() - t0) / 1000)
    single = sorted(best)
    query, candidates = prepared[0][0], [b for _, b in prepared[:200]]
    batch = math.inf
    for _ in range(PASSES * 4):
        t0 = time.perf_counter()
        score_many(query, candidates, stats=bench.stats, model=shipped)
        batch = min(batch, time.perf_counter() - t0)
    forget_prepared(bench.stats)
    records = [*bench.left.values(), *bench.right.values()]
    t0 = time.perf_counter()
    for record in records:
        prepare(record, bench.stats)
    prep_us = (time.perf_counter() - t0) / len(records) * 1e6
    rows_x = np.asarray(train_rows[:2000], dtype=np.float64)
    t0 = time.perf_counter()
    shipped.log_odds(rows_x)
    trees_us = (time.perf_counter() - t0) / len(rows_x) * 1e6
    print()
    print(
        render_table(
            ["cost", "value"],
            [
                [
                    "score one prepared pair (features + trees), p50",
                    f"{single[len(single) // 2]:.1f} us",
                ],
                ["score one prepared pair, p99", f"{single[int(len(single) * 0.99)]:.1f} us"],
                [
                    "one query against 200 prepared candidates (one model pass)",
                    f"{batch * 1000:.2f} ms",
                ],
                ["the trees alone, per pair in a batch", f"{trees_us:.2f} us"],
                ["prepare one record (once per record)", f"{prep_us:.1f} us"],
                [f"fit on {len(train_rows)} train pairs", f"{fit_seconds:.1f} s"],
            ],
        )
    )
    print(f"load average during the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
