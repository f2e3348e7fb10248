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
from django.db.models import F, FloatField, Q, QuerySet
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


def _sqlite_match(
    products: QuerySet[Product], required: list[str], any_of: list[str], *, prefix: bool
):
    # Terms hold only word characters, so quoting them is enough to keep FTS5 syntax out.
    star = "*" if prefix else ""
    parts = [f'"{term}"{star}' for term in required]
    if any_of:
        parts.append("(" + " OR ".join(f'"{term}"{star}' for term in any_of) + ")")
    # bm25 is lower for better matches; negated so that higher is better on every backend.
    return products.extra(
        select={"rank": "-catalog_product_fts.rank"},
        tables=["catalog_product_fts"],
        where=[
            "catalog_product_fts.rowid = catalog_product.id",
            "catalog_product_fts MATCH %s",
        ],
        params=[" AND ".join(parts)],
    )


# Literal SQL; the query text only ever travels as a parameter.
# search_vector is a stored generated column (migration 0004), so ranking reads the vector
# instead of re-parsing every matching row's text.
_PG_RANK = "ts_rank(catalog_product.search_vector, to_tsquery('simple'::regconfig, %s))::float8"
_PG_MATCH = "catalog_product.search_vector @@ to_tsquery('simple'::regconfig, %s)"
_PG_SIMILARITY = "word_similarity(%s, catalog_product.search_text)::float8"
_PG_SIMILAR = "%s <%% catalog_product.search_text"


def _postgres_match(
    products: QuerySet[Product], required: list[str], any_of: list[str], *, prefix: bool
):
    star = ":*" if prefix else ""
    parts = [f"{term}{star}" for term in required]
    if any_of:
        parts.append("(" + " | ".join(f"{term}{star}" for term in any_of) + ")")
    tsquery = " & ".join(parts)
    rank = RawSQL(_PG_RANK, [tsquery], output_field=FloatField())  # noqa: S611 (literal SQL)
    return products.annotate(rank=rank).extra(where=[_PG_MATCH], params=[tsquery])  # noqa: S610


def _postgres_fuzzy(products: QuerySet[Product], q: str):
    rank = RawSQL(_PG_SIMILARITY, [q], output_field=FloatField())  # noqa: S611 (literal SQL)
    return products.annotate(rank=rank).extra(where=[_PG_SIMILAR], params=[q])  # noqa: S610


def word_matches(
    products: QuerySet[Product],
    *,
    required: list[str],
    any_of: list[str] = (),
    prefix: bool = True,
) -> QuerySet[Product]:
    """`products` holding every `required` word and at least one of `any_of` (as word
    prefixes, or whole words with prefix=False), annotated with `rank` (higher is better).
    Words come from `query_terms`."""
    if not required and not any_of:
        return products.none()
    match = _postgres_match if connection.vendor == "postgresql" else _sqlite_match
    return match(products, list(required), list(any_of), prefix=prefix)


def text_matches(products: QuerySet[Product], q: str, *, fuzzy: bool = True) -> QuerySet[Product]:
    """`products` holding every word of `q`, annotated with `rank` (higher is better); on
    PostgreSQL, when none does, those whose text is most like `q` (misspellings)."""
    terms = query_terms(q)
    matched = word_matches(products, required=terms)
    if terms and fuzzy and connection.vendor == "postgresql" and not matched.exists():
        return _postgres_fuzzy(products, " ".join(terms))
    return matched


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


def search_products(
    products: QuerySet[Product], *, q: str | None, cursor: str | None, limit: int
) -> SearchPage:
    """One page of `products` matching `q` (all of them when blank), best match first.

    Without a query the order is by id; a barcode prefix lists in barcode order (the
    index's own order, so a page is a short index range); words rank by relevance.
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
    ranked = text_matches(products, q)
    if cursor:
        last_rank, last_id = decode_cursor(cursor, float, int)
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
    rows = list(ranked.order_by("-rank", "id")[: limit + 1])
    return _page(rows, limit, lambda p: (p.rank, p.pk))
