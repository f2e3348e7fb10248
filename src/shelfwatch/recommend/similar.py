"""Similar products by their words: name (brand words taken out), regional names in any
script, and the brand, compared within one category.

The words come from the catalog matcher's preparation (`catalog.similarity.prepare`), so
"haldi" and "turmeric" and a Devanagari name land on the same words here as they do when
the matcher looks for duplicates. Pure: the refresh hands in the products' records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from shelfwatch.catalog.similarity import ProductRecord, prepare

__all__ = ["Described", "similar_lists"]

# Products per block of rows multiplied at once: bounds the memory of one product of
# sparse matrices in a large category.
_BLOCK = 2000
# Below this cosine two products share only a weak word or two: not worth showing.
MIN_SIMILARITY = 0.15


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
    """Each product's `limit` most similar products of its own category (uncategorised
    products among themselves), best first, with their cosine similarity."""
    by_category: dict[int | None, list[Described]] = defaultdict(list)
    for described in products:
        by_category[described.category_id].append(described)
    found: dict[int, list[tuple[int, float]]] = {}
    for members in by_category.values():
        if len(members) < 2:
            continue
        found.update(_within(members, limit))
    return found


def _within(members: list[Described], limit: int) -> dict[int, list[tuple[int, float]]]:
    documents = [words_of(m.record) for m in members]
    if not any(documents):
        return {}
    vectorizer = TfidfVectorizer(analyzer=lambda words: words, sublinear_tf=True)
    matrix = vectorizer.fit_transform(documents)
    ids = np.array([m.product_id for m in members])
    found: dict[int, list[tuple[int, float]]] = {}
    for start in range(0, len(members), _BLOCK):
        block = (matrix[start : start + _BLOCK] @ matrix.T).toarray()
        for offset, row in enumerate(block):
            row[start + offset] = 0.0  # never itself
            candidates = np.flatnonzero(row >= MIN_SIMILARITY)
            if not len(candidates):
                continue
            scores = row[candidates]
            order = np.lexsort((ids[candidates], -scores))[:limit]
            found[int(ids[start + offset])] = [
                (int(ids[candidates[i]]), float(scores[i])) for i in order
            ]
    return found
