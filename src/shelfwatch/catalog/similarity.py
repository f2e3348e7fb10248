"""Score how likely two product records describe the same product.

One scorer for the catalog and the benchmarks: the pair's features (`matcher_model`) go
through the shipped gradient-boosted model (`matcher_model.json`, loaded once per process),
with the word statistics of the catalog the records come from. Four rules stand above the
model: a shared barcode is decisive, and a different net quantity, two different barcodes
(GS1 gives each trade item its own GTIN) or two model numbers of one kind neither of which
the other record holds make a different product, however alike the names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .matcher_model import TreeModel, load_model
from .pair_features import FEATURES, pair_evidence
from .record_features import CorpusStats, PreparedRecord, ProductRecord, prepare

__all__ = [
    "CANDIDATE_THRESHOLD",
    "FEATURES",
    "MATCH_THRESHOLD",
    "CorpusStats",
    "PairScore",
    "PreparedRecord",
    "ProductRecord",
    "prepare",
    "score_many",
    "score_pair",
]

MATCH_THRESHOLD = 0.5
"""A score at or above this means "the same product" (the model's validated threshold)."""
CANDIDATE_THRESHOLD = 0.2
"""A score at or above this (and below MATCH_THRESHOLD) is worth showing as a possible duplicate."""

# A different net quantity is a different product whatever the name says (Amul Butter 100 g
# is not Amul Butter 500 g), and so is a different barcode, so such a pair is held just
# under the match threshold: still shown as a candidate, never taken as the same product.
# Two model numbers of one kind that neither record's text holds (not even without a finish
# suffix) are two models the same: a rule of any product listing, which a model fitted on
# products without model numbers (groceries) could never learn from its own pairs. It
# fired on 1 of Abt-Buy's 206 valid matches and 1,418 of its non-matches.
_DIFFERENT_CAP = MATCH_THRESHOLD - 0.01
_BARCODE_DIFFERS = FEATURES.index("barcode_differs")
_MODEL_CONFLICT = FEATURES.index("model_conflict")


@dataclass(frozen=True, slots=True)
class PairScore:
    """A score in 0..1 and short reasons a reviewer can read."""

    score: float
    reasons: tuple[str, ...]

    @property
    def is_match(self) -> bool:
        """True when the score reaches MATCH_THRESHOLD."""
        return self.score >= MATCH_THRESHOLD


def _as_prepared(
    record: ProductRecord | PreparedRecord, stats: CorpusStats | None
) -> PreparedRecord:
    return record if isinstance(record, PreparedRecord) else prepare(record, stats)


def score_many(
    query: ProductRecord | PreparedRecord,
    others: Sequence[ProductRecord | PreparedRecord],
    *,
    stats: CorpusStats | None = None,
    model: TreeModel | None = None,
) -> list[PairScore]:
    """Score `query` against each of `others` in one pass of the model."""
    if not others:
        return []
    model = model or load_model()
    pq = _as_prepared(query, stats)
    evidence = [pair_evidence(pq, _as_prepared(other, stats)) for other in others]
    scores = model.probabilities(np.asarray([e.values for e in evidence], dtype=np.float64))
    out = []
    for e, raw in zip(evidence, scores.tolist(), strict=True):
        score = raw
        if e.same_barcode:
            score = max(score, 0.99)
        elif e.quantity_differs or e.values[_BARCODE_DIFFERS] or e.values[_MODEL_CONFLICT]:
            score = min(score, _DIFFERENT_CAP)
        out.append(PairScore(score=round(score, 4), reasons=e.reasons))
    return out


def score_pair(
    a: ProductRecord | PreparedRecord,
    b: ProductRecord | PreparedRecord,
    *,
    stats: CorpusStats | None = None,
    model: TreeModel | None = None,
) -> PairScore:
    """Score two records (raw or `prepare`d) in 0..1 with the reasons behind it.

    A shared barcode is decisive; a different net quantity, barcode or model number keeps
    the score under MATCH_THRESHOLD whatever the other features say.
    """
    return score_many(a, [b], stats=stats, model=model)[0]
