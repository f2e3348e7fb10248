"""Product search over `Product.search_text` with the database's own full-text index.

SQLite (embedded default): the FTS5 table from migration 0002, ranked by bm25. PostgreSQL:
the 'simple' text-search vector ranked by ts_rank, falling back to trigram word similarity
when no word matches (a misspelt query still finds something). Every word of the query
must match as a word prefix, in any script. A query of digits only is a barcode prefix.

Pages are keyset-paginated by (rank, id): an opaque cursor carries the last row's key, so
deep pages cost the same as the first and rows do not shift under a reader.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, FloatField, QuerySet
from django.db.models.expressions import RawSQL

from shelfwatch.catalog.barcodes import barcode_prefixes
from shelfwatch.catalog.models import Product
from shelfwatch.config.cursors import decode_cursor, encode_cursor

MAX_TERMS = 8
# Letters, digits and combining marks (Devanagari and Tamil vowel signs are marks).
# Python's \w leaves out vowel signs and viramas, which would split a word at each one.
_WORD_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u0900-\u0dff])+")


@dataclass(frozen=True)
class SearchPage:
    products: list[Product]
    next_cursor: str | None


def query_terms(q: str) -> list[str]:
    """The words of a query, case-folded, in any script; at most MAX_TERMS."""
    text = unicodedata.normalize("NFKC", q or "").casefold()
    words: list[str] = []
    for match in _WORD_RE.finditer(text):
        word = match.group()
        if word not in words:
            words.append(word)
    return words[:MAX_TERMS]


def _sqlite_match(products: QuerySet[Product], terms: list[str], *, any_term: bool):
    # Terms hold only word characters, so quoting them is enough to keep FTS5 syntax out.
    expression = (" OR " if any_term else " ").join(f'"{term}"*' for term in terms)
    # bm25 is lower for better matches; negated so that higher is better on every backend.
    return products.extra(
        select={"rank": "-catalog_product_fts.rank"},
        tables=["catalog_product_fts"],
        where=[
            "catalog_product_fts.rowid = catalog_product.id",
            "catalog_product_fts MATCH %s",
        ],
        params=[expression],
    )


# Literal SQL; the query text only ever travels as a parameter.
_PG_RANK = (
    "ts_rank(to_tsvector('simple'::regconfig, catalog_product.search_text), "
    "to_tsquery('simple'::regconfig, %s))::float8"
)
_PG_MATCH = (
    "to_tsvector('simple'::regconfig, catalog_product.search_text) "
    "@@ to_tsquery('simple'::regconfig, %s)"
)
_PG_SIMILARITY = "word_similarity(%s, catalog_product.search_text)::float8"
_PG_SIMILAR = "%s <%% catalog_product.search_text"


def _postgres_match(products: QuerySet[Product], terms: list[str], *, any_term: bool):
    tsquery = (" | " if any_term else " & ").join(f"{term}:*" for term in terms)
    rank = RawSQL(_PG_RANK, [tsquery], output_field=FloatField())  # noqa: S611 (literal SQL)
    return products.annotate(rank=rank).extra(where=[_PG_MATCH], params=[tsquery])  # noqa: S610


def _postgres_fuzzy(products: QuerySet[Product], q: str):
    rank = RawSQL(_PG_SIMILARITY, [q], output_field=FloatField())  # noqa: S611 (literal SQL)
    return products.annotate(rank=rank).extra(where=[_PG_SIMILAR], params=[q])  # noqa: S610


def text_matches(
    products: QuerySet[Product], q: str, *, any_term: bool = False, fuzzy: bool = True
) -> QuerySet[Product]:
    """`products` matching the words of `q`, annotated with `rank` (higher is better)."""
    terms = query_terms(q)
    if not terms:
        return products.none()
    if connection.vendor == "postgresql":
        matched = _postgres_match(products, terms, any_term=any_term)
        if fuzzy and not matched.exists():
            return _postgres_fuzzy(products, " ".join(terms))
        return matched
    return _sqlite_match(products, terms, any_term=any_term)


def _barcode_matches(products: QuerySet[Product], digits: str) -> QuerySet[Product]:
    # A range on the unique index, rather than LIKE, which PostgreSQL cannot serve from a
    # btree index under a non-C collation.
    prefixes = barcode_prefixes(digits)
    condition = None
    for prefix in prefixes:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        part = products.filter(barcode__gte=prefix, barcode__lt=upper)
        condition = part if condition is None else condition | part
    return condition.annotate(rank=RawSQL("0.0", [], output_field=FloatField()))


def search_products(
    products: QuerySet[Product], *, q: str | None, cursor: str | None, limit: int
) -> SearchPage:
    """One page of `products` matching `q` (all of them when blank), best match first."""
    q = (q or "").strip()
    compact = q.replace(" ", "").replace("-", "")
    if not q:
        ranked = products.annotate(rank=RawSQL("0.0", [], output_field=FloatField()))
    elif compact.isdigit() and len(compact) >= 3:
        ranked = _barcode_matches(products, compact)
    else:
        ranked = text_matches(products, q)
    if cursor:
        last_rank, last_id = decode_cursor(cursor, float, int)
        if connection.vendor == "postgresql" or not q or compact.isdigit():
            ranked = ranked.alias(r=F("rank")).filter(_after(last_rank, last_id))
        else:
            ranked = ranked.extra(
                where=[
                    "(-catalog_product_fts.rank < %s OR "
                    "(-catalog_product_fts.rank = %s AND catalog_product.id > %s))"
                ],
                params=[last_rank, last_rank, last_id],
            )
    rows = list(ranked.order_by("-rank", "id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].rank, rows[-1].pk) if more else None
    return SearchPage(products=rows, next_cursor=next_cursor)


def _after(rank: float, pk: int):
    from django.db.models import Q

    return Q(r__lt=rank) | Q(r=rank, id__gt=pk)
