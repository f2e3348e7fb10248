"""What is bought together: pair counts over baskets, scored so that popular items do not win
by being everywhere, and a scorer for a whole basket.

Pure Python and numpy, no database: the nightly refresh feeds it order lines, the quality
benchmark feeds it the groceries data set, and both read the same scores.

An item's score as a companion of `anchor` is

    c(anchor, other) / n(other) ** alpha  *  c / (c + shrink)

where c is the (decayed) number of baskets holding both and n the number holding `other`.
alpha = 0 ranks by raw pair counts (what is popular anyway), alpha = 1 by lift; in between
keeps the association without handing the list to items bought once. The second factor
discounts pairs seen only a few times, and pairs under `min_support` baskets are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_SCORING",
    "RAW_COUNTS",
    "CoOccurrence",
    "Scoring",
    "count_pairs",
    "decay_weights",
    "filled",
]


@dataclass(frozen=True, slots=True)
class Scoring:
    """How pair counts become companion scores (see the module docstring)."""

    alpha: float = 0.5
    shrink: float = 0.0
    min_support: float = 2.0


DEFAULT_SCORING = Scoring()
"""What the shop ships, chosen on a validation split of the groceries baskets
(bench/recommend_quality.py)."""

RAW_COUNTS = Scoring(alpha=0.0, shrink=0.0, min_support=1.0)
"""Plain pair counts: the baseline every association measure has to beat."""


def decay_weights(ages_days: Sequence[float], *, half_life_days: float) -> np.ndarray:
    """Weight of each basket by its age: 1 today, 1/2 after one half-life, and so on."""
    ages = np.maximum(np.asarray(ages_days, dtype=np.float64), 0.0)
    return np.power(0.5, ages / half_life_days)


@dataclass(frozen=True, slots=True)
class CoOccurrence:
    """Weighted item and pair counts over baskets of items numbered 0..n_items-1.

    Pairs are held in both directions, sorted by (anchor, other), so an anchor's companions
    are one contiguous slice.
    """

    n_items: int
    item_counts: np.ndarray  # float64[n_items]
    anchors: np.ndarray  # int64[pairs]
    others: np.ndarray  # int64[pairs]
    pair_counts: np.ndarray  # float64[pairs]
    pair_baskets: np.ndarray  # int64[pairs]: unweighted support

    def _row(self, anchor: int) -> slice:
        lo = int(np.searchsorted(self.anchors, anchor, side="left"))
        hi = int(np.searchsorted(self.anchors, anchor, side="right"))
        return slice(lo, hi)

    def scores(self, scoring: Scoring) -> np.ndarray:
        """Companion score of every held pair (0 where the pair is under min_support)."""
        c = self.pair_counts
        n_other = np.maximum(self.item_counts[self.others], 1e-12)
        score = c / np.power(n_other, scoring.alpha)
        if scoring.shrink > 0:
            score = score * (c / (c + scoring.shrink))
        return np.where(self.pair_baskets >= scoring.min_support, score, 0.0)

    def companions(self, anchor: int, scoring: Scoring, limit: int) -> list[tuple[int, float]]:
        """The best `limit` companions of one item, best first, with their scores."""
        row = self._row(anchor)
        others = self.others[row]
        scores = self.scores(scoring)[row]
        return _top(others, scores, limit)

    def top_per_item(self, scoring: Scoring, limit: int) -> dict[int, list[tuple[int, float]]]:
        """Every item's best `limit` companions (items with none are left out)."""
        scores = self.scores(scoring)
        found: dict[int, list[tuple[int, float]]] = {}
        bounds = np.flatnonzero(np.diff(self.anchors)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [len(self.anchors)]))
        for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
            if lo == hi:
                continue
            best = _top(self.others[lo:hi], scores[lo:hi], limit)
            if best:
                found[int(self.anchors[lo])] = best
        return found

    def basket_scores(self, basket: Iterable[int], scoring: Scoring) -> np.ndarray:
        """Score of every item as an addition to `basket`: each basket item's companion
        scores, scaled so its best companion counts 1, summed over the basket.

        The scaling keeps one item with many strong pairs from drowning the others' votes.
        """
        total = np.zeros(self.n_items)
        all_scores = self.scores(scoring)
        for anchor in set(basket):
            row = self._row(anchor)
            scores = all_scores[row]
            if not len(scores):
                continue
            top = scores.max()
            if top > 0:
                np.add.at(total, self.others[row], scores / top)
        return total

    def recommend(
        self,
        basket: Iterable[int],
        scoring: Scoring,
        limit: int,
        *,
        fallback: np.ndarray | None = None,
    ) -> list[int]:
        """`limit` items to add to `basket`, best first, never one already in it; when the
        pairs run out, the rest come from `fallback` (item indices, best first)."""
        held = set(basket)
        total = self.basket_scores(held, scoring)
        if held:
            total[list(held)] = 0.0
        picked = [i for i, _ in _top(np.arange(self.n_items), total, limit)]
        return filled(picked, held=held, fallback=fallback, limit=limit)

    def popularity(self) -> np.ndarray:
        """Item indices, most bought first."""
        return np.argsort(-self.item_counts, kind="stable")


def filled(
    picked: list[int], *, held: set[int], fallback: np.ndarray | None, limit: int
) -> list[int]:
    """`picked` topped up to `limit` from `fallback` (item indices, best first), skipping
    items held or picked already."""
    if len(picked) < limit and fallback is not None:
        seen = held | set(picked)
        for item in fallback.tolist():
            if item not in seen:
                picked.append(item)
                seen.add(item)
                if len(picked) == limit:
                    break
    return picked


def _top(items: np.ndarray, scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
    positive = scores > 0
    items, scores = items[positive], scores[positive]
    if len(scores) > limit:
        keep = np.argpartition(-scores, limit - 1)[:limit]
        items, scores = items[keep], scores[keep]
    # Ties go to the lower index so the lists are the same on every run.
    order = np.lexsort((items, -scores))
    return [(int(items[i]), float(scores[i])) for i in order]


def count_pairs(
    baskets: Sequence[Sequence[int]],
    n_items: int,
    *,
    weights: Sequence[float] | np.ndarray | None = None,
) -> CoOccurrence:
    """Count items and pairs over `baskets` (an item twice in a basket counts once), each
    basket counting its weight (1 when no weights are given)."""
    w = np.ones(len(baskets)) if weights is None else np.asarray(weights, dtype=np.float64)
    item_counts = np.zeros(n_items)
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    pair_w: list[np.ndarray] = []
    for basket, weight in zip(baskets, w.tolist(), strict=True):
        items = np.unique(np.asarray(basket, dtype=np.int64))
        if not len(items):
            continue
        item_counts[items] += weight
        if len(items) < 2:
            continue
        a, b = np.meshgrid(items, items, indexing="ij")
        off_diagonal = a != b
        left.append(a[off_diagonal])
        right.append(b[off_diagonal])
        pair_w.append(np.full(int(off_diagonal.sum()), weight))
    if not left:
        empty_i = np.zeros(0, dtype=np.int64)
        return CoOccurrence(n_items, item_counts, empty_i, empty_i, np.zeros(0), empty_i)
    keys = np.concatenate(left) * n_items + np.concatenate(right)
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate(pair_w))
    support = np.bincount(inverse).astype(np.int64)
    return CoOccurrence(
        n_items=n_items,
        item_counts=item_counts,
        anchors=unique_keys // n_items,
        others=unique_keys % n_items,
        pair_counts=counts,
        pair_baskets=support,
    )
