"""The most viewed products over a range, without summing every product's days.

A range is read in pieces (`periods.cut`): the whole months and weeks it holds, from
`ProductSpan`, and the days at its edges, from `ProductDay`. Summing those is exact and
reads a few rows per product however long the range.

Ranking needs fewer still: for each day, week and month the roll-up keeps the most viewed
products per store and for every store together (`TopProductDay`), and the most views any
other product had (`TopProductCutoff`). Over the pieces of a range, a product outside the
kept lists had at most the sum of the cutoffs, and a kept product at most its kept views
plus the cutoffs of the pieces it was not kept in. When those bounds prove which products
lead, only theirs are summed; when they do not (flat traffic, or days rolled up before the
lists existed), every product of the pieces is summed. Either way the answer is the one
summing every day would give, ties by product id included.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db import connection
from django.db.models import Q, QuerySet, Sum

from shelfwatch.analytics import periods
from shelfwatch.analytics.models import (
    ProductDay,
    ProductSpan,
    Span,
    TopProductCutoff,
    TopProductDay,
)
from shelfwatch.analytics.periods import Piece
from shelfwatch.analytics.ranges import DayRange
from shelfwatch.inventory.models import Store

KEEP = 200
# Weeks and months keep longer lists: few of them make up a range, so their cutoffs add up
# to little and prove rankings that daily lists alone would leave open.
KEEP_SPAN = 1000
# Beyond this many products whose place the bounds leave open, summing everything is
# about as quick.
MAX_UNSURE = 1000


def keep_leaders(*, day: date, span: str = Span.DAY) -> int:
    """Replace the kept lists and cutoffs of the day (or of the week or month starting on
    `day`) from its `ProductDay` (`ProductSpan`) rows; returns the rows kept. Every store
    together always gets a cutoff row: it marks the lists as kept."""
    TopProductDay.objects.filter(span=span, day=day).delete()
    TopProductCutoff.objects.filter(span=span, day=day).delete()
    if span == Span.DAY:
        source: QuerySet = ProductDay.objects.filter(day=day)
        keep = KEEP
    else:
        source = ProductSpan.objects.filter(span=span, first_day=day)
        keep = KEEP_SPAN
    viewed = source.filter(store__isnull=False, views__gt=0)
    cutoffs: list[TopProductCutoff] = []
    written = 0
    scopes = viewed.values_list("store_id", flat=True).order_by().distinct()
    for store_id in [*scopes, None]:
        if store_id is None:
            rows = (
                viewed.values("product_id")
                .annotate(total=Sum("views"))
                .order_by("-total", "product_id")
                .values_list("product_id", "total")
            )
        else:
            rows = (
                viewed.filter(store_id=store_id)
                .order_by("-views", "product_id")
                .values_list("product_id", "views")
            )
        written += _insert_kept(rows[:keep], store_id=store_id, span=span, day=day)
        beyond = rows[keep : keep + 1]
        cutoff = beyond[0][1] if beyond else 0
        cutoffs.append(TopProductCutoff(store_id=store_id, span=span, day=day, views=cutoff))
    TopProductCutoff.objects.bulk_create(cutoffs)
    return written


def _insert_kept(rows: QuerySet, *, store_id: int | None, span: str, day: date) -> int:
    """Write `rows` (product id, views) as kept-list rows in one INSERT ... SELECT, without
    a round trip through Python."""
    select, params = rows.query.sql_with_params()
    day_value = TopProductDay._meta.get_field("day").get_db_prep_value(day, connection)
    table = TopProductDay._meta.db_table
    # The ordered, limited SELECT sits in a subquery: SQLite and PostgreSQL both keep its
    # LIMIT there, and the outer SELECT only adds the constant columns.
    sql = (
        f"INSERT INTO {table} (store_id, span, day, product_id, views) "  # noqa: S608 - names from the models
        f"SELECT CAST(%s AS BIGINT), %s, %s, kept.* FROM ({select}) AS kept"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [store_id, span, day_value, *params])
        return cursor.rowcount


def pieces_of(days: DayRange) -> list[Piece]:
    """The range cut into its built months and weeks and its other days."""
    built = TopProductCutoff.objects.filter(
        store__isnull=True,
        span__in=[Span.WEEK, Span.MONTH],
        day__gte=days.first,
        day__lte=days.last,
    ).values_list("span", "day")
    return periods.cut(days, built)


# Grouping by `product_id + 0`, not the column: otherwise SQLite walks the whole table in
# product order (to group without sorting) instead of seeking the range's days by index.
_COLUMNS = "product_id + 0 AS product, views, bot_views, visitors"
_TOTALS = "product, SUM(views), SUM(bot_views), SUM(visitors)"
# Ranking every product reads its views only (the columns the indexes hold, so neither
# database visits the table rows); the leaders' other sums are read for them alone.
_VIEWS = "product_id + 0 AS product, views"
_VIEW_TOTALS = "product, SUM(views)"


def _marks(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def _in_pieces(pieces: list[Piece]) -> Q:
    """Kept-list rows (span, day) of the pieces."""
    match = Q(pk__in=[])
    for span in Span.values:
        firsts = [piece.first for piece in pieces if piece.span == span]
        if firsts:
            match |= Q(span=span, day__in=firsts)
    return match


def summed(
    *,
    store: Store | None,
    pieces: list[Piece],
    products: list[int] | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Views, bot views and visitors per product over the pieces (of `products` only, if
    given), most viewed first, ties by id: what summing their days gives."""
    if products is not None and not products:
        return []
    if products is None and limit is not None:
        # Rank on views alone, then sum the leaders' other figures: the same rows, ties
        # by id as before, without carrying three sums for every product of the range.
        leaders = _sum_pieces(store=store, pieces=pieces, products=None, limit=limit, full=False)
        return summed(store=store, pieces=pieces, products=[p for p, *_ in leaders], limit=limit)
    rows = _sum_pieces(store=store, pieces=pieces, products=products, limit=limit, full=True)
    return [
        {"product_id": p, "views": int(v), "bot_views": int(b), "visitors": int(u)}
        for p, v, b, u in rows
    ]


def _sum_pieces(
    *,
    store: Store | None,
    pieces: list[Piece],
    products: list[int] | None,
    limit: int | None,
    full: bool,
) -> list[tuple]:
    """(product, views[, bot views, visitors]) summed over the pieces, most viewed first."""
    columns, totals = (_COLUMNS, _TOTALS) if full else (_VIEWS, _VIEW_TOTALS)
    days = [piece.first for piece in pieces if piece.span == Span.DAY]
    spans = {
        span: [piece.first for piece in pieces if piece.span == span]
        for span in (Span.WEEK, Span.MONTH)
    }
    where, params = ["store_id IS NOT NULL"] if store is None else ["store_id = %s"], []
    if store is not None:
        params.append(store.pk)
    if products is not None:
        where.append(f"product_id IN ({_marks(products)})")
        params += products
    # Table names come from the models and every value is a parameter.
    parts: list[tuple[str, list]] = []
    if days:
        where_days = " AND ".join([*where, f"day IN ({_marks(days)})"])
        parts.append((f"{columns} FROM {ProductDay._meta.db_table} WHERE {where_days}", days))
    for span, firsts in spans.items():
        if firsts:
            where_span = " AND ".join([*where, f"span = %s AND first_day IN ({_marks(firsts)})"])
            table = ProductSpan._meta.db_table
            parts.append((f"{columns} FROM {table} WHERE {where_span}", [span, *firsts]))
    if not parts:
        return []
    union = " UNION ALL ".join(f"SELECT {part}" for part, _ in parts)
    sql = f"SELECT {totals} FROM ({union}) AS parts GROUP BY product ORDER BY 2 DESC, 1"  # noqa: S608
    part_params = [value for _, values in parts for value in [*params, *values]]
    if limit is not None:
        sql += " LIMIT %s"
        part_params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, part_params)
        return cursor.fetchall()


def ranked(
    *, store: Store | None, days: DayRange, limit: int, pieces: list[Piece] | None = None
) -> list[dict] | None:
    """The `limit` (at most KEEP) most viewed products of the range with their summed
    figures, exactly as summing every product would rank them; None when the kept lists
    cannot prove it."""
    if limit > KEEP:
        return None
    pieces = pieces_of(days) if pieces is None else pieces
    single = [piece.first for piece in pieces if piece.span == Span.DAY]
    marked = TopProductCutoff.objects.filter(
        store__isnull=True, span=Span.DAY, day__in=single
    ).count()
    if marked < len(single):
        return None  # a day rolled up before the lists were kept
    scoped = _in_pieces(pieces) & (Q(store__isnull=True) if store is None else Q(store=store))
    cutoff = {
        (span, day): views
        for span, day, views in TopProductCutoff.objects.filter(scoped).values_list(
            "span", "day", "views"
        )
    }
    # A store with no cutoff row on a kept piece had no views in it.
    outside = sum(cutoff.values())
    lower: dict[int, int] = defaultdict(int)
    missing: dict[int, int] = defaultdict(lambda: outside)
    for product_id, span, day, views in TopProductDay.objects.filter(scoped).values_list(
        "product_id", "span", "day", "views"
    ):
        lower[product_id] += views
        missing[product_id] -= cutoff.get((span, day), 0)
    order = sorted(lower, key=lambda p: (-lower[p], p))
    if len(order) < limit:
        return None  # few products viewed: summing them all is quick
    threshold = lower[order[limit - 1]]
    # A product never kept may have up to `outside` views; ties go by id, so it must fall
    # strictly short of the last place.
    if outside >= threshold:
        return None
    unsure = [p for p in order if lower[p] + missing[p] >= threshold]
    if len(unsure) > MAX_UNSURE:
        return None
    return summed(store=store, pieces=pieces, products=unsure, limit=limit)


def top(*, store: Store | None, days: DayRange, limit: int) -> tuple[list[dict], bool]:
    """The `limit` most viewed products of the range, and whether the kept lists proved the
    ranking (False: every product of the range's pieces was summed)."""
    pieces = pieces_of(days)
    rows = ranked(store=store, days=days, limit=limit, pieces=pieces)
    if rows is not None:
        return rows, True
    return summed(store=store, pieces=pieces, limit=limit), False
