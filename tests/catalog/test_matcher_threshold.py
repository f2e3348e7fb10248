"""How a matcher fitted on one data set chooses its threshold: on the valid split and the
train split's out-of-fold scores together, with pairs written again kept in the fold of the
pair they were written from (no database)."""

from __future__ import annotations

import random

from shelfwatch.catalog.matcher_augment import augmented_with_sources
from shelfwatch.catalog.matcher_model import Folds, fit
from shelfwatch.catalog.matcher_training import SEED, with_augmented_folds
from shelfwatch.catalog.pair_features import FEATURES
from shelfwatch.catalog.similarity import ProductRecord


def _pairs() -> list[tuple[ProductRecord, ProductRecord, int]]:
    out = []
    for i in range(30):
        name = f"Lumatek Painter {i} Studio Edition"
        out.append((ProductRecord(name), ProductRecord(f"{name} CD"), 1))
        out.append((ProductRecord(name), ProductRecord(f"Ledgerly Atlas {i} Maps"), 0))
    return out


def test_pairs_written_again_share_their_source_fold_and_are_never_scored():
    pairs = _pairs()
    rows, weights, folds = with_augmented_folds(pairs, k=5)
    assert len(rows) == len(weights) == len(folds.fold) == len(folds.scored)
    assert rows[: len(pairs)] == pairs
    assert all(folds.scored[: len(pairs)]) and not any(folds.scored[len(pairs) :])
    assert sorted(set(folds.fold)) == [0, 1, 2, 3, 4]
    # Each written pair is in the fold of the pair it was written from.
    made, sources = augmented_with_sources(pairs, seed=SEED)
    assert rows[len(pairs) :] == made
    assert list(folds.fold[len(pairs) :]) == [folds.fold[i] for i in sources]


def _rows(n: int, rng: random.Random) -> tuple[list[tuple[float, ...]], list[int]]:
    rows, labels = [], []
    for _ in range(n):
        label = int(rng.random() < 0.3)
        cosine = min(1.0, max(0.0, rng.gauss(0.75 if label else 0.45, 0.15)))
        rows.append((cosine, *[0.0] * (len(FEATURES) - 1)))
        labels.append(label)
    return rows, labels


def test_threshold_takes_the_out_of_fold_scores_of_scored_rows_only():
    rng = random.Random(5)
    rows, labels = _rows(300, rng)
    valid_rows, valid_labels = _rows(80, rng)
    # Rows of another data set (-1) are fitted on in every fold and never held out; of the
    # rest, only the scored ones join the validation scores.
    fold = tuple(-1 if i < 50 else i % 5 for i in range(300))
    scored = tuple(i >= 50 and i % 7 != 0 for i in range(300))
    folded = fit(
        rows,
        labels,
        valid_rows=valid_rows,
        valid_labels=valid_labels,
        folds=Folds(fold=fold, scored=scored),
    )
    assert folded.meta["threshold_out_of_fold_pairs"] == sum(scored)
    plain = fit(rows, labels, valid_rows=valid_rows, valid_labels=valid_labels)
    assert "threshold_out_of_fold_pairs" not in plain.meta
    # The same trees; only where 0.5 falls may differ, by the cut the folds moved.
    moved = folded.meta["threshold_log_odds"] - folded.meta["valid_threshold_log_odds"]
    assert abs((plain.bias - folded.bias) - moved) < 1e-5
