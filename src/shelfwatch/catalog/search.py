"""Product search over `Product.search_text` with the database's own full-text index.

SQLite (embedded default): the FTS5 table from migration 0002, ranked by bm25. PostgreSQL:
the 'simple' text-search vector, ranked by ts_rank. Every word of the query must match as a
word prefix, in any script. A query of digits only is a barcode prefix.

Misspellings: when a query finds nothing and some of its words match no product at all,
each of those is corrected to the closest word of the catalog's vocabulary (vocabulary.py)
and the query runs again; the page then carries the query it answered (`corrected_query`).
A word that matches as typed is never corrected, nor one holding a digit, nor one of under
four letters, and a correction stays in the word's script. When the corrected query finds
nothing either, the page is empty and says nothing about corrections.

Broad queries: ranking costs every match (bm25 or ts_rank over 27,000 products holding
"masala" took 55-67 ms at 200,000 products), so a query matching more than RANK_LIMIT
products (as estimated from the vocabulary's document frequencies, which each process
keeps a copy of: no statement per search) lists them in catalog order (by id) instead,
which both databases serve by walking the matches in id order and stopping after a page.

Pages are keyset-paginated by (rank, id), or by id in catalog order: an opaque cursor
carries the last row's key, so deep pages cost the same as the first and rows do not shift
under a reader.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.db import connection
from django.db.models import F, FloatField, Q, QuerySet
from django.db.models.expressions import RawSQL

from shelfwatch.catalog import vocabulary
from shelfwatch.catalog.barcodes import barcode_prefixes
from shelfwatch.catalog.models import Product
from shelfwatch.db_plans import unprepared
from shelfwatch.http.cursors import BadCursor, decode_cursor, encode_cursor

MAX_TERMS = 8
# Above this many matches a query is listed in catalog order rather than ranked: ranking
# costs about 2 us a match on either database, so at most ~4 ms (more on a busy machine).
RANK_LIMIT = 2000
# PostgreSQL walks at most this many products in id order looking for a page of broad
# matches before it ranks them instead (see _catalog_order_postgres).
PG_WINDOW = 4000
# Letters, digits and combining marks (Devanagari and Tamil vowel signs are marks).
# Python's \w leaves out vowel signs and viramas, which would split a word at each one.
_WORD_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u0900-\u0dff])+")

# A required word, or a group of alternatives of which one must match ("biscuit" or
# "biscuits").
Term = str | Sequence[str]


@dataclass(frozen=True)
class SearchPage:
    products: list[Product]
    next_cursor: str | None
    # The words the page answers for when some of the query's were corrected, else None.
    corrected_query: str | None = None


def query_terms(q: str) -> list[str]:
    """The words of a query, case-folded, in any script; at most MAX_TERMS."""
    text = unicodedata.normalize("NFKC", q or "").casefold()
    words: list[str] = []
    for match in _WORD_RE.finditer(text):
        word = match.group()
        if word not in words:
            words.append(word)
    return words[:MAX_TERMS]


def text_words(text: str) -> list[str]:
    """All the words of an indexed text, case-folded, as `query_terms` reads a query."""
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text or "").casefold())


def _alternatives(term: Term) -> list[str]:
    return [term] if isinstance(term, str) else list(term)


def _fts_query(required: Sequence[Term], any_of: Sequence[str], *, prefix: bool) -> str:
    # Terms hold only word characters, so quoting them is enough to keep FTS5 syntax out.
    star = "*" if prefix else ""

    def either(words: Sequence[str]) -> str:
        parts = [f'"{word}"{star}' for word in words]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    parts = [either(_alternatives(term)) for term in required]
    if any_of:
        parts.append(either(any_of))
    return " AND ".join(parts)


def _ts_query(required: Sequence[Term], any_of: Sequence[str], *, prefix: bool) -> str:
    star = ":*" if prefix else ""

    def either(words: Sequence[str]) -> str:
        parts = [f"{word}{star}" for word in words]
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"

    parts = [either(_alternatives(term)) for term in required]
    if any_of:
        parts.append(either(any_of))
    return " & ".join(parts)


def _sqlite_match(products: QuerySet[Product], match: str, *, ranked: bool) -> QuerySet[Product]:
    matched = products.extra(
        tables=["catalog_product_fts"],
        where=[
            "catalog_product_fts.rowid = catalog_product.id",
            "catalog_product_fts MATCH %s",
        ],
        params=[match],
    )
    if ranked:
        # bm25 is lower for better matches; negated so that higher is better everywhere.
        matched = matched.extra(select={"rank": "-catalog_product_fts.rank"})
    return matched


# Literal SQL; the query text only ever travels as a parameter.
# search_vector is a stored generated column (migration 0004), so ranking reads the vector
# instead of re-parsing every matching row's text.
_PG_RANK = "ts_rank(catalog_product.search_vector, to_tsquery('simple'::regconfig, %s))::float8"
_PG_MATCH = "catalog_product.search_vector @@ to_tsquery('simple'::regconfig, %s)"


def _postgres_match(
    products: QuerySet[Product], tsquery: str, *, ranked: bool
) -> QuerySet[Product]:
    if ranked:
        rank = RawSQL(_PG_RANK, [tsquery], output_field=FloatField())  # noqa: S611 (literal SQL)
        products = products.annotate(rank=rank)
    return products.extra(where=[_PG_MATCH], params=[tsquery])  # noqa: S610


def word_matches(
    products: QuerySet[Product],
    *,
    required: Sequence[Term],
    any_of: Sequence[str] = (),
    prefix: bool = True,
    ranked: bool = True,
) -> QuerySet[Product]:
    """`products` holding every `required` word and at least one of `any_of` (as word
    prefixes, or whole words with prefix=False), annotated with `rank` (higher is better)
    unless `ranked` is False. A required item may be a group of alternatives, one of which
    must match (for instance `vocabulary.word_forms(word)`). Words come from
    `query_terms`."""
    if not required and not any_of:
        return products.none()
    if connection.vendor == "postgresql":
        query = _ts_query(required, any_of, prefix=prefix)
        return _postgres_match(products, query, ranked=ranked)
    return _sqlite_match(products, _fts_query(required, any_of, prefix=prefix), ranked=ranked)


def _barcode_page(
    products: QuerySet[Product], digits: str, *, after: tuple[str, int] | None, limit: int
) -> list[Product]:
    """Up to `limit` products whose barcode starts with `digits`, in barcode order.

    Each possible stored prefix is its own range on the unique index, rather than one
    OR (which the planners serve by scanning another index) or LIKE (which neither
    SQLite nor PostgreSQL under a non-C collation serves from a btree).
    """
    rows: list[Product] = []
    for prefix in barcode_prefixes(digits):
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        matched = products.filter(barcode__gte=prefix, barcode__lt=upper)
        if after is not None:
            code, pk = after
            matched = matched.filter(Q(barcode__gt=code) | Q(barcode=code, pk__gt=pk))
        rows += matched.order_by("barcode", "pk")[:limit]
    return sorted(rows, key=lambda p: (p.barcode, p.pk))[:limit]


def _page(rows: list[Product], limit: int, key) -> SearchPage:
    more = len(rows) > limit
    rows = rows[:limit]
    return SearchPage(products=rows, next_cursor=encode_cursor(*key(rows[-1])) if more else None)


def _matches_more_than(terms: list[str], bound: int) -> bool:
    """Whether more than about `bound` products hold every one of `terms`, judged from the
    vocabulary's document frequencies this process keeps (vocabulary.estimated_matches),
    so the decision costs no statement of its own. Filters are left out: on SQLite walking
    matches in id order never costs more than ranking them, and on PostgreSQL the walk is
    bounded (_catalog_order_postgres) and falls back to ranking when it finds too few."""
    return vocabulary.estimated_matches(terms) > bound


def ranked_query(
    products: QuerySet[Product], terms: list[str], after: tuple[float, int] | None, limit: int
) -> QuerySet[Product]:
    """The statement of a ranked page: `limit` rows after the (rank, id) key `after`, best
    first, each annotated with `rank`."""
    ranked = word_matches(products, required=terms)
    if after is not None:
        last_rank, last_id = after
        if connection.vendor == "postgresql":
            ranked = ranked.alias(r=F("rank")).filter(
                Q(r__lt=last_rank) | Q(r=last_rank, id__gt=last_id)
            )
        else:
            ranked = ranked.extra(
                where=[
                    "(-catalog_product_fts.rank < %s OR "
                    "(-catalog_product_fts.rank = %s AND catalog_product.id > %s))"
                ],
                params=[last_rank, last_rank, last_id],
            )
    return ranked.order_by("-rank", "id")[:limit]


def _ranked_page(
    products: QuerySet[Product], terms: list[str], after: tuple[float, int] | None, limit: int
) -> SearchPage:
    rows = list(ranked_query(products, terms, after, limit + 1))
    return _page(rows, limit, lambda p: (p.rank, p.pk))


def catalog_order_sqlite_query(
    products: QuerySet[Product], terms: list[str], after: int | None, limit: int
) -> QuerySet[Product]:
    """The statement of a page of word matches in id order on SQLite: `limit` rows after
    the id `after`."""
    matched = _sqlite_match(products, _fts_query(terms, (), prefix=True), ranked=False)
    if after is not None:
        matched = matched.extra(where=["catalog_product_fts.rowid > %s"], params=[after])
    # FTS5 hands out matches in rowid order, so the page stops the walk: no sort, no rank.
    return matched.extra(order_by=["catalog_product_fts.rowid"])[:limit]


def _catalog_order_sqlite(
    products: QuerySet[Product], terms: list[str], after: int | None, limit: int
) -> SearchPage:
    rows = list(catalog_order_sqlite_query(products, terms, after, limit + 1))
    return _page(rows, limit, lambda p: (p.pk,))


def _catalog_order_postgres(
    products: QuerySet[Product], terms: list[str], after: int | None, limit: int
) -> SearchPage | None:
    """A page in id order, or None when the first page should be ranked after all.

    Walking the primary key until a page of matches is found is what makes a broad query
    cheap, but an unbounded walk is a trap when the estimate was wrong: words common on
    their own can be rare together ("masala powder": none), and the walk would cross the
    whole table. So the walk is bounded to the next PG_WINDOW products; when they hold
    less than a page, the matches are few enough to rank (first page) or are sorted by id
    without the walk (later pages).
    """
    matched = _postgres_match(products, _ts_query(terms, (), prefix=True), ranked=False)
    start = after if after is not None else 0
    following = Product.objects.filter(pk__gt=start).order_by("pk").values_list("pk", flat=True)
    window_end = next(iter(following[PG_WINDOW - 1 : PG_WINDOW]), None)
    window = matched.filter(pk__gt=start)
    if window_end is not None:
        window = window.filter(pk__lte=window_end)
    rows = list(window.order_by("pk")[: limit + 1])
    if len(rows) <= limit and window_end is not None:
        if after is None:
            return None
        # id + 0 is no index order, so the planner collects the matches through the
        # text index and sorts them, instead of walking the primary key.
        rows = list(matched.filter(pk__gt=start).order_by(F("id") + 0)[: limit + 1])
    return _page(rows, limit, lambda p: (p.pk,))


def _decode_text_cursor(cursor: str) -> tuple[str, tuple]:
    """("rank", (rank, id)) or ("id", (id,)): which order the page that gave it was in."""
    try:
        return "rank", decode_cursor(cursor, float, int)
    except BadCursor:
        return "id", decode_cursor(cursor, int)


def text_order(terms: list[str], cursor: str | None) -> tuple[str, tuple | None]:
    """Which order a page of `terms` is in, "rank" or "id", and the key it continues after
    (None on a first page): a cursor says which; a first page is in id order when the
    words are broad (module docstring)."""
    if cursor:
        return _decode_text_cursor(cursor)
    return ("id" if _matches_more_than(terms, RANK_LIMIT) else "rank"), None


def match_text(terms: Sequence[Term]) -> str:
    """The full-text query every one of `terms` matches as a word prefix, in the syntax of
    the database in use: the one parameter of a word search that depends on the words."""
    if connection.vendor == "postgresql":
        return _ts_query(terms, (), prefix=True)
    return _fts_query(terms, (), prefix=True)


def _text_page(
    products: QuerySet[Product], terms: list[str], cursor: str | None, limit: int
) -> SearchPage:
    if not terms:
        return SearchPage(products=[], next_cursor=None)
    order, key = text_order(terms, cursor)
    if order == "id":
        after = key[0] if key else None
        if connection.vendor != "postgresql":
            return _catalog_order_sqlite(products, terms, after, limit)
        page = _catalog_order_postgres(products, terms, after, limit)
        if page is not None:
            return page
    return _ranked_page(products, terms, key, limit)


@unprepared
def search_products(
    products: QuerySet[Product], *, q: str | None, cursor: str | None, limit: int
) -> SearchPage:
    """One page of `products` matching `q` (all of them when blank), best match first.

    Without a query the order is by id; a barcode prefix lists in barcode order (the
    index's own order, so a page is a short index range); words rank by relevance, or
    list in id order when more than RANK_LIMIT products match. A query that finds nothing
    because of words no product holds is retried with those words corrected, and the page
    says so in `corrected_query` (see the module docstring).
    """
    q = (q or "").strip()
    compact = q.replace(" ", "").replace("-", "")
    if not q:
        if cursor:
            (after,) = decode_cursor(cursor, int)
            products = products.filter(pk__gt=after)
        rows = list(products.order_by("pk")[: limit + 1])
        return _page(rows, limit, lambda p: (p.pk,))
    if compact.isdigit() and len(compact) >= 3:
        after = decode_cursor(cursor, str, int) if cursor else None
        rows = _barcode_page(products, compact, after=after, limit=limit + 1)
        return _page(rows, limit, lambda p: (p.barcode, p.pk))
    terms = query_terms(q)
    page = _text_page(products, terms, cursor, limit)
    if page.products:
        return page
    fixed = vocabulary.corrections(terms)
    if not fixed:
        return page
    corrected = list(dict.fromkeys(fixed.get(term, term) for term in terms))
    retry = _text_page(products, corrected, cursor, limit)
    if not retry.products:
        # Saying what the catalog holds when the caller may see none of it would tell
        # anonymous callers about pending products.
        return page
    return replace(retry, corrected_query=" ".join(corrected))
