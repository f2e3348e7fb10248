"""Pair features of the matcher: what two prepared product records share and where they
conflict, as numbers in FEATURES order plus the reasons a reviewer reads.

Features are ones that carry across kinds of products rather than words of one data set:
word TF-IDF cosines (typo-, abbreviation- and joined-word-tolerant), character 3-gram
cosine, how much of each name the other covers (listings padded with vendor names, SKUs and
platform text), model-code and number agreement and conflict (a code found in the other's
name, not only its description), the rarest word each name alone holds, edition/version/platform
words present on one side only or differing, colour, brand agreement (missing brands
apart), net quantity in canonical units, regional names, names compared by sound across
scripts, and the price ratio when both prices are known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .listing_words import LICENCE_WORDS, OTHER_SYSTEMS
from .normalize import abbreviates, contains_code
from .record_features import (
    PreparedRecord,
    brand_evidence,
    model_evidence,
    name_similarity,
)

FEATURES: tuple[str, ...] = (
    "word_cosine",
    "core_cosine",
    "core_chars",
    "core_differ",
    "char_cosine",
    "cover_min",
    "cover_max",
    "joined_partial",
    "model_match",
    "model_in_name",
    "model_conflict",
    "model_variant",
    "codes_both",
    "code_suffix_conflict",
    "numbers_shared",
    "numbers_conflict",
    "unmatched_heavy",
    "year_conflict",
    "version_conflict",
    "spec_conflict",
    "licence_one_side",
    "tier_one_side",
    "edition_conflict",
    "platform_one_side",
    "platform_conflict",
    "colour_differs",
    "accessory_one_side",
    "made_for_other",
    "brand",
    "quantity",
    "regional",
    "sound",
    "price_ratio",
    "barcode_differs",
)
MISSING = -1.0  # a feature that cannot be computed for the pair (no price, no numbers)
# How each feature may move the score: +1 only up, -1 only down, 0 either way. Constraining
# the trees so keeps a small data set from teaching that more alike names or a model-code
# conflict could ever make a match likelier: rules that hold for any kind of product.
_RISING = {
    "word_cosine",
    "core_cosine",
    "core_chars",
    "char_cosine",
    "cover_min",
    "cover_max",
    "joined_partial",
    "model_match",
    "model_in_name",
    "numbers_shared",
    "brand",
    "quantity",
    "regional",
    "sound",
}
_FALLING = {
    "core_differ",
    "model_conflict",
    "model_variant",
    "code_suffix_conflict",
    "numbers_conflict",
    "unmatched_heavy",
    "year_conflict",
    "version_conflict",
    "spec_conflict",
    "licence_one_side",
    "tier_one_side",
    "edition_conflict",
    "platform_one_side",
    "platform_conflict",
    "colour_differs",
    "accessory_one_side",
    "made_for_other",
    "barcode_differs",
}
MONOTONIC = tuple(1 if f in _RISING else -1 if f in _FALLING else 0 for f in FEATURES)


def _aligned(a: PreparedRecord, b: PreparedRecord) -> tuple[dict[str, float], dict[str, float]]:
    """Both records' word weights with words one side runs together that the other splits
    merged ("spysweeper" / "spy sweeper")."""
    wa, wb = dict(a.all_weights), dict(b.all_weights)
    for x, y, wy in ((a, b, wb), (b, a, wa)):
        rest = set(x.words) - set(y.words)
        for first, second in zip(y.words, y.words[1:], strict=False):
            joined = first + second
            if joined in rest and first in wy and second in wy:
                # A doubled word ("peri peri" / "periperi") is one key in the weights.
                weight = max(wy.pop(first), wy.pop(second, 0.0))
                wy[joined] = max(weight, x.all_weights.get(joined, weight))
    return wa, wb


def _near(word: str, others: list[str]) -> tuple[str, float]:
    """The word of `others` that is `word` with a typo, or an abbreviation of it or it of
    them ("prem" / "premium"), with how much it counts (0..1); ("", 0) when none is."""
    if not word.isalpha():
        return "", 0.0
    for other in others:
        short, long = (word, other) if len(word) <= len(other) else (other, word)
        if abbreviates(short, long):
            return other, 0.8
    if len(word) >= 4:
        hit = process.extractOne(word, others, scorer=fuzz.ratio, score_cutoff=80)
        if hit and hit[0].isalpha():
            return hit[0], hit[1] / 100.0
    return "", 0.0


def _word_overlap(wa: dict[str, float], wb: dict[str, float]) -> tuple[float, float, float]:
    """(weighted cosine, share of a's weight matched, share of b's) with near words
    counted as partly the same."""
    na = sum(w * w for w in wa.values())
    nb = sum(w * w for w in wb.values())
    if not na or not nb:
        return 0.0, 0.0, 0.0
    # In a's word order, not a set's: a sum in hash order differs in its last bits from one
    # process to the next, and so would the model fitted on it.
    common = {t: None for t in wa if t in wb}
    dot = sum(wa[t] * wb[t] for t in common)
    got_a = sum(wa[t] ** 2 for t in common)
    got_b = sum(wb[t] ** 2 for t in common)
    rest_b = [t for t in wb if t not in common and t.isalpha() and len(t) >= 3]
    for t in wa:
        if t in common or not rest_b:
            continue
        hit, credit = _near(t, rest_b)
        if hit:
            dot += wa[t] * wb[hit] * credit
            got_a += wa[t] ** 2 * credit
            got_b += wb[hit] ** 2 * credit
            rest_b.remove(hit)
    return dot / math.sqrt(na * nb), got_a / na, got_b / nb


def _numbers(a: PreparedRecord, b: PreparedRecord) -> tuple[float, float, float]:
    if not a.numbers or not b.numbers:
        return MISSING, 0.0, 0.0
    shared = a.numbers & b.numbers
    # A number one name holds may be in the other's model code or description.
    a_only = [n for n in a.numbers - shared if n not in b.haystack]
    b_only = [n for n in b.numbers - shared if n not in a.haystack]
    years_a = {n for n in a.numbers if len(n) == 4 and n[:2] in ("19", "20")}
    years_b = {n for n in b.numbers if len(n) == 4 and n[:2] in ("19", "20")}
    year_conflict = float(bool(years_a and years_b and not years_a & years_b))
    jaccard = len(shared) / len(a.numbers | b.numbers)
    return jaccard, float(bool(a_only and b_only)), year_conflict


def _version_conflict(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Both names number one word differently and neither holds the other's number
    ("saga 3" / "saga 4", "compiler v8" / "compiler 9"): another version or size."""
    if not a.numbered or not b.numbered:
        return False
    return any(
        word == other and number != theirs and number not in b.numbers and theirs not in a.numbers
        for word, number in a.numbered
        for other, theirs in b.numbered
    )


def _spec_conflict(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Both names give one specification different values, and neither holds the other's
    ("8gb" / "16gb", "720p" / "1080p", "3g" / "4g"): another model of the line."""
    if not a.specs or not b.specs:
        return False
    for unit in {u for u, _ in a.specs} & {u for u, _ in b.specs}:
        mine = {v for u, v in a.specs if u == unit}
        theirs = {v for u, v in b.specs if u == unit}
        if not any(_same_value(x, y) for x in mine for y in theirs):
            return True
    return False


def _same_value(x: str, y: str) -> bool:
    """Whether two written values are one, or one is the other rounded to a whole number
    ("14.7" megapixels written "14" or "15" by another shop)."""
    if x == y:
        return True
    if ("." in x) == ("." in y):
        return False
    exact, whole = (x, y) if "." in x else (y, x)
    value = float(exact)
    return int(whole) in (math.floor(value), math.ceil(value))


def _suffix_conflict(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Both names hold one model with different finish suffixes ("f360b" / "f360w")."""
    return any(
        sx == sy and x != y and x != sx and y != sy
        for x, sx in zip(a.codes, a.stems, strict=True)
        for y, sy in zip(b.codes, b.stems, strict=True)
    )


def _abbreviated(word: str, others: tuple[str, ...]) -> bool:
    """Whether `others` hold `word` cut short ("prem" of "premium") or it cuts one of them."""
    return any(abbreviates(word, o) or abbreviates(o, word) for o in others)


def _one_side_and_conflict(
    a: PreparedRecord, b: PreparedRecord, x: frozenset[str], y: frozenset[str]
) -> tuple[frozenset[str], float]:
    """Marked words (edition or platform) one name holds and the other does not, a word the
    other abbreviates ("prem" / "premium") apart; and whether both name different ones."""
    only = frozenset(w for w in x - y if not _abbreviated(w, b.words)) | frozenset(
        w for w in y - x if not _abbreviated(w, a.words)
    )
    x_own, y_own = x - y, y - x
    return only, float(bool(x and y and x_own and y_own and only))


def _comparable_codes(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Whether the names hold codes of one kind: both led by letters (model numbers,
    "xsreb1855") or both by digits (catalog or part numbers, "2762b003", "920000264"). A
    maker's catalog number against a shop's model number says nothing either way."""
    return any(x[0].isdigit() == y[0].isdigit() for x in a.codes for y in b.codes)


def _accessory_one_side(a: PreparedRecord, b: PreparedRecord) -> bool:
    """One name is an accessory ("case for kelvo nano", "kelvo player case") and the other
    neither is one nor names that accessory: the accessory, not the product it fits."""
    for x, y in ((a, b), (b, a)):
        if x.accessories and not y.accessories:
            # "mount" / "mounting kit", "charger" / "charging cradle" name it too.
            stems = {t[:5] for t in x.accessories}
            if not any(t[:5] in stems for t in y.words if t.isalpha()):
                return True
    return False


def _misspelt(word: str, others: list[str]) -> bool:
    return bool(process.extractOne(word, others, scorer=fuzz.ratio, score_cutoff=80))


def _made_for_other(a: PreparedRecord, b: PreparedRecord) -> bool:
    """One name is a thing sold for a product ("hard shell case for kelvo nano") and the
    other names none of what that thing is, nor is sold for anything itself: the other is
    the product it fits ("kelvo nano 4gb"), not the thing."""
    for x, y in ((a, b), (b, a)):
        if x.made_for and not y.made_for:
            others = [t for t in y.words if t.isalpha()]
            stems = {t[:5] for t in others}
            # Named the same, run together ("cush top" / "cushtop") or misspelt.
            if not any(
                t[:5] in stems
                or (len(t) >= 4 and t in y.joined)
                or (len(t) >= 5 and _misspelt(t, others))
                for t in x.made_for
            ):
                return True
    return False


def _code_in_name(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Whether a model code of one name is in the other's name, not only in its description
    (which may list the models an accessory or a cartridge fits)."""
    return any(contains_code(b.name_compact, c) for c in a.codes) or any(
        contains_code(a.name_compact, c) for c in b.codes
    )


def _unmatched_heavy(a: PreparedRecord, b: PreparedRecord) -> float:
    """The smaller of the two names' heaviest word the other name lacks (not even inside its
    run-together words), as a share of the heaviest word of both: a rare word on each side
    alone ("genesis" / "spirit") says two products, padding on one side does not."""
    wa, wb = a.all_weights, b.all_weights
    top = max(max(wa.values(), default=0.0), max(wb.values(), default=0.0))
    if not top:
        return 0.0
    lone_a = max((w for t, w in wa.items() if t not in wb and t not in b.joined), default=0.0)
    lone_b = max((w for t, w in wb.items() if t not in wa and t not in a.joined), default=0.0)
    return min(lone_a, lone_b) / top


def _sound(a: PreparedRecord, b: PreparedRecord) -> float:
    best = fuzz.token_sort_ratio(a.keys, b.keys)
    for x, y in ((a, b), (b, a)):
        for local in x.regional_keys:
            best = max(best, fuzz.token_sort_ratio(local, y.keys))
            for other in y.regional_keys:
                best = max(best, fuzz.token_sort_ratio(local, other))
    return best / 100.0


def _regional(a: PreparedRecord, b: PreparedRecord) -> float:
    best = 0.0
    for x, y in ((a, b), (b, a)):
        for local in x.regional:
            for other in (y.plain_name, *y.regional):
                best = max(best, fuzz.token_sort_ratio(local, other) / 100.0)
    return best


@dataclass(frozen=True, slots=True)
class PairEvidence:
    """The feature values of a pair (in FEATURES order) and the reasons a reviewer reads."""

    values: tuple[float, ...]
    reasons: tuple[str, ...]
    same_barcode: bool
    quantity_differs: bool


def pair_evidence(a: PreparedRecord, b: PreparedRecord) -> PairEvidence:
    """Every feature of a prepared pair, with short readable reasons."""
    reasons: list[str] = []
    same_barcode = bool(a.barcode) and a.barcode == b.barcode
    barcode_differs = bool(a.barcode and b.barcode) and not same_barcode
    if same_barcode:
        reasons.append("same barcode")
    elif barcode_differs:
        reasons.append("different barcodes")

    wa, wb = _aligned(a, b)
    word_cos, cover_a, cover_b = _word_overlap(wa, wb)
    core_words, core_chars, core_differ = name_similarity(a, b)
    char_cos = sum(v * b.grams.get(g, 0.0) for g, v in a.grams.items())
    short, long = sorted((a.joined, b.joined), key=len)
    partial = fuzz.partial_ratio(short, long) / 100.0 if short else 0.0
    regional = _regional(a, b) if a.regional or b.regional else 0.0
    sound = _sound(a, b)
    if regional >= 0.88:
        reasons.append("regional name matches")
    elif sound >= 0.85 and word_cos < 0.6:
        reasons.append("names sound alike across scripts")
    reasons.append(f"name {max(word_cos, core_chars):.2f} similar")

    model, code, variant = model_evidence(a, b)
    in_name = float(bool(model) and _code_in_name(a, b))
    conflict = not model and not variant and _comparable_codes(a, b)
    if model:
        reasons.append(f"same model number {code}")
    elif variant:
        reasons.append(f"variants of model {code}")
    elif conflict:
        reasons.append(f"model numbers differ: {a.codes[0]} vs {b.codes[0]}")
    suffix_conflict = _suffix_conflict(a, b)
    if suffix_conflict and not variant:
        reasons.append("model suffixes differ")
    numbers_shared, numbers_conflict, year_conflict = _numbers(a, b)
    version_conflict = _version_conflict(a, b)
    spec_conflict = _spec_conflict(a, b)
    if spec_conflict:
        reasons.append("specifications differ")
    if numbers_conflict:
        differing = sorted(a.numbers ^ b.numbers)
        reasons.append(f"numbers differ: {' '.join(differing[:4])}")
    editions, edition_conflict = _one_side_and_conflict(a, b, a.editions, b.editions)
    platforms, platform_conflict = _one_side_and_conflict(a, b, a.platforms, b.platforms)
    # Only an operating system other than the one a PC listing means by default counts on
    # one side.
    platform_one = len(platforms & OTHER_SYSTEMS)
    licence_one = len(editions & LICENCE_WORDS)
    if editions:
        reasons.append(f"edition words differ: {' '.join(sorted(editions))}")
    if platform_conflict or platform_one:
        reasons.append(f"platform differs: {' '.join(sorted(platforms))}")
    colours_differ = bool(a.colours and b.colours and not a.colours & b.colours)
    if colours_differ:
        reasons.append(
            f"colour differs: {' '.join(sorted(a.colours))} vs {' '.join(sorted(b.colours))}"
        )
    accessory = _accessory_one_side(a, b)
    if accessory:
        reasons.append("an accessory against the product it fits")
    brand = brand_evidence(a, b)
    # Ordered worst to best for the model: different brands, a brand the other name does
    # not mention, unknown, the same brand.
    brand_value = {-1: -1.0, -2: -0.5, 0: 0.0, 1: 1.0}[brand]
    if brand == 1:
        reasons.append("same brand")
    elif brand == -1:
        reasons.append(f"different brands: {a.record.brand} vs {b.record.brand}")
    elif brand == -2:
        reasons.append("brand not in the other name")
    qa, qb = a.quantity, b.quantity
    quantity = 0.0
    if qa is not None and qb is not None:
        quantity = 1.0 if qa == qb else -1.0
        reasons.append(f"same quantity: {qa}" if qa == qb else f"quantity differs: {qa} vs {qb}")
    price_ratio = MISSING
    if a.price and b.price:
        price_ratio = min(a.price, b.price) / max(a.price, b.price)
    values = (
        word_cos,
        core_words,
        core_chars,
        core_differ,
        char_cos,
        min(cover_a, cover_b),
        max(cover_a, cover_b),
        partial,
        model,
        in_name,
        float(conflict),
        float(variant),
        float(bool(a.codes and b.codes)),
        float(suffix_conflict),
        numbers_shared,
        numbers_conflict,
        _unmatched_heavy(a, b),
        year_conflict,
        float(version_conflict),
        float(spec_conflict or quantity == -1.0),
        float(licence_one),
        float(len(editions) - licence_one),
        edition_conflict,
        float(platform_one),
        platform_conflict,
        float(colours_differ),
        float(accessory),
        float(_made_for_other(a, b)),
        brand_value,
        quantity,
        regional,
        sound,
        price_ratio,
        float(barcode_differs),
    )
    return PairEvidence(values, tuple(reasons), same_barcode, quantity == -1.0)
