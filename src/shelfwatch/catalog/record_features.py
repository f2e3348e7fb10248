"""What the matcher computes once per product record, and the evidence two records give.

`prepare` turns a `ProductRecord` into a `PreparedRecord` (normalised words, brand, quantity,
model codes, weights); the `*_evidence` and `*_similarity` functions compare two prepared
records. `similarity.score_pair` combines that evidence into one score.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import pairwise

from rapidfuzz import fuzz, process

from .listing_words import (  # noqa: F401 (the word lists are read from here too)
    DEFAULT_PLATFORMS,
    EDITION_WORDS,
    LICENCE_WORDS,
    OTHER_SYSTEMS,
    PLATFORM_WORDS,
    accessories,
    colours,
    editions,
    made_for,
)
from .normalize import (
    Quantity,
    code_stem,
    compact,
    contains_code,
    model_codes,
    network_generation,
    normalize_text,
    parse_quantity,
    strip_language_tag,
)
from .romanize import canonical_words, sound_key

SAME_TEXT = 88.0  # rapidfuzz ratio at/above which two names or brands are one spelling


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """What the matcher knows about one product; only `name` is required."""

    name: str
    brand: str = ""
    quantity: Quantity | None = None
    regional_names: tuple[str, ...] = ()
    description: str = ""
    barcode: str | None = None
    price: float | None = None  # in any one currency; only ratios are compared

    def __post_init__(self) -> None:
        # Records are cache keys for `prepare`, so a list of regional names becomes a tuple.
        if not isinstance(self.regional_names, tuple):
            object.__setattr__(self, "regional_names", tuple(self.regional_names))


# Words that say little about which product it is: packaging, generic descriptors, the
# product type shared by a whole shelf, connectives.
_WEAK_TEXT = """
    pack packet pouch jar bottle box tin can carton refill combo new offer free pet tetra
    family value saver economy pure fresh natural original instant refined homogenised
    pasteurised pasteurized processed powder biscuits biscuit cookies chips namkeen and with
    of the for in by"""
_WEAK_WORDS = frozenset(_WEAK_TEXT.split())
_WEAK_WEIGHT = 0.3
_QUANTITY_TOKEN = re.compile(r"^\d+(?:\.\d+)?(?:g|ml|pcs)$")
_SPEC_TOKEN = re.compile(r"^(\d+(?:\.\d+)?)([a-z]{1,4})$")
# Units of measure a specification is written in, one spelling each: "16 GB" is "16gb",
# "46 inch", "46in" and 46" are one size.
_UNITS = {
    "gb": "gb", "tb": "tb", "mb": "mb", "kb": "kb", "ghz": "ghz", "mhz": "mhz", "hz": "hz",
    "mp": "mp", "megapixel": "mp", "megapixels": "mp", "inch": "in", "inches": "in",
    "in": "in", "mm": "mm", "cm": "cm", "mah": "mah", "w": "w", "watt": "w", "watts": "w",
}  # fmt: skip
_INCH_MARK = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d)?)\s*(?:\"|''|\u201d|\u2033)")
_VERSION_MARKS = frozenset({"v", "ver", "version"})
_ROMAN_TEXT = "ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi xvii xviii xix xx"
_ROMAN = {r: str(i) for i, r in enumerate(_ROMAN_TEXT.split(), start=2)}
_ROMAN.pop("v")  # a lone v is more often "version" than five
_ROMAN.pop("x")  # and a lone x "times" or an OS name
_VERSION_RE = re.compile(r"^v?(\d{1,4})(?:\.0+)?$|^v(\d+(?:\.\d+)+)$")
_SAME_WORD = 80.0  # ratio at/above which two words are one word with a typo


@dataclass(eq=False)
class CorpusStats:
    """Word document frequencies over a catalog, for IDF weighting of name words.

    Optional: without it every word weighs 1 (weak words less). The benchmark builds one
    from its tables with `from_names`; the catalog builds one per lookup from its search
    index (`matching.catalog_stats`), so both weigh words the same way. Words holding a
    digit (sizes, model numbers, versions) always weigh as the rarest words do: the search
    vocabulary does not count them, and they are the most telling words anyway.
    """

    documents: int = 0
    frequencies: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> CorpusStats:
        """Statistics counting each name as one document and each of its normalized words once."""
        stats = cls()
        for name in names:
            stats.documents += 1
            stats.frequencies.update(set(normalize_text(name).split()))
        return stats

    _memo: dict[str, float] = field(default_factory=dict, repr=False)
    _prepared: dict = field(default_factory=dict, repr=False)  # record -> PreparedRecord

    def idf(self, token: str) -> float:
        """The smoothed inverse document frequency of `token`, memoized; a token holding a digit
        weighs as a word seen in no document."""
        value = self._memo.get(token)
        if value is None:
            digit = any(ch.isdigit() for ch in token)
            count = 0 if digit else self.frequencies.get(token, 0)
            value = self._memo[token] = math.log((self.documents + 1) / (count + 1)) + 1.0
        return value


def version_words(words: Iterable[str]) -> list[str]:
    """Words with versions written one way: "v17" and "17.0" -> "17", "xi" -> "11"; the
    words "v", "ver" and "version" before a number are dropped."""
    out: list[str] = []
    items = list(words)
    for i, word in enumerate(items):
        nxt = items[i + 1] if i + 1 < len(items) else ""
        if word in _VERSION_MARKS and nxt[:1].isdigit():
            continue
        match = _VERSION_RE.match(word)
        if match:
            out.append(match.group(1) or match.group(2))
        else:
            out.append(_ROMAN.get(word, word))
    return out


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
    name_compact: str  # the name's letters and digits alone, to find a model code in it
    barcode: str
    weights: dict[str, float]
    norm: float
    # All the name's words (brand included), romanised, synonyms in English, versions one
    # way, with IDF weights: the model's word features.
    words: tuple[str, ...] = ()
    all_weights: dict[str, float] = field(default_factory=dict)
    all_norm: float = 0.0
    joined: str = ""  # the words run together, for joined/split words and char n-grams
    grams: dict[str, float] = field(default_factory=dict)  # unit-length char 3-gram vector
    numbers: frozenset[str] = frozenset()  # number words that are not quantities
    # (word, number) for a number right after a word ("saga 3", "compiler 8"): what a
    # version or a size of one product line is numbered by.
    numbered: frozenset[tuple[str, str]] = frozenset()
    editions: frozenset[str] = frozenset()
    # (unit, value) of specifications written as a number and letters ("16gb", "1080p",
    # "3g"), sizes and model numbers apart.
    specs: frozenset[tuple[str, str]] = frozenset()
    # Accessory words naming what the listing is ("case for ...", "... charger"), singular.
    accessories: frozenset[str] = frozenset()
    # What the listing is when it is sold for another product ("case" of "case for ...").
    made_for: tuple[str, ...] = ()
    platforms: frozenset[str] = frozenset()
    keys: str = ""  # sound keys of the words, for names written in two scripts
    regional_keys: tuple[str, ...] = ()
    price: float | None = None


def _token_weight(token: str, stats: CorpusStats | None) -> float:
    base = stats.idf(token) if stats is not None else 1.0
    return base * _WEAK_WEIGHT if token in _WEAK_WORDS else base


def _is_brand_word(token: str, brand_key: str, brand_tokens: frozenset[str]) -> bool:
    return token in brand_tokens or (
        len(token) >= 3 and fuzz.ratio(token, brand_key, score_cutoff=SAME_TEXT) > 0
    )


def _grams(text: str) -> dict[str, float]:
    counts = Counter(text[i : i + 3] for i in range(len(text) - 2)) if len(text) > 2 else {}
    if not counts and text:
        counts = Counter([text])
    norm = math.sqrt(sum(c * c for c in counts.values())) or 1.0
    return {g: c / norm for g, c in counts.items()}


def specifications(
    name: str, words: tuple[str, ...] | list[str], codes: set[str]
) -> list[tuple[str, str]]:
    """(unit, value) of the specifications a name gives as a number and a unit ("16gb",
    "16 GB", "1080p", "46 inch", 46\"), model numbers apart: what tells the capacities and
    sizes of one model line apart."""
    out: list[tuple[str, str]] = []
    for i, t in enumerate(words):
        if t in codes:
            continue
        m = _SPEC_TOKEN.match(t)
        if m:
            out.append((_UNITS.get(m.group(2), m.group(2)), m.group(1)))
        elif t.replace(".", "", 1).isdigit() and i + 1 < len(words) and words[i + 1] in _UNITS:
            out.append((_UNITS[words[i + 1]], t))
    out += [("in", v) for v in _INCH_MARK.findall(name.casefold())]
    return out


def _canonical(text: str) -> list[str]:
    normal = normalize_text(text)
    words = [
        t for t in normal.split() if not _QUANTITY_TOKEN.match(t) or network_generation(t, normal)
    ]
    return version_words(canonical_words(tuple(words)))


_NONE: frozenset[str] = frozenset()


def _frozen(items: Iterable[str]) -> frozenset[str]:
    # An empty set is the one shared empty set: a cached record then holds only the sets it
    # fills, and full garbage collections walk fewer objects.
    return frozenset(items) or _NONE


# 2,048: a prepared record holds about 4.5 KiB (its trigrams most), and a bulk import,
# which meets most products once, filled 8,192 of them (37 MiB) for a 7 % hit rate.
@lru_cache(maxsize=2048)
def _base(record: ProductRecord) -> PreparedRecord:
    """Everything of `prepare` but the word weights, which depend on the statistics: kept
    per record across lookups, since the catalog's statistics object is new for each."""
    brand_words = _canonical(record.brand)
    brand_key = "".join(brand_words)
    brand_tokens = _frozen(brand_words)
    words = _canonical(record.name)
    core = tuple(t for t in words if not _is_brand_word(t, brand_key, brand_tokens)) or tuple(words)
    regional_words = [_canonical(strip_language_tag(n)) for n in record.regional_names]
    regional = tuple(" ".join(w) for w in regional_words if w)
    codes = model_codes(record.name)
    joined = "".join(words)
    code_set = set(codes)
    numbers = _frozen(
        t for t in words if t.replace(".", "").isdigit() and t not in code_set and len(t) <= 6
    )
    # Whole numbers of up to 3 digits after a word that is neither the brand (a vendor's
    # SKU follows it in padded listings) nor a platform ("win 98" padding).
    numbered = _frozen(
        (prev, t)
        for prev, t in pairwise(words)
        if t in numbers
        and t.isdigit()
        and len(t) <= 3
        and prev.isalpha()
        and prev not in brand_tokens
        and prev not in PLATFORM_WORDS
    )
    return PreparedRecord(
        record=record,
        core=core,
        core_text=" ".join(core),
        name_tokens=_frozen(words),
        name_key=joined,
        plain_name=" ".join(words),
        brand_key=brand_key,
        brand_tokens=brand_tokens,
        quantity=record.quantity or parse_quantity(record.name),
        regional=regional,
        codes=codes,
        stems=tuple(code_stem(c) for c in codes),
        colours=_frozen(colours(words)),
        haystack=compact(f"{record.name} {record.description}"),
        name_compact=compact(record.name),
        barcode=re.sub(r"\D", "", record.barcode or "").lstrip("0"),
        weights={},
        norm=0.0,
        words=tuple(words),
        joined=joined,
        grams=_grams(joined),
        numbers=numbers,
        numbered=numbered,
        editions=_frozen(editions(words)),
        accessories=_frozen(accessories(words)),
        made_for=tuple(made_for(words, brand_tokens)),
        specs=_frozen(specifications(record.name, words, code_set)),
        # "win", "windows" and "pc" name one platform.
        platforms=_frozen(
            "windows" if t in DEFAULT_PLATFORMS else t for t in words if t in PLATFORM_WORDS
        ),
        keys=" ".join(sound_key(t) for t in words),
        regional_keys=tuple(" ".join(sound_key(t) for t in w) for w in regional_words if w),
        price=record.price if record.price and record.price > 0 else None,
    )


def prepare(record: ProductRecord, stats: CorpusStats | None = None) -> PreparedRecord:
    """Features of one record; cached, so repeated scoring of the same record is cheap: with
    the statistics that weighed them (for as long as `stats` lives), or process-wide without."""
    if stats is None:
        return _unweighed(record)
    # Kept on the statistics object, not in a process-wide cache: the catalog builds one per
    # lookup, and a global cache keyed by it pinned thousands of records no later lookup
    # could hit, which every full garbage collection then walked.
    prepared = stats._prepared.get(record)
    if prepared is None:
        prepared = stats._prepared[record] = _weighed(record, stats)
    return prepared


@lru_cache(maxsize=8192)
def _unweighed(record: ProductRecord) -> PreparedRecord:
    return _weighed(record, None)


def _weighed(record: ProductRecord, stats: CorpusStats | None) -> PreparedRecord:
    base = _base(record)
    # In the names' word order, not a set's: near words are paired greedily in this order,
    # and a score must not depend on the process's string hashing.
    weights = {t: _token_weight(t, stats) for t in dict.fromkeys(base.core)}
    all_weights = {t: _token_weight(t, stats) for t in dict.fromkeys(base.words)}
    return replace(
        base,
        weights=weights,
        norm=math.sqrt(sum(w * w for w in weights.values())),
        all_weights=all_weights,
        all_norm=math.sqrt(sum(w * w for w in all_weights.values())),
    )


def model_evidence(a: PreparedRecord, b: PreparedRecord) -> tuple[float, str, bool]:
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


def brand_evidence(a: PreparedRecord, b: PreparedRecord) -> int:
    """1 same brand, -1 different brands, -2 one brand not named by the other, 0 unknown."""
    if a.brand_key and b.brand_key:
        if (
            a.brand_key == b.brand_key
            or fuzz.ratio(a.brand_key, b.brand_key) >= SAME_TEXT
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
    # A brand written in another script sounds the same ("டாடா" is Tata).
    brand_sound = sound_key(known.brand_key)
    if len(brand_sound) >= 3:
        name_sound = other.keys.replace(" ", "")
        # Tamil writes s and ch alike, so two letters in ten may differ by sound alone.
        close = SAME_TEXT if len(brand_sound) < 6 else 80.0
        if brand_sound in name_sound or fuzz.partial_ratio(brand_sound, name_sound) >= close:
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


def name_similarity(a: PreparedRecord, b: PreparedRecord) -> tuple[float, float, float]:
    """Names without brands: (typo-tolerant weighted word cosine, character similarity,
    how much of each name the other leaves unmatched, the smaller of the two)."""
    a_w, a_norm = _without_brand(a, b)
    b_w, b_norm = _without_brand(b, a)
    if not a_norm or not b_norm:
        return 0.0, 0.0, 0.0
    common = {t: None for t in a_w if t in b_w}  # in word order, so sums repeat to the bit
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


def regional_similarity(a: PreparedRecord, b: PreparedRecord) -> float:
    """Best agreement (0..1) of a regional name with the other record's names."""
    best = 0.0
    for x, y in ((a, b), (b, a)):
        for local in x.regional:
            for other in (y.plain_name, *y.regional):
                best = max(best, fuzz.ratio(local, other) / 100.0)
    return best


def forget_prepared(*weighed_by: CorpusStats) -> None:
    """Empty the caches of prepared records, those kept on `weighed_by` too (for measuring
    what preparing costs)."""
    for stats in weighed_by:
        stats._prepared.clear()
    _unweighed.cache_clear()
    _base.cache_clear()
