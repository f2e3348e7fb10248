"""The quality protocol for basket recommendations: hide one item of a held-out basket, ask
for `k` items from the rest, count how often the hidden one comes back.

Reads nothing from the database, so the benchmark and the tests score any recommender
(a function from the visible items to a ranked list) on any baskets the same way.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Baskets",
    "Quality",
    "evaluate",
    "parse_baskets",
    "read_baskets",
    "split",
]

Recommender = Callable[[list[int]], list[int]]


@dataclass(frozen=True, slots=True)
class Baskets:
    """Baskets as lists of item indices, with the item names the indices stand for."""

    names: list[str]
    baskets: list[list[int]]


def parse_baskets(lines: Iterable[str]) -> Baskets:
    """Read one basket a line, items separated by commas (the groceries data set's form);
    an item twice in a line counts once, blank lines are skipped."""
    index: dict[str, int] = {}
    baskets: list[list[int]] = []
    for line in lines:
        items: list[int] = []
        for raw in line.split(","):
            name = raw.strip()
            if not name:
                continue
            item = index.setdefault(name, len(index))
            if item not in items:
                items.append(item)
        if items:
            baskets.append(items)
    return Baskets(names=list(index), baskets=baskets)


def read_baskets(path: Path) -> Baskets:
    """`parse_baskets` of a text file (gzip-compressed when its name ends in .gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return parse_baskets(lines)


def split(
    baskets: Sequence[list[int]], *, seed: int, test_share: float = 0.2
) -> tuple[list[list[int]], list[list[int]]]:
    """A fixed-seed split of baskets into (train, test)."""
    order = list(range(len(baskets)))
    random.Random(seed).shuffle(order)
    cut = round(len(order) * (1 - test_share))
    return [baskets[i] for i in order[:cut]], [baskets[i] for i in order[cut:]]


@dataclass(frozen=True, slots=True)
class Quality:
    """Hit rate at k over every (basket, hidden item) trial, and the share of the catalog
    that appeared in any list."""

    trials: int
    hits: int
    coverage: float
    outcomes: tuple[bool, ...] = ()
    """Hit or miss of each trial, in a fixed order, to compare two recommenders pair-wise."""

    @property
    def hit_rate(self) -> float:
        return self.hits / self.trials if self.trials else 0.0


def evaluate(
    recommend: Recommender,
    test: Iterable[list[int]],
    *,
    catalog_size: int,
    k: int = 10,
) -> Quality:
    """Score `recommend` on every test basket of two or more items, each item hidden in turn."""
    outcomes: list[bool] = []
    shown: set[int] = set()
    for basket in test:
        if len(basket) < 2:
            continue
        for position, hidden in enumerate(basket):
            visible = basket[:position] + basket[position + 1 :]
            picked = recommend(visible)[:k]
            outcomes.append(hidden in picked)
            shown.update(picked)
    return Quality(
        trials=len(outcomes),
        hits=sum(outcomes),
        coverage=len(shown) / catalog_size,
        outcomes=tuple(outcomes),
    )
