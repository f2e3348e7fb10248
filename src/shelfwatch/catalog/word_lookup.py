"""Products sharing words with a description, read from the full-text index: the first,
cheap step of finding candidates (`matching.find_candidates` scores what it returns).

Lookups forgive what people type: a word no product holds is corrected to the nearest
catalog word (one or two letters off), split in two ("goodday") or joined with its
neighbour ("mini box"), looked up as a prefix ("prem" of "premium"); a word in Devanagari,
Tamil and other Indic scripts is also looked up in Latin letters, and a Hindi or Tamil
grocery word also by its English name and the reverse (`romanize.py`).
"""

from __future__ import annotations

import itertools
import math
import re

from django.db import connection
from django.db.models import prefetch_related_objects
from rapidfuzz import fuzz

from shelfwatch.catalog.models import Product
from shelfwatch.catalog.romanize import english_for, romanize, spellings_for
from shelfwatch.catalog.search import MAX_TERMS, query_terms, text_words, word_matches
from shelfwatch.catalog.vocabulary import (
    COMMON_WORD,
    corrections,
    documents_holding,
    forms_in_catalog,
)

TEXT_POOL = 24  # products each word lookup hands to the scorer
# Products each word lookup reads at most, unranked, to choose its TEXT_POOL from by a
# quick comparison of their text. Not the index's own ranking: bm25 (SQLite) counts the
# products holding each word of the query, reading the whole list of a common word ("sri",
# "masala": a sixth of the catalog), and ts_rank (PostgreSQL) costs every match, so either
# costs more as the catalog grows; reading a bounded number of matches does not.
TEXT_WINDOW = 200
# A look-up whose rarer words are estimated to hold at most NARROW products together leaves
# out of the index query its words held by COMMON_WORD products or more, and checks them
# on the matches read instead: the index reads the whole list of a word it is asked for.
NARROW = 50
# Products the lookups hand on at most (in the order found: every word first), and of
# those the ones the model scores, the closest by a quick comparison of their text: the
# model costs about 0.25 ms a candidate with its preparation, the quick one 2 us.
MAX_FOUND = 48
MAX_SCORED = 24
# Only the columns the matcher and the candidate list read.
CANDIDATE_COLUMNS = ("id", "name", "brand", "net_quantity", "net_unit", "barcode", "status")
CANDIDATE_COLUMNS += ("search_text",)
# "500", "500g", "0.5kg", "g", "ml", "pcs", "x": sizes are scored, not looked up.
_QUANTITY_WORD = re.compile(
    r"\d+(?:[.,]\d+)?(?:g|gm|gms|kg|kgs|mg|ml|l|ltr|lt|pc|pcs|x)?|g|gm|gms|kg|ml|l|ltr|pcs?|x|pack"
)


def document_counts(words: list[str]) -> tuple[int, dict[str, int]]:
    """(about how many products the catalog has, {word: products holding it}): the highest
    product id (one index probe) and the search index's counts (`documents_holding`:
    exact on SQLite, the trigger-kept counts on PostgreSQL, those of common words kept by
    the process for a minute); words holding a digit are not counted."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM catalog_product")
        documents = cursor.fetchone()[0] or 0
    words = sorted({word for word in words if word.isalpha()})
    return documents, documents_holding(words) if words else {}


def _telling_words(text: str) -> list[str]:
    """The words of `text` worth looking up: not quantities, units or single letters."""
    return [
        word
        for word in query_terms(text)
        if not _QUANTITY_WORD.fullmatch(word) and not (word.isascii() and len(word) < 2)
    ]


def _alternatives(words: list[str]) -> dict[str, list[str]]:
    """{word: other words to look it up by}: its Latin letters when it is written in an
    Indic script, the English words for a Hindi/Tamil grocery word and the reverse."""
    out: dict[str, list[str]] = {}
    for word in words:
        latin = romanize(word)
        extra = [latin] if latin != word else []
        extra += english_for([word])
        extra += spellings_for(latin)
        out[word] = [e for e in dict.fromkeys(extra) if e != word]
    return out


def _splits(word: str) -> list[tuple[str, str]]:
    if not word.isalpha() or len(word) < 6:
        return []
    return [(word[:i], word[i:]) for i in range(3, len(word) - 2)]


def text_candidates(
    pool, *, name: str, brand: str, regional_names: list[str] | tuple[str, ...]
) -> list[Product]:
    """Up to a few TEXT_POOLs of products sharing words with the description.

    Selective word sets only, never "any word": an OR of common words ("powder", "milk")
    would rank half the catalog. First products holding every word (or a stand-in for it:
    see the module docstring); then, for a name that has a word the stored one lacks,
    those holding the brand (or the first word, which in grocery names usually is the
    brand) and any other word; then each regional name.
    """
    found: dict[int, str] = {}  # id: indexed text
    # Products found by lookups of every word or of the rarest ones come before those
    # holding the brand and any word, which may be many.
    precise = None
    description = f"{brand} {name}"
    words = _telling_words(description)
    regional_terms = [_telling_words(regional) for regional in regional_names]
    every = list(dict.fromkeys(word for terms in (words, *regional_terms) for word in terms))
    alternatives = _alternatives(every)
    splits = {word: _splits(word) for word in words}
    joins = [a + b for a, b in itertools.pairwise(words)]
    asked = [
        *every,
        *(alt for alts in alternatives.values() for alt in alts),
        *(part for parts in splits.values() for pair in parts for part in pair),
        *joins,
    ]
    # Whole words, but in the forms the catalog holds: "biscuit" also finds "biscuits".
    forms = forms_in_catalog(list(dict.fromkeys(asked)))
    unknown = [word for word in words if not forms.get(word)]
    fixes = corrections(unknown) if unknown else {}
    size, counts = document_counts(
        [form for held in forms.values() for form in held] + list(fixes.values())
    )

    def group(word: str) -> list[str]:
        held = list(forms.get(word) or [])
        for alt in alternatives.get(word, ()):
            held += forms.get(alt) or []
        if word in fixes:
            held.append(fixes[word])
        if not held:
            for first, second in splits.get(word, ()):
                if forms.get(first) and forms.get(second):
                    held.append(f"{first} {second}")
                    break
        return list(dict.fromkeys(held))

    def take(required: list[str], any_of: list[str] = (), *, prefix: bool = False) -> None:
        # Whole words, except for words the catalog does not hold whole: a prefix lookup
        # of a common word gathers every word it begins (42 ms against 3 ms on PostgreSQL
        # at 200,000 products); the scorer forgives the rest.
        groups = []
        for word in required:
            alts = group(word)
            if any(" " in alt for alt in alts):
                groups += [[part] for part in alts[0].split()]
            elif alts:
                groups.append(alts)
            elif prefix:
                groups.append([word])
        # A word split in two ("chilli powder" for "chillipowder") cannot be one of
        # several alternatives; its halves can.
        either = [part for word in any_of for form in group(word) for part in form.split()]
        if not groups and not either:
            return
        groups = groups[:MAX_TERMS]
        asked, later = (groups, []) if prefix else _narrowed(groups, either, counts, size)
        rows = _matches(pool, asked, [] if later and later[-1] is either else either, prefix)
        if later and len(rows) < TEXT_WINDOW:
            rows = [(pk, text) for pk, text in rows if _holds_all(text, later)]
        elif later:  # more than estimated: the narrowed read may have cut some off
            rows = _matches(pool, groups, either, prefix)
        for pk, text in _closest(rows, description, regional_names, TEXT_POOL):
            found.setdefault(pk, text)

    if words:
        take(words)
    for first, second in itertools.pairwise(words):
        if forms.get(first + second):
            joined = [first + second if w == first else w for w in words if w != second]
            take(joined)
    if len(found) < TEXT_POOL and len(words) > 1:
        anchor = _telling_words(brand) or words[:1]
        others = [word for word in words if word not in anchor]
        # The rarest word tells the product best ("butter" among "drink", "amul"): the
        # rarest with the brand, then the brand with any of them.
        rarity = {
            word: min((counts.get(form, 0) for form in group(word)), default=0) or math.inf
            for word in others
        }
        rarest = min(others, key=lambda w: rarity[w], default=None)
        if rarest is not None and rarity[rarest] < math.inf:
            take([*anchor, rarest])
        precise = len(found)
        if others and len(found) < MAX_SCORED:
            take(anchor, others)
    # An abbreviation ("prem", "choc"): a word no product holds whole, nor any stand-in,
    # is looked up as a word prefix, with the brand or first word.
    short = [w for w in unknown if not group(w) and len(w) >= 3 and w.isalpha()]
    if short and len(found) < TEXT_POOL:
        anchor = [w for w in (_telling_words(brand) or words[:1]) if w not in short]
        take([*anchor, *short], prefix=True)
    for terms in regional_terms:
        if terms:
            take(terms)
    rows = list(found.items())[:MAX_FOUND]
    if precise is not None:
        kept = rows[:precise]
        rows = kept + _closest(rows[precise:], description, regional_names, MAX_SCORED - len(kept))
    rows = _closest(rows, description, regional_names, MAX_SCORED)
    by_id = pool.only(*CANDIDATE_COLUMNS).order_by().in_bulk([pk for pk, _ in rows])
    products = [by_id[pk] for pk, _ in rows if pk in by_id]
    prefetch_related_objects(products, "regional_names")
    return products


def _matches(pool, groups: list, either: list[str], prefix: bool) -> list[tuple[int, str]]:
    """(id, indexed text) of up to TEXT_WINDOW products holding every group's word and one
    of `either`, in the index's own order (no sort, so the read stops there)."""
    matched = word_matches(pool, required=groups, any_of=either, prefix=prefix, ranked=False)
    return list(matched.order_by().values_list("id", "search_text")[:TEXT_WINDOW])


def _narrowed(
    groups: list[list[str]], either: list[str], counts: dict[str, int], size: int
) -> tuple[list[list[str]], list[list[str]]]:
    """(the groups to ask the index for, the groups to check on its matches instead): the
    rarest groups first, until they are estimated to hold at most NARROW products
    together (taking words as independent); past that, groups of common words are
    checked rather than asked. `either`, as one group, may be checked too (it is then the
    last one)."""
    if size <= 0 or not groups:
        return groups, []

    def held(forms: list[str]) -> int:
        return min(size, sum(counts.get(form, 0) for form in forms))

    asked: list[list[str]] = []
    later: list[list[str]] = []
    estimate = float(size)
    for forms in sorted(groups, key=held):
        if asked and estimate <= NARROW and held(forms) >= COMMON_WORD:
            later.append(forms)
        else:
            asked.append(forms)
            estimate *= held(forms) / size
    if either and estimate <= NARROW and held(either) >= COMMON_WORD:
        later.append(either)
    return asked, later


def _holds_all(text: str, groups: list[list[str]]) -> bool:
    """Whether `text` holds, as a whole word, one word of each group."""
    words = set(text_words(text))
    return all(any(form in words for form in forms) for forms in groups)


def _closest(
    rows: list[tuple[int, str]], text: str, regional_names: list[str] | tuple[str, ...], room: int
) -> list[tuple[int, str]]:
    """The `room` (id, indexed text) rows whose text is closest to the description's, by
    rapidfuzz's token-set ratio against it as written and in Latin letters (ties: the
    closer word order, then the order given)."""
    room = max(0, room)
    if len(rows) <= room:
        return rows
    written = " ".join([text, *regional_names]).casefold()
    latin = " ".join(romanize(word) for word in written.split())
    keys = []
    for i, (_, haystack) in enumerate(rows):
        haystack = haystack.casefold()
        best = max(fuzz.token_set_ratio(written, haystack), fuzz.token_set_ratio(latin, haystack))
        keys.append((-best, -fuzz.token_sort_ratio(written, haystack), i))
    keys.sort()
    return [rows[i] for *_, i in keys[:room]]
