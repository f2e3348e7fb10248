"""Weekly and monthly roll-ups of product views (`ProductSpan`), rebuilt from `ProductDay`
by the daily roll-up, and their kept lists of leaders.

A span is built when its last day's final roll-up is made (the day over in every store's
zone), and rebuilt each
time one of its days is rolled up again later, so it always holds the sum of its days'
`ProductDay` rows: reading a range in weeks and months gives the same totals as reading
its days. A span that has not been built yet is simply read day by day.
"""

from __future__ import annotations

from datetime import date

from django.db import connection

from shelfwatch.analytics import periods
from shelfwatch.analytics.leaders import keep_leaders
from shelfwatch.analytics.models import ProductDay, ProductSpan, Span, TopProductCutoff


def rebuild_spans(*, day: date, final: bool) -> dict[str, int]:
    """Rebuild the week and month holding `day` when they are due (see the module);
    returns the `ProductSpan` rows written per span."""
    written: dict[str, int] = {}
    for span in (Span.WEEK, Span.MONTH):
        first, last = periods.bounds(span, day)
        built = TopProductCutoff.objects.filter(store__isnull=True, span=span, day=first).exists()
        if built or (final and day == last):
            written[span] = _build(span, first, last)
            keep_leaders(day=first, span=span)
    return written


def _build(span: str, first: date, last: date) -> int:
    ProductSpan.objects.filter(span=span, first_day=first).delete()
    # One INSERT ... SELECT: the month of a large catalog is hundreds of thousands of rows,
    # which the database sums and writes without a round trip through Python.
    with connection.cursor() as cursor:
        target, source = ProductSpan._meta.db_table, ProductDay._meta.db_table
        columns = "store_id, product_id, span, first_day, views, bot_views, visitors"
        sums = "store_id, product_id, %s, %s, SUM(views), SUM(bot_views), SUM(visitors)"
        sql = f"INSERT INTO {target} ({columns}) SELECT {sums} FROM {source} WHERE "  # noqa: S608 - names from the models
        sql += "day >= %s AND day <= %s GROUP BY store_id, product_id"
        cursor.execute(sql, [span, first, first, last])
        return cursor.rowcount
