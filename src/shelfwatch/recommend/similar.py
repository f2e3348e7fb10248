"""Similar products by their words: name (brand words taken out), regional names in any
script, and the brand, compared within one category.

The words come from the catalog matcher's preparation (`catalog.similarity.prepare`), so
"haldi" and "turmeric" and a Devanagari name land on the same words here as they do when
the matcher looks for duplicates. Pure: the refresh hands in the products' records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from shelfwatch.catalog.similarity import ProductRecord, prepare

__all__ = ["Described", "lists_of_category", "similar_lists"]

# Products per block of rows multiplied at once: bounds the memory of one product of
# sparse matrices in a large category.
_BLOCK = 2000
# Below this cosine two uncategorised products share only a weak word or two: not worth
# showing. Within a category every product is a candidate (a croissant and a cinnamon roll
# share no word but one shelf), those sharing words first.
MIN_SIMILARITY = 0.15
SAME_CATEGORY = 0.1


@dataclass(frozen=True, slots=True)
class Described:
    """One product as the similarity sees it."""

    product_id: int
    category_id: int | None
    record: ProductRecord


def words_of(record: ProductRecord) -> list[str]:
    """The words two products are compared on: the name's core words, each regional name's
    words, and the brand as one word of its own."""
    prepared = prepare(record)
    words = list(prepared.core)
    for regional in prepared.regional:
        words.extend(regional.split())
    if prepared.brand_key:
        words.append(f"brand:{prepared.brand_key}")
    return words


def similar_lists(
    products: Sequence[Described], *, limit: int
) -> dict[int, list[tuple[int, float]]]:
    """Each product's `limit` most similar products of its own category, best first: the
    cosine of their words plus SAME_CATEGORY. Uncategorised products are compared among
    themselves and need a cosine of MIN_SIMILARITY."""
    by_category: dict[int | None, list[Described]] = defaultdict(list)
    for described in products:
        by_category[described.category_id].append(described)
    found: dict[int, list[tuple[int, float]]] = {}
    for category_id, members in by_category.items():
        found.update(lists_of_category(members, category_id=category_id, limit=limit))
    return found


def lists_of_category(
    members: Sequence[Described], *, category_id: int | None, limit: int
) -> Iterator[tuple[int, list[tuple[int, float]]]]:
    """The lists of one category's products (`category_id` None: the uncategorised ones),
    as (product id, its `limit` most similar, best first); the refresh writes them a
    category at a time, so only one category's lists are held at once."""
    if len(members) < 2:
        return iter(())
    return _within(list(members), limit, categorised=category_id is not None)


def _within(
    members: list[Described], limit: int, *, categorised: bool
) -> Iterator[tuple[int, list[tuple[int, float]]]]:
    # A product without a telling word gets a word of its own: it matches nothing by words.
    documents = [words_of(m.record) or [f"#{m.product_id}"] for m in members]
    vectorizer = TfidfVectorizer(analyzer=lambda words: words, sublinear_tf=True)
    matrix = vectorizer.fit_transform(documents)
    ids = np.array([m.product_id for m in members])
    for start in range(0, len(members), _BLOCK):
        block = (matrix[start : start + _BLOCK] @ matrix.T).toarray()
        if categorised:
            block = block + SAME_CATEGORY
        floor = SAME_CATEGORY if categorised else MIN_SIMILARITY
        for offset, row in enumerate(block):
            row[start + offset] = 0.0  # never itself
            candidates = np.flatnonzero(row >= floor)
            if not len(candidates):
                continue
            scores = row[candidates]
            if len(scores) > limit:
                # Only what can make the list is sorted: every score at least the
                # limit-th best (ties at that score all kept, so the order is the same).
                cut = np.partition(scores, len(scores) - limit)[len(scores) - limit]
                keep = scores >= cut
                candidates, scores = candidates[keep], scores[keep]
            order = np.lexsort((ids[candidates], -scores))[:limit]
            yield (
                int(ids[start + offset]),
                [(int(ids[candidates[i]]), float(scores[i])) for i in order],
            )
