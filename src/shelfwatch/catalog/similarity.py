"""Score how likely two product records describe the same product.

A score is a logistic combination of a few features (name, brand, net quantity, model number,
regional names, barcode). Pure Python plus rapidfuzz: no database, no Django.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields
from functools import lru_cache

from .record_features import (
    SAME_TEXT,
    CorpusStats,
    PreparedRecord,
    ProductRecord,
    brand_evidence,
    model_evidence,
    name_similarity,
    prepare,
    regional_similarity,
)

__all__ = [
    "CANDIDATE_THRESHOLD",
    "DEFAULT_WEIGHTS",
    "FEATURES",
    "MATCH_THRESHOLD",
    "CorpusStats",
    "PairScore",
    "PreparedRecord",
    "ProductRecord",
    "Weights",
    "pair_features",
    "prepare",
    "score_pair",
]


@dataclass(frozen=True, slots=True)
class Weights:
    """Logistic-regression weights, one per feature in `FEATURES` plus the bias."""

    bias: float
    name_tokens: float
    name_chars: float
    words_differ: float
    model_match: float
    model_conflict: float
    model_variant: float
    colour_differs: float
    brand_same: float
    brand_differs: float
    brand_absent: float
    quantity_same: float
    quantity_differs: float
    regional_match: float
    barcode_differs: float


FEATURES: tuple[str, ...] = tuple(f.name for f in fields(Weights))[1:]
"""Feature names in the order `pair_features` returns their values."""

# Set by hand and checked on generated grocery pairs kept apart from the test set in
# tests/data/grocery_pairs.csv: name agreement carries most of the weight, and a differing
# brand, quantity or barcode must each be able to veto an otherwise identical name. Electronics
# data (bench/abt_buy_match.py) fits other weights; these are the product's.
DEFAULT_WEIGHTS = Weights(
    bias=-6.0,
    name_tokens=5.0,
    name_chars=3.0,
    words_differ=-3.0,
    model_match=3.0,
    model_conflict=-3.0,
    model_variant=-3.0,
    colour_differs=-2.0,
    brand_same=1.5,
    brand_differs=-4.0,
    brand_absent=-2.0,
    quantity_same=1.0,
    quantity_differs=-6.0,
    regional_match=1.0,
    barcode_differs=-3.0,
)
MATCH_THRESHOLD = 0.5
"""A score at or above this means "the same product"."""
CANDIDATE_THRESHOLD = 0.25
"""A score at or above this (and below MATCH_THRESHOLD) is worth showing as a possible duplicate."""

# A different net quantity is a different product whatever the name says (Amul Butter 100 g
# is not Amul Butter 500 g), so such a pair is held just under the match threshold.
_QUANTITY_CAP = MATCH_THRESHOLD - 0.01


@dataclass(frozen=True, slots=True)
class PairScore:
    """A score in 0..1 and short reasons a reviewer can read."""

    score: float
    reasons: tuple[str, ...]

    @property
    def is_match(self) -> bool:
        return self.score >= MATCH_THRESHOLD


def _as_prepared(
    record: ProductRecord | PreparedRecord, stats: CorpusStats | None
) -> PreparedRecord:
    return record if isinstance(record, PreparedRecord) else prepare(record, stats)


def pair_features(
    a: ProductRecord | PreparedRecord,
    b: ProductRecord | PreparedRecord,
    stats: CorpusStats | None = None,
) -> tuple[tuple[float, ...], tuple[str, ...], bool]:
    """(feature values in `FEATURES` order, reasons, same barcode) for a pair."""
    pa, pb = _as_prepared(a, stats), _as_prepared(b, stats)
    reasons: list[str] = []
    same_barcode = bool(pa.barcode) and pa.barcode == pb.barcode
    barcode_differs = bool(pa.barcode and pb.barcode) and not same_barcode
    if same_barcode:
        reasons.append("same barcode")
    elif barcode_differs:
        reasons.append("different barcodes")

    words, chars, differ = name_similarity(pa, pb)
    regional = regional_similarity(pa, pb) if pa.regional or pb.regional else 0.0
    if regional * 100 >= SAME_TEXT:
        # A regional name that matches stands in for the name: "अमूल मक्खन" is Amul Butter.
        reasons.append("regional name matches")
        words, chars, differ = max(words, regional), max(chars, regional), 0.0
    else:
        regional = 0.0
    reasons.append(f"name {max(words, chars):.2f} similar")

    model, code, variant = model_evidence(pa, pb)
    conflict = not model and not variant and bool(pa.codes and pb.codes)
    if model:
        reasons.append(f"same model number {code}")
    elif variant:
        reasons.append(f"variants of model {code}")
    elif conflict:
        reasons.append(f"model numbers differ: {pa.codes[0]} vs {pb.codes[0]}")
    colours_differ = bool(pa.colours and pb.colours and not pa.colours & pb.colours)
    if colours_differ:
        reasons.append(
            f"colour differs: {' '.join(sorted(pa.colours))} vs {' '.join(sorted(pb.colours))}"
        )

    brand = brand_evidence(pa, pb)
    if brand == 1:
        reasons.append("same brand")
    elif brand == -1:
        reasons.append(f"different brands: {pa.record.brand} vs {pb.record.brand}")
    elif brand == -2:
        reasons.append("brand not in the other name")

    qa, qb = pa.quantity, pb.quantity
    quantity_same = quantity_differs = False
    if qa is not None and qb is not None:
        quantity_same = qa == qb
        quantity_differs = not quantity_same
        reasons.append(
            f"same quantity: {qa}" if quantity_same else f"quantity differs: {qa} vs {qb}"
        )

    values = (
        words,
        chars,
        differ,
        model,
        float(conflict),
        float(variant),
        float(colours_differ),
        float(brand == 1),
        float(brand == -1),
        float(brand == -2),
        float(quantity_same),
        float(quantity_differs),
        1.0 if regional else 0.0,
        float(barcode_differs),
    )
    return values, tuple(reasons), same_barcode


@lru_cache(maxsize=64)
def _vector(weights: Weights) -> tuple[float, ...]:
    return astuple(weights)


_QUANTITY_DIFFERS = FEATURES.index("quantity_differs")


def _sigmoid(z: float) -> float:
    if z < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def score_pair(
    a: ProductRecord | PreparedRecord,
    b: ProductRecord | PreparedRecord,
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    stats: CorpusStats | None = None,
) -> PairScore:
    """Score two records (raw or `prepare`d) in 0..1 with the reasons behind it.

    A shared barcode is decisive; a different net quantity keeps the score under
    MATCH_THRESHOLD whatever the other features say.
    """
    values, reasons, same_barcode = pair_features(a, b, stats)
    w = _vector(weights)
    z = w[0] + sum(wi * vi for wi, vi in zip(w[1:], values, strict=True))
    score = _sigmoid(z)
    if same_barcode:
        score = max(score, 0.99)
    elif values[_QUANTITY_DIFFERS]:
        score = min(score, _QUANTITY_CAP)
    return PairScore(score=round(score, 4), reasons=reasons)
