"""The API's search page as rows, from statements compiled once per request shape.

Building and compiling a search queryset cost about a third of a narrow search's CPU, and
turning its rows into model instances and validating them against the response schema
another third. The SQL depends only on the request's shape: what the caller may see,
whether the page is ranked or in catalog order, whether it continues from a cursor, and
the page size. The words and the cursor's key travel as parameters. So each connection
keeps the compiled statement per shape, built once with marker values where the words and
the key go (as product_page.py does for a product), and a request swaps its own values in,
runs the statement, and encodes the tuples it gets as the JSON body in one call.

Shapes served here: no query (catalog order), and words on a ranked page or, on SQLite,
in catalog order. Anything else (filters, barcode prefixes, PostgreSQL's bounded walk for
broad words) and every page that comes back empty (which may need a spelling correction)
is left to search.py, whose results these match row for row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog import search
from shelfwatch.catalog.schemas import ProductSummary
from shelfwatch.catalog.selectors import visibility_key, visible_products
from shelfwatch.http.cursors import decode_cursor, encode_cursor

# A summary's fields in the order the response schema lists them (and Ninja renders them).
SUMMARY_FIELDS = tuple(ProductSummary.model_fields)
# Marker values: no query text, rank or product id a request carries is one of these, and
# each is swapped for the request's own before the statement runs.
_MARK_WORD = "shelfwatchmarkword"
_MARK_RANK = -7_316_942_001.337
_MARK_ID = -7_316_942_001_337
# Compiled statements kept per connection (so per thread); one per caller with stores of
# their own for each shape, so the cache is emptied when it grows past this.
_MAX_KEPT = 512


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    compiler: Any
    converters: dict
    summary: itemgetter  # a row's summary fields, in SUMMARY_FIELDS order
    key: itemgetter  # a row's cursor key: (rank, id) or (id,)


def _compile(rows: QuerySet, *, ranked: bool) -> _Compiled:
    names = ["rank"] if ranked else []
    rows = rows.values_list(*SUMMARY_FIELDS, *names)
    compiler = rows.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    selected = compiler.select[: compiler.col_count]
    # Where each column is in the statement (extra selects do not come first everywhere).
    at = {alias or expr.target.attname: index for index, (expr, _, alias) in enumerate(selected)}
    key_names = ("rank", "id") if ranked else ("id",)
    return _Compiled(
        sql=sql,
        params=tuple(params),
        compiler=compiler,
        converters=compiler.get_converters([entry[0] for entry in selected]),
        summary=itemgetter(*(at[name] for name in SUMMARY_FIELDS)),
        key=itemgetter(*(at[name] for name in key_names)),
    )


def _build(principal: Principal | None, shape: tuple) -> _Compiled:
    order, continues, limit = shape
    products = visible_products(principal).filter(merged_into__isnull=True)
    if order == "rank":
        after = (_MARK_RANK, _MARK_ID) if continues else None
        ranked = search.ranked_query(products, [_MARK_WORD], after, limit)
        return _compile(ranked, ranked=True)
    after = _MARK_ID if continues else None
    if order == "words":  # SQLite: the index hands matches out in id order
        listed = search.catalog_order_sqlite_query(products, [_MARK_WORD], after, limit)
    else:
        if after is not None:
            products = products.filter(pk__gt=after)
        listed = products.order_by("pk")[:limit]
    return _compile(listed, ranked=False)


def _compiled(principal: Principal | None, shape: tuple) -> _Compiled:
    kept: dict[tuple, _Compiled] = connection.__dict__.setdefault("_shelfwatch_search_rows", {})
    key = (shape, visibility_key(principal))
    found = kept.get(key)
    if found is None:
        if len(kept) >= _MAX_KEPT:
            kept.clear()
        found = kept[key] = _build(principal, shape)
    return found


def _json_value(value: Any) -> Any:
    # What Ninja's encoder does with a Decimal (net_quantity): its exact digits as a string.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _shape(q: str, cursor: str | None) -> tuple[str, tuple, dict] | None:
    """(order, key, marker values) for the statement of this request, or None when search.py
    has to answer it."""
    q = q.strip()
    if not q:
        key = decode_cursor(cursor, int) if cursor else ()
        return "pk", key, {}
    compact = q.replace(" ", "").replace("-", "")
    if compact.isdigit() and len(compact) >= 3:
        return None  # a barcode prefix: one range per stored prefix length
    terms = search.query_terms(q)
    if not terms:
        return None
    order, key = search.text_order(terms, cursor)
    markers = {search.match_text([_MARK_WORD]): search.match_text(terms)}
    if order == "rank":
        return "rank", key or (), markers
    if connection.vendor == "postgresql":
        return None  # the bounded walk in id order (search._catalog_order_postgres)
    return "words", key or (), markers


def search_body(
    principal: Principal | None, *, q: str | None, cursor: str | None, limit: int
) -> bytes | None:
    """The JSON body of one page of the products `principal` may see matching `q` (the
    `ProductPage` schema), read in one statement; None when the request is not of a shape
    served here or found nothing (search.py then answers it)."""
    shape = _shape(q or "", cursor)
    if shape is None:
        return None
    order, key, markers = shape
    compiled = _compiled(principal, (order, bool(key), limit + 1))
    if key:
        if order == "rank":
            markers[_MARK_RANK], markers[_MARK_ID] = key
        else:
            markers[_MARK_ID] = key[0]
    params = [
        markers.get(value, value) if type(value) in (str, int, float) else value
        for value in compiled.params
    ]
    with connection.cursor() as db:
        db.execute(compiled.sql, params)
        rows = db.fetchall()
    if not rows:
        return None
    if compiled.converters:
        rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(*_key_tuple(compiled.key(rows[-1])))
    summary = compiled.summary
    page = {
        "items": [dict(zip(SUMMARY_FIELDS, summary(row), strict=True)) for row in rows],
        "next_cursor": next_cursor,
        "corrected_query": None,
    }
    return json.dumps(page, default=_json_value).encode()


def _key_tuple(key: Any) -> tuple:
    # itemgetter of one index gives the value itself, of several a tuple.
    return key if isinstance(key, tuple) else (key,)
