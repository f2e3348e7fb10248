"""Score how likely two product records describe the same product.

A score is a logistic combination of a few features (name, brand, net quantity, model number,
regional names, barcode). Pure Python plus rapidfuzz: no database, no Django.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import astuple, dataclass, field, fields
from functools import lru_cache

from rapidfuzz import fuzz, process

from .normalize import (
    Quantity,
    code_stem,
    compact,
    contains_code,
    model_codes,
    normalize_text,
    parse_quantity,
    strip_language_tag,
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
class ProductRecord:
    """What the matcher knows about one product; only `name` is required."""

    name: str
    brand: str = ""
    quantity: Quantity | None = None
    regional_names: tuple[str, ...] = ()
    description: str = ""
    barcode: str | None = None

    def __post_init__(self) -> None:
        # Records are cache keys for `prepare`, so a list of regional names becomes a tuple.
        if not isinstance(self.regional_names, tuple):
            object.__setattr__(self, "regional_names", tuple(self.regional_names))


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
# Words that say little about which product it is: packaging, generic descriptors, the
# product type shared by a whole shelf, connectives.
_WEAK_TEXT = """
    pack packet pouch jar bottle box tin can carton refill combo new offer free pet tetra
    family value saver economy pure fresh natural original instant refined homogenised
    pasteurised pasteurized processed powder biscuits biscuit cookies chips namkeen and with
    of the for in by"""
_WEAK_WORDS = frozenset(_WEAK_TEXT.split())
_WEAK_WEIGHT = 0.3
# Colour is how electronics (and some packaged goods) tell variants apart.
_COLOUR_TEXT = """
    black white silver gold red blue green pink purple violet yellow orange grey gray brown
    beige cyan magenta titanium graphite navy cherry plum bronze chrome ivory maroon teal
    turquoise"""
_COLOURS = frozenset(_COLOUR_TEXT.split())
_QUANTITY_TOKEN = re.compile(r"^\d+(?:\.\d+)?(?:g|ml|pcs)$")
_SAME_TEXT = 88.0  # rapidfuzz ratio at/above which two names or brands are one spelling
_SAME_WORD = 80.0  # ratio at/above which two words are one word with a typo


@dataclass(eq=False)
class CorpusStats:
    """Token document frequencies over a catalog, for IDF weighting of name tokens.

    Optional: without it every token weighs 1 (weak words less). Build it once with
    `CorpusStats.from_names(names)` and pass the same object to `prepare` and `score_pair`.
    """

    documents: int = 0
    frequencies: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> CorpusStats:
        stats = cls()
        for name in names:
            stats.documents += 1
            stats.frequencies.update(set(normalize_text(name).split()))
        return stats

    def idf(self, token: str) -> float:
        return math.log((self.documents + 1) / (self.frequencies.get(token, 0) + 1)) + 1.0


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """Per-record features computed once so that scoring a pair is cheap."""

    record: ProductRecord
    core: tuple[str, ...]  # name words without the brand's words and quantities
    core_text: str
    name_tokens: frozenset[str]
    name_key: str  # the name's words run together, to find a brand inside it
    plain_name: str  # the name without quantities, to compare with regional names
    brand_key: str
    brand_tokens: frozenset[str]
    quantity: Quantity | None
    regional: tuple[str, ...]
    codes: tuple[str, ...]
    stems: tuple[str, ...]  # code_stem of each code, in the same order
    colours: frozenset[str]
    haystack: str
    barcode: str
    weights: dict[str, float]
    norm: float


@dataclass(frozen=True, slots=True)
class PairScore:
    """A score in 0..1 and short reasons a reviewer can read."""

    score: float
    reasons: tuple[str, ...]

    @property
    def is_match(self) -> bool:
        return self.score >= MATCH_THRESHOLD


def _token_weight(token: str, stats: CorpusStats | None) -> float:
    base = stats.idf(token) if stats is not None else 1.0
    return base * _WEAK_WEIGHT if token in _WEAK_WORDS else base


def _is_brand_word(token: str, brand_key: str, brand_tokens: frozenset[str]) -> bool:
    return token in brand_tokens or (
        len(token) >= 3 and fuzz.ratio(token, brand_key, score_cutoff=_SAME_TEXT) > 0
    )


@lru_cache(maxsize=8192)
def prepare(record: ProductRecord, stats: CorpusStats | None = None) -> PreparedRecord:
    """Features of one record; cached, so repeated scoring of the same record is cheap."""
    brand_norm = normalize_text(record.brand)
    brand_key = brand_norm.replace(" ", "")
    brand_tokens = frozenset(brand_norm.split())
    words = [t for t in normalize_text(record.name).split() if not _QUANTITY_TOKEN.match(t)]
    core = tuple(t for t in words if not _is_brand_word(t, brand_key, brand_tokens)) or tuple(words)
    regional = tuple(
        text
        for text in (normalize_text(strip_language_tag(n)) for n in record.regional_names)
        if text
    )
    codes = model_codes(record.name)
    weights = {t: _token_weight(t, stats) for t in set(core)}
    return PreparedRecord(
        record=record,
        core=core,
        core_text=" ".join(core),
        name_tokens=frozenset(words),
        name_key="".join(words),
        plain_name=" ".join(words),
        brand_key=brand_key,
        brand_tokens=brand_tokens,
        quantity=record.quantity or parse_quantity(record.name),
        regional=regional,
        codes=codes,
        stems=tuple(code_stem(c) for c in codes),
        colours=frozenset(words) & _COLOURS,
        haystack=compact(f"{record.name} {record.description}"),
        barcode=re.sub(r"\D", "", record.barcode or "").lstrip("0"),
        weights=weights,
        norm=math.sqrt(sum(w * w for w in weights.values())),
    )


def _model_evidence(a: PreparedRecord, b: PreparedRecord) -> tuple[float, str, bool]:
    """(1 same code / 0.8 same code but for a suffix / 0, the code, suffixes conflict)."""
    for x, y in ((a, b), (b, a)):
        for code in x.codes:
            if contains_code(y.haystack, code):
                return 1.0, code, False
    variant = ""
    for x, y in ((a, b), (b, a)):
        for code, stem in zip(x.codes, x.stems, strict=True):
            if not contains_code(y.haystack, stem):
                continue
            # "dscw150n" against "dscw150r": one model in two colours, not the same product.
            if stem != code and any(
                other not in (stem, code) and other_stem == stem
                for other, other_stem in zip(y.codes, y.stems, strict=True)
            ):
                variant = stem
                continue
            return 0.8, stem, False
    return 0.0, variant, bool(variant)


def _brand_evidence(a: PreparedRecord, b: PreparedRecord) -> int:
    """1 same brand, -1 different brands, -2 one brand not named by the other, 0 unknown."""
    if a.brand_key and b.brand_key:
        if (
            a.brand_key == b.brand_key
            or fuzz.ratio(a.brand_key, b.brand_key) >= _SAME_TEXT
            # "Sunfeast" and "ITC Sunfeast", "Tata" and "Tata Sampann"
            or a.brand_tokens <= b.brand_tokens
            or b.brand_tokens <= a.brand_tokens
        ):
            return 1
        shorter, longer = sorted((a.brand_key, b.brand_key), key=len)
        return 1 if len(shorter) >= 4 and longer.startswith(shorter) else -1
    known, other = (a, b) if a.brand_key else (b, a)
    if not known.brand_key:
        return 0
    if len(known.brand_key) >= 3 and known.brand_key in other.name_key:
        return 1
    if any(_is_brand_word(t, known.brand_key, known.brand_tokens) for t in other.name_tokens):
        return 1
    return -2


def _without_brand(x: PreparedRecord, y: PreparedRecord) -> tuple[dict[str, float], float]:
    """x's word weights, leaving out y's brand words when x has no brand of its own."""
    if x.brand_key or not y.brand_key:
        return x.weights, x.norm
    kept = {
        t: w for t, w in x.weights.items() if not _is_brand_word(t, y.brand_key, y.brand_tokens)
    }
    if not kept or len(kept) == len(x.weights):
        return x.weights, x.norm
    return kept, math.sqrt(sum(w * w for w in kept.values()))


def _name_similarity(a: PreparedRecord, b: PreparedRecord) -> tuple[float, float, float]:
    """Names without brands: (typo-tolerant weighted word cosine, character similarity,
    how much of each name the other leaves unmatched, the smaller of the two)."""
    a_w, a_norm = _without_brand(a, b)
    b_w, b_norm = _without_brand(b, a)
    if not a_norm or not b_norm:
        return 0.0, 0.0, 0.0
    common = a_w.keys() & b_w.keys()
    dot = sum(a_w[t] * b_w[t] for t in common)
    a_left = sum(w * w for t, w in a_w.items() if t not in common)
    b_left = sum(w * w for t, w in b_w.items() if t not in common)
    # Words left over on both sides may be one word misspelt ("bakarwai", "bakarwadi");
    # words with digits are model numbers or sizes and must match exactly.
    rest_b = [t for t in b_w if t not in common and len(t) >= 4 and t.isalpha()]
    if rest_b and a_left:
        for t in a_w:
            if t in common or len(t) < 4 or not t.isalpha():
                continue
            hit = process.extractOne(t, rest_b, scorer=fuzz.ratio, score_cutoff=_SAME_WORD)
            if hit:
                dot += a_w[t] * b_w[hit[0]] * hit[1] / 100.0
                a_left -= a_w[t] ** 2
                b_left -= b_w[hit[0]] ** 2
                rest_b.remove(hit[0])
                if not rest_b:
                    break
    a_text = a.core_text if a_w is a.weights else " ".join(t for t in a.core if t in a_w)
    b_text = b.core_text if b_w is b.weights else " ".join(t for t in b.core if t in b_w)
    # "Classic Masala" against "Peppy Tomato" (both sides keep words of their own) is a
    # variant; "Good Day Cashew" against "Good Day Cashew Cookies" is not.
    differ = min(a_left / (a_norm * a_norm), b_left / (b_norm * b_norm))
    return dot / (a_norm * b_norm), fuzz.token_sort_ratio(a_text, b_text) / 100.0, differ


def _regional_similarity(a: PreparedRecord, b: PreparedRecord) -> float:
    """Best agreement (0..1) of a regional name with the other record's names."""
    best = 0.0
    for x, y in ((a, b), (b, a)):
        for local in x.regional:
            for other in (y.plain_name, *y.regional):
                best = max(best, fuzz.ratio(local, other) / 100.0)
    return best


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

    words, chars, differ = _name_similarity(pa, pb)
    regional = _regional_similarity(pa, pb) if pa.regional or pb.regional else 0.0
    if regional * 100 >= _SAME_TEXT:
        # A regional name that matches stands in for the name: "अमूल मक्खन" is Amul Butter.
        reasons.append("regional name matches")
        words, chars, differ = max(words, regional), max(chars, regional), 0.0
    else:
        regional = 0.0
    reasons.append(f"name {max(words, chars):.2f} similar")

    model, code, variant = _model_evidence(pa, pb)
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

    brand = _brand_evidence(pa, pb)
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
