"""The learned part of the matcher: a gradient-boosted tree model over the pair features
(`pair_features`), shipped as a small JSON file (`matcher_model.json`) and loaded once per
process.

Scoring needs only numpy and the JSON file; fitting (`fit`, used by the `train_matcher`
command and the benchmark) needs scikit-learn. The model file holds the trees as arrays
(no pickle), so it loads the same under any scikit-learn version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .pair_features import FEATURES, MONOTONIC

MODEL_PATH = Path(__file__).with_name("matcher_model.json")
FORMAT = "shelfwatch-matcher-trees/1"


@dataclass(frozen=True)
class TreeModel:
    """Boosted regression trees as padded arrays: node feature, threshold, children, value.
    The log-odds of a pair is `bias + sum of its leaf values`; `offset` shifts it so that
    the threshold chosen on validation data scores 0.5."""

    version: str
    features: tuple[str, ...]
    bias: float
    feature: np.ndarray  # (trees, nodes) int32; -1 at leaves
    threshold: np.ndarray  # (trees, nodes) float64
    left: np.ndarray  # (trees, nodes) int32
    right: np.ndarray  # (trees, nodes) int32
    value: np.ndarray  # (trees, nodes) float64, the leaf values already scaled
    depth: int
    meta: dict

    def log_odds(self, rows: np.ndarray) -> np.ndarray:
        """The model's log-odds for each row of feature values (rows x features)."""
        n_trees = self.feature.shape[0]
        trees = np.arange(n_trees)[None, :]
        node = np.zeros((rows.shape[0], n_trees), dtype=np.int32)
        for _ in range(self.depth):
            feat = self.feature[trees, node]
            leaf = feat < 0
            x = np.take_along_axis(rows, np.where(leaf, 0, feat), axis=1)
            go_left = x <= self.threshold[trees, node]
            nxt = np.where(go_left, self.left[trees, node], self.right[trees, node])
            node = np.where(leaf, node, nxt)
        return self.bias + self.value[trees, node].sum(axis=1)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Scores in 0..1 (0.5 at the model's chosen threshold)."""
        z = np.clip(self.log_odds(rows), -60, 60)
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        """The model as a JSON-ready dict that `from_json` reads back; thresholds and leaf values
        are rounded to 6 decimals."""
        return {
            "format": FORMAT,
            "version": self.version,
            "features": list(self.features),
            "bias": self.bias,
            "depth": self.depth,
            "feature": self.feature.tolist(),
            "threshold": [[round(t, 6) for t in row] for row in self.threshold.tolist()],
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "value": [[round(v, 6) for v in row] for row in self.value.tolist()],
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict) -> TreeModel:
        """The model saved by `to_json`; raises ValueError for another format or a model fitted on
        other features."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a matcher model file: format {data.get('format')!r}")
        if tuple(data["features"]) != FEATURES:
            raise ValueError("the model file was fitted on other features; retrain it")
        return cls(
            version=data["version"],
            features=tuple(data["features"]),
            bias=float(data["bias"]),
            feature=np.asarray(data["feature"], dtype=np.int32),
            threshold=np.asarray(data["threshold"], dtype=np.float64),
            left=np.asarray(data["left"], dtype=np.int32),
            right=np.asarray(data["right"], dtype=np.int32),
            value=np.asarray(data["value"], dtype=np.float64),
            depth=int(data["depth"]),
            meta=data.get("meta", {}),
        )


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> TreeModel:
    """The model in `path` (the shipped one by default), read once per process."""
    return TreeModel.from_json(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Folds:
    """How `fit` cross-validates its training rows to choose the threshold: the fold of each
    row (-1: always fitted on, never held out, e.g. another data set's rows) and whether a
    held-out row is scored (labelled pairs; pairs written again from one are fitted on
    with it but never scored, since they are not how real pairs look)."""

    fold: tuple[int, ...]
    scored: tuple[bool, ...]


def _classifier(params: dict):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(monotonic_cst=list(MONOTONIC), **params)


def _fitted(params: dict, x: np.ndarray, y: np.ndarray, w: np.ndarray | None):
    # One thread: on a shared machine OpenMP's threads wait on each other far longer than
    # the trees take to grow (6 s against 0.8 s for one fit on a loaded 2-core machine).
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return _classifier(params).fit(x, y, sample_weight=w)


def fit(
    rows: list[tuple[float, ...]],
    labels: list[int],
    *,
    valid_rows: list[tuple[float, ...]] | None = None,
    valid_labels: list[int] | None = None,
    weights: list[float] | None = None,
    folds: Folds | None = None,
    version: str = "dev",
    seed: int = 0,
    meta: dict | None = None,
) -> TreeModel:
    """Fit boosted trees on feature rows (scikit-learn); with validation rows, the decision
    threshold that maximises F1 on them becomes the model's 0.5. `weights` weigh the rows
    (so that a small data set of one kind of product counts as much as a large one).

    With `folds` as well, the threshold is chosen on the validation rows and the training
    rows' out-of-fold scores together (each fold scored by trees fitted without it): a
    validation split of a few hundred matches alone puts the threshold where a handful of
    pairs happen to fall, and the best cut there is often not the best on new pairs."""
    params = {
        "max_iter": 500,
        "max_depth": 3,
        "learning_rate": 0.05,
        "min_samples_leaf": 20,
        "l2_regularization": 1.0,
        "early_stopping": False,
        "random_state": seed,
    }
    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(labels)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    clf = _fitted(params, x, y, w)
    # Each tree's nodes: feature, threshold, children and (at leaves) the value, learning
    # rate already applied.
    trees = [predictors[0].nodes for predictors in clf._predictors]
    width = max(len(nodes) for nodes in trees)
    feature = np.full((len(trees), width), -1, dtype=np.int32)
    threshold = np.zeros((len(trees), width), dtype=np.float64)
    left = np.zeros((len(trees), width), dtype=np.int32)
    right = np.zeros((len(trees), width), dtype=np.int32)
    value = np.zeros((len(trees), width), dtype=np.float64)
    for i, nodes in enumerate(trees):
        n = len(nodes)
        leaf = nodes["is_leaf"].astype(bool)
        feature[i, :n] = np.where(leaf, -1, nodes["feature_idx"])
        threshold[i, :n] = nodes["num_threshold"]
        left[i, :n] = np.where(leaf, 0, nodes["left"])
        right[i, :n] = np.where(leaf, 0, nodes["right"])
        value[i, :n] = np.where(leaf, nodes["value"], 0.0)
    model = TreeModel(
        version=version,
        features=FEATURES,
        bias=0.0,
        feature=feature,
        threshold=threshold,
        left=left,
        right=right,
        value=value,
        depth=int(max(nodes["depth"].max() for nodes in trees)),
        meta={"params": params, **(meta or {})},
    )
    # The prior (log-odds of the base rate) is sklearn's starting point: read it back as
    # the difference between its decision function and the trees' sum.
    probe = x[:200]
    gap = clf.decision_function(probe) - model.log_odds(probe)
    bias = float(np.mean(gap))
    if float(np.ptp(gap)) > 1e-6:
        raise RuntimeError("the exported trees do not reproduce scikit-learn's scores")
    model = _with_bias(model, bias)
    if valid_rows:
        scores = model.log_odds(np.asarray(valid_rows, dtype=np.float64)).tolist()
        cut_labels = list(valid_labels or [])
        cut = best_threshold(scores, cut_labels)
        model.meta["valid_threshold_log_odds"] = round(cut, 6)
        if folds is not None:
            held_scores, held_labels = _out_of_fold(params, x, y, w, folds)
            cut = best_threshold(scores + held_scores, cut_labels + held_labels)
            model.meta["threshold_log_odds"] = round(cut, 6)
            model.meta["threshold_out_of_fold_pairs"] = len(held_scores)
        model = _with_bias(model, bias - cut)
    return model


def _out_of_fold(
    params: dict, x: np.ndarray, y: np.ndarray, w: np.ndarray | None, folds: Folds
) -> tuple[list[float], list[int]]:
    """Log-odds of the scored rows of each fold from trees fitted without that fold, with
    their labels."""
    fold = np.asarray(folds.fold)
    scored = np.asarray(folds.scored, dtype=bool)
    if len(fold) != len(x) or len(scored) != len(x):
        raise ValueError("folds must give a fold and a scored flag for every row")
    out_scores: list[float] = []
    out_labels: list[int] = []
    for f in sorted(set(fold.tolist()) - {-1}):
        keep = fold != f
        held = (fold == f) & scored
        if not held.any():
            continue
        clf = _fitted(params, x[keep], y[keep], None if w is None else w[keep])
        out_scores += clf.decision_function(x[held]).tolist()
        out_labels += y[held].astype(int).tolist()
    return out_scores, out_labels


def _with_bias(model: TreeModel, bias: float) -> TreeModel:
    return TreeModel(**{**model.__dict__, "bias": bias})


def prf(predicted: list[bool], labels: list[int]) -> tuple[float, float, float]:
    """Precision, recall and F1 of yes/no predictions against 0/1 labels."""
    tp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and y)
    fp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and not y)
    fn = sum(1 for p, y in zip(predicted, labels, strict=True) if not p and y)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def best_threshold(scores: list[float], labels: list[int]) -> float:
    """The score cut (score >= cut is a match) with the best F1; the midpoint between
    neighbouring scores, so that a slightly different score on new data falls the same way."""
    ranked = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    positives = sum(labels)
    best, best_cut, tp = -1.0, ranked[0][0] if ranked else 0.0, 0
    for i, (score, label) in enumerate(ranked):
        tp += label
        if i + 1 < len(ranked) and ranked[i + 1][0] == score:
            continue
        f1 = 2 * tp / (i + 1 + positives) if positives else 0.0
        if f1 > best:
            nxt = ranked[i + 1][0] if i + 1 < len(ranked) else score - 1.0
            best, best_cut = f1, (score + nxt) / 2
    return best_cut
