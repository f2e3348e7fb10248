"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): an item-to-item weight matrix
fitted in closed form from the pair counts, served as per-item lists like the pair scores.

With G = XᵀX (the pair counts, each item's count on the diagonal) and P = (G + λI)⁻¹,
the weights are B = -P / diag(P) with diag(B) = 0: B[i, j] is how much holding i says
about also holding j, each item's column regressed on all the others at once. So an item
that goes with i only by way of a third item that i goes with gets no weight from i (pair
counts list it), and items that say the same thing share their vote. It does not by itself
discount staples: an item in most baskets still gets weight from most items.

The inverse is dense (items x items), so only the `max_items` most bought items are
fitted; every other item keeps the pair scorer's list (`together.py`). A basket's score
for a candidate is the plain sum of its items' weights for it (`basket_scores`), which is
what the shop's cart reads do with the stored rows.

Pure numpy, no database: the nightly refresh and the quality benchmark call the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from shelfwatch.recommend.together import CoOccurrence, Scoring, filled

__all__ = [
    "EaseFit",
    "Lists",
    "basket_scores",
    "fit_ease",
    "gram",
    "recommend",
    "served_lists",
]

Lists = dict[int, list[tuple[int, float]]]
"""Per item, its companions best first as (other item, weight): what the refresh stores."""


@dataclass(frozen=True, slots=True)
class EaseFit:
    """The fitted weights of `items` (indices into the co-occurrence's items, most bought
    first): weights[a, b] is item items[a]'s weight for items[b]; the diagonal is zero."""

    items: np.ndarray  # int64[m]
    weights: np.ndarray  # float64[m, m]

    def lists(self, limit: int) -> Lists:
        """Each fitted item's best `limit` companions with a positive weight."""
        m = len(self.items)
        found: Lists = {}
        if m < 2:
            return found
        take = min(limit, m - 1)
        best = np.argpartition(-self.weights, take - 1, axis=1)[:, :take]
        for row in range(m):
            cols = best[row]
            w = self.weights[row, cols]
            keep = w > 0
            cols, w = cols[keep], w[keep]
            others = self.items[cols]
            # Ties go to the lower item so the lists are the same on every run.
            order = np.lexsort((others, -w))
            if len(order):
                found[int(self.items[row])] = [
                    (int(others[i]), float(w[i])) for i in order.tolist()
                ]
        return found


def most_bought(co: CoOccurrence, max_items: int) -> np.ndarray:
    """The `max_items` items with the highest (decayed) counts, most bought first; items
    never bought are left out."""
    order = np.argsort(-co.item_counts, kind="stable")
    order = order[co.item_counts[order] > 0]
    return order[:max_items].astype(np.int64)


def gram(co: CoOccurrence, items: np.ndarray) -> np.ndarray:
    """XᵀX restricted to `items`, in their order: the pair counts off the diagonal, the
    item counts on it."""
    m = len(items)
    position = np.full(co.n_items, -1, dtype=np.int64)
    position[items] = np.arange(m)
    g = np.zeros((m, m))
    a, b = position[co.anchors], position[co.others]
    inside = (a >= 0) & (b >= 0)
    g[a[inside], b[inside]] = co.pair_counts[inside]
    g[np.arange(m), np.arange(m)] = co.item_counts[items]
    return g


def fit_gram(g: np.ndarray, *, l2: float) -> np.ndarray:
    """EASE weights from a Gram matrix; `g` is overwritten (it is the largest array held,
    and the fit needs only one more of its size)."""
    g[np.diag_indices_from(g)] += l2
    p = np.linalg.inv(g)
    del g
    p /= -np.diag(p)
    np.fill_diagonal(p, 0.0)
    return p


def fit_ease(co: CoOccurrence, *, l2: float, max_items: int) -> EaseFit | None:
    """EASE fitted on the `max_items` most bought items of `co` with L2 penalty `l2` (in
    baskets); None when fewer than two items were bought."""
    items = most_bought(co, max_items)
    if len(items) < 2:
        return None
    return EaseFit(items=items, weights=fit_gram(gram(co, items), l2=l2))


def served_lists(co: CoOccurrence, *, scoring: Scoring, fit: EaseFit | None, limit: int) -> Lists:
    """Every item's companions as the shop stores them: EASE weights for the fitted items,
    the pair scorer's list for the others (and for a fitted item with no positive weight).

    A pair-scorer list is scaled so its best entry weighs what a fitted item's best entry
    weighs at the median, so when a basket mixes both kinds neither drowns the other.
    """
    pairs = co.top_per_item(scoring, limit)
    lists: Lists = fit.lists(limit) if fit is not None else {}
    tops = [best[0][1] for best in lists.values()]
    scale = float(np.median(tops)) if tops else 1.0
    for anchor, best in pairs.items():
        if anchor in lists:
            continue
        top = best[0][1]
        lists[anchor] = [(other, scale * score / top) for other, score in best]
    return lists


def basket_scores(lists: Lists, basket: Iterable[int], n_items: int) -> np.ndarray:
    """Score of every item as an addition to `basket`: the sum of the basket's items'
    stored weights for it."""
    total = np.zeros(n_items)
    for anchor in set(basket):
        for other, weight in lists.get(anchor, ()):
            total[other] += weight
    return total


def recommend(
    lists: Lists,
    basket: Iterable[int],
    n_items: int,
    limit: int,
    *,
    fallback: np.ndarray | None = None,
) -> list[int]:
    """`limit` items to add to `basket`, best first, never one already in it; when the
    positive scores run out, the rest come from `fallback` (item indices, best first)."""
    held = set(basket)
    total = basket_scores(lists, held, n_items)
    if held:
        total[list(held)] = 0.0
    candidates = np.flatnonzero(total > 0)
    order = np.lexsort((candidates, -total[candidates]))
    picked = [int(candidates[i]) for i in order[:limit]]
    return filled(picked, held=held, fallback=fallback, limit=limit)
