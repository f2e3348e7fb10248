"""The catalog's vocabulary: the distinct words of the search index.

Search uses it to correct a query word that no product holds to the closest word the
catalog does hold, and matching can use it to expand a word to the forms of it the catalog
holds (singular and plural). Whether a word matches as typed is always asked of the search
index itself, never of the vocabulary, so a correctly spelt word is never corrected however
the vocabulary lags.

- SQLite: the FTS5 index's own vocabulary (`catalog_product_fts_vocab`, fts.py), exact by
  construction. Listing it walks the whole index (75 ms at 200,000 products), so each
  process keeps a copy, reread when the stamp the index triggers renew has changed.
- PostgreSQL: the `catalog_search_word` table (migration 0006), kept up to date by triggers
  in the writing transaction, with approximate product counts and a trigram index: the
  nearest words to a misspelling are one index lookup. `refresh_vocabulary` recounts.

Words holding a digit (sizes, barcodes, model numbers) are left out: they are never
corrected and never a correction.
"""

from __future__ import annotations

import bisect
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from rapidfuzz import process
from rapidfuzz.distance import OSA

NEAREST = 50  # words the trigram lookup hands to the edit-distance check (PostgreSQL)


def max_edits(word: str) -> int:
    """How many edits a correction of `word` may make (insertions, deletions, substitutions
    and swaps of neighbours): none under 4 characters, where most words have a neighbour,
    1 for 4-5 and 2 from 6."""
    if len(word) < 4:
        return 0
    return 1 if len(word) <= 5 else 2


def script_of(word: str) -> str:
    """The Unicode script of the first letter of `word` ("LATIN", "DEVANAGARI", "TAMIL"),
    or "" when it has none. Vowel signs are marks, not letters, so a Devanagari or Tamil
    word is known by its first consonant or vowel."""
    for char in word:
        if char.isalpha():
            return unicodedata.name(char, "").split(" ", 1)[0]
    return ""


def _has_digit(word: str) -> bool:
    return any(char.isdigit() for char in word)


def correctable(word: str) -> bool:
    """Whether `word` may be corrected at all: long enough, a letter in it, and no digit."""
    return max_edits(word) > 0 and not _has_digit(word) and script_of(word) != ""


def _ranked(word: str, candidates: Iterable[tuple[str, int]]) -> list[str]:
    """The `candidates` (word, products holding it) within reach of `word` and in its
    script, best first: fewest edits, then the same first letter (rarely the mistyped
    one), then the most products (the likelier meaning), then alphabetical."""
    limit = max_edits(word)
    script = script_of(word)
    scored = []
    for other, documents in candidates:
        if other == word or documents <= 0 or _has_digit(other) or script_of(other) != script:
            continue
        distance = OSA.distance(word, other, score_cutoff=limit)
        if distance <= limit:
            scored.append((distance, other[:1] != word[:1], -documents, other))
    return [other for *_, other in sorted(scored)]


def _fts_phrase(word: str) -> str:
    # Words hold only letters, digits and marks (search.query_terms), so quoting is enough.
    return f'"{word}"'


def _holds(word: str, *, prefix: bool) -> bool:
    """Whether any product's indexed text holds `word` (as a word prefix, or whole)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM catalog_product WHERE search_vector "
                "@@ to_tsquery('simple'::regconfig, %s))",
                [word + (":*" if prefix else "")],
            )
        else:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM catalog_product_fts "
                "WHERE catalog_product_fts MATCH %s)",
                [_fts_phrase(word) + ("*" if prefix else "")],
            )
        return bool(cursor.fetchone()[0])


def unmatched(words: Sequence[str]) -> list[str]:
    """The `words` no product of the catalog holds as a word prefix, asked of the search
    index itself (every product, whoever may see it)."""
    return [word for word in words if not _holds(word, prefix=True)]


def corrections(words: Sequence[str]) -> dict[str, str]:
    """{word: correction} for each of `words` that matches no product as typed, may be
    corrected (`correctable`) and has a catalog word within `max_edits` in its script.
    Words that match as typed, and words without a close match, are left out."""
    wrong = unmatched([word for word in words if correctable(word)])
    found: dict[str, str] = {}
    for word in wrong:
        best = _closest(word)
        if best is not None:
            found[word] = best
    return found


def _closest(word: str) -> str | None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # GiST trigram nearest neighbours, then the exact edit distance on those.
            cursor.execute(
                "SELECT word, documents FROM catalog_search_word WHERE documents > 0 "
                "ORDER BY word <-> %s LIMIT %s",
                [word, NEAREST],
            )
            ranked = _ranked(word, cursor.fetchall())
        # Counts are approximate and words stay listed after their last product went: the
        # index has the last word.
        return next((other for other in ranked if _holds(other, prefix=False)), None)
    snapshot = _sqlite_snapshot()
    near = process.extract(
        word, snapshot.words, scorer=OSA.distance, score_cutoff=max_edits(word), limit=None
    )
    ranked = _ranked(word, ((other, snapshot.documents[i]) for other, _, i in near))
    return ranked[0] if ranked else None


def _forms(word: str) -> list[str]:
    forms = [word]
    if script_of(word) == "LATIN" and not _has_digit(word) and len(word) >= 3:
        forms += [word + "s", word + "es"]
        if word.endswith("ies"):
            forms.append(word[:-3] + "y")
        if word.endswith("es"):
            forms.append(word[:-2])
        if word.endswith("s"):
            forms.append(word[:-1])
        if word.endswith("y"):
            forms.append(word[:-1] + "ies")
    return list(dict.fromkeys(forms))


def word_forms(word: str) -> list[str]:
    """The forms of `word` that catalog products hold as whole words: itself and its
    English singular or plural (-s, -es, -ies), e.g. "biscuit" -> ["biscuit", "biscuits"]
    when both are used, ["biscuits"] when only the plural is; [] when none is. `word` is
    one of search.query_terms (case-folded); a word in another script, or holding a digit,
    only ever gives itself. For several words, `forms_in_catalog` asks once."""
    return forms_in_catalog([word])[word]


def forms_in_catalog(words: Sequence[str]) -> dict[str, list[str]]:
    """{word: word_forms(word)} for each of `words`, in one indexed lookup."""
    candidates = {word: _forms(word) for word in words}
    every = list(dict.fromkeys(form for forms in candidates.values() for form in forms))
    if not every:
        return {}
    if connection.vendor == "postgresql":
        # The table lists every word without a digit that a product holds (written along
        # with the product); words with one are asked of the index.
        held = set(documents_holding([form for form in every if not _has_digit(form)]))
        held |= {word for word in words if _has_digit(word) and _holds(word, prefix=False)}
    else:
        held = _held_sqlite(every)
    return {word: [form for form in forms if form in held] for word, forms in candidates.items()}


def _held_sqlite(words: list[str]) -> set[str]:
    """The `words` some product holds whole, asked of the index: a probe for the first
    match, which costs the same for a common word as for a rare one (the vocabulary's
    count of a word reads all its products)."""
    held: set[str] = set()
    one = (
        "SELECT %s WHERE EXISTS (SELECT 1 FROM catalog_product_fts "
        "WHERE catalog_product_fts MATCH %s)"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(words), _SQLITE_TERMS_PER_STATEMENT):
            part = words[start : start + _SQLITE_TERMS_PER_STATEMENT]
            cursor.execute(
                " UNION ALL ".join([one] * len(part)),
                [value for word in part for value in (word, _fts_phrase(word))],
            )
            held.update(row[0] for row in cursor.fetchall())
    return held


# Words held by at least COMMON_WORD products have their counts kept by each process for
# COUNTS_TTL seconds: counting a word on SQLite reads its whole list of products (20 ms for
# a word of 50,000 products), and the common words are the ones every description asks
# about. A common word stays common for that long; rarer words are asked each time, so a
# word a new product brings is seen at once.
COMMON_WORD = 1000
COUNTS_TTL = 60.0
_common: dict[tuple[str, str], dict[str, tuple[int, float]]] = {}
# Words asked in one compound statement on SQLite (which allows 500 parts). fts5vocab
# serves `term = ?` from the index, but reads the whole vocabulary for an IN list.
_SQLITE_TERMS_PER_STATEMENT = 200


def documents_holding(words: Sequence[str]) -> dict[str, int]:
    """{word: about how many products hold it as a whole word} for those of `words` that
    the catalog lists (SQLite: the index's vocabulary, exact; PostgreSQL: the trigger-kept
    table, without words holding a digit, approximate and possibly 0)."""
    key = (connection.alias, str(connection.settings_dict["NAME"]))
    kept = _common.setdefault(key, {})
    now = time.monotonic()
    found: dict[str, int] = {}
    asked: list[str] = []
    for word in dict.fromkeys(words):
        known = kept.get(word)
        if known is not None and now - known[1] < COUNTS_TTL:
            found[word] = known[0]
        else:
            asked.append(word)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if asked:
                cursor.execute(
                    "SELECT word, documents FROM catalog_search_word WHERE word = ANY (%s)",
                    [asked],
                )
                found.update(cursor.fetchall())
        else:
            for start in range(0, len(asked), _SQLITE_TERMS_PER_STATEMENT):
                part = asked[start : start + _SQLITE_TERMS_PER_STATEMENT]
                one = "SELECT term, doc FROM catalog_product_fts_vocab WHERE term = %s"
                cursor.execute(" UNION ALL ".join([one] * len(part)), part)
                found.update(cursor.fetchall())
    for word in asked:
        if found.get(word, 0) >= COMMON_WORD:
            kept[word] = (found[word], now)
    return found


def refresh_vocabulary() -> int:
    """PostgreSQL: recount the vocabulary from the index, dropping words no product holds
    any more; returns how many words it lists. Counting on write is approximate (writers
    skip each other's rows), so run this now and then (about 1 s per 200,000 products).
    A no-op returning 0 on SQLite, whose vocabulary is the index itself."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM catalog_search_word")
        cursor.execute(
            "INSERT INTO catalog_search_word (word, documents) "
            "SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM catalog_product') "
            "WHERE word !~ '[0-9]'"
        )
        return cursor.rowcount


# --- SQLite: the per-process copy -----------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    stamp: int
    words: list[str]
    documents: list[int]


_snapshots: dict[tuple[str, str], _Snapshot] = {}
_reading = threading.Lock()


def _sqlite_snapshot() -> _Snapshot:
    """The vocabulary as of the index's current stamp, reread only when it changed."""
    key = (connection.alias, str(connection.settings_dict["NAME"]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT stamp FROM catalog_product_fts_stamp")
        stamp = cursor.fetchone()[0]
        current = _snapshots.get(key)
        if current is not None and current.stamp == stamp:
            return current
        with _reading:
            current = _snapshots.get(key)
            if current is not None and current.stamp == stamp:
                return current
            # Terms starting with a digit sort before ":" and are never corrections.
            cursor.execute("SELECT term, doc FROM catalog_product_fts_vocab WHERE term >= ':'")
            rows = [(term, doc) for term, doc in cursor.fetchall() if not _has_digit(term)]
            current = _Snapshot(
                stamp=stamp, words=[term for term, _ in rows], documents=[d for _, d in rows]
            )
            _snapshots[key] = current
            return current


# --- document frequencies: how broad a query is, without asking the database -------------

# How long a process trusts its copy of the word frequencies. A word that turns common in the
# meantime is ranked rather than listed in catalog order for at most this long.
FREQUENCIES_TTL = 60.0


@dataclass(frozen=True)
class _Frequencies:
    loaded_at: float
    products: int
    words: list[str]  # sorted by code point, so a prefix is one contiguous run
    cumulative: list[int]  # cumulative[i]: products counted for words[:i]


_frequencies: dict[tuple[str, str], _Frequencies] = {}
_loading_frequencies = threading.Lock()


def forget_frequencies() -> None:
    """Drop this process's copies of the word frequencies (the next search reloads them)."""
    _frequencies.clear()
    _common.clear()


def _load_frequencies() -> _Frequencies:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT word, documents FROM catalog_search_word WHERE documents > 0")
        else:
            cursor.execute("SELECT term, doc FROM catalog_product_fts_vocab")
        rows = sorted(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM catalog_product")
        products = cursor.fetchone()[0]
    cumulative = [0]
    for _, documents in rows:
        cumulative.append(cumulative[-1] + documents)
    return _Frequencies(
        loaded_at=time.monotonic(),
        products=products,
        words=[word for word, _ in rows],
        cumulative=cumulative,
    )


def _current_frequencies() -> _Frequencies:
    key = (connection.alias, str(connection.settings_dict["NAME"]))
    current = _frequencies.get(key)
    if current is not None and time.monotonic() - current.loaded_at < FREQUENCIES_TTL:
        return current
    with _loading_frequencies:
        current = _frequencies.get(key)
        if current is None or time.monotonic() - current.loaded_at >= FREQUENCIES_TTL:
            current = _frequencies[key] = _load_frequencies()
        return current


def prefix_documents(word: str) -> int:
    """About how many products hold a word starting with `word`: the summed counts of the
    catalog words with that prefix, at most the catalog's size (a product holding two of
    them counts twice until then). Words holding a digit are not counted on PostgreSQL."""
    snapshot = _current_frequencies()
    start = bisect.bisect_left(snapshot.words, word)
    end = bisect.bisect_left(snapshot.words, word + "\U0010ffff", lo=start)
    return min(snapshot.cumulative[end] - snapshot.cumulative[start], snapshot.products)


def estimated_matches(words: Sequence[str]) -> float:
    """About how many products hold every one of `words` as a word prefix, taking the words
    as independent (as PostgreSQL's planner does): the catalog's size times the share of it
    each word's prefix reaches. Costs no statement while this process's copy of the
    frequencies is younger than FREQUENCIES_TTL."""
    snapshot = _current_frequencies()
    if not words or snapshot.products <= 0:
        return 0.0
    estimate = float(snapshot.products)
    for word in words:
        estimate *= prefix_documents(word) / snapshot.products
    return estimate
