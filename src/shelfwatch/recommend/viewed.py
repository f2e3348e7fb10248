"""What is viewed together: products the same visitor looked at on the same day, counted
from the analytics app's raw views and scored as bought-together pairs are.

A visitor id lives one UTC day at one store (analytics.visitors), so a (day, visitor) is
one browsing session: the "basket" of views. Bot views and views without an id (Do Not
Track, Global Privacy Control) are left out.

The pairs are counted in the database, a self-join of the distinct (day, visitor,
product) rows grouped by product pair: a month of views is millions of rows, and most
pairs are seen once, so counting in Python would hold every one of them in memory just to
drop it. The HAVING clause keeps only pairs with `min_support` sessions; what comes back
is bounded by those, and by one count per viewed product.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from django.db import connection

from shelfwatch.analytics.models import Visit
from shelfwatch.recommend.together import CoOccurrence, Scoring

__all__ = ["MAX_SESSION", "VIEWED_SCORING", "co_views"]

VIEWED_SCORING = Scoring(alpha=0.5, shrink=0.0, min_support=2.0)
"""The bought-together scorer's shipped setting: a pair needs two sessions, and a partner's
count is divided by the square root of how many sessions viewed it."""

MAX_SESSION = 40
"""Sessions that viewed more distinct products are left out whole: such a visitor is a
crawler that passed for a browser, or many people behind one address, and n products
cost n² pairs."""


# `kept` is each (day, visitor)'s distinct products, sessions too large dropped. The size
# is a window count, not a join to a grouped subquery: PostgreSQL guesses such a join at
# one row and then plans the self-join below as a nested loop (unfinished after 9 minutes
# on half a million views).
_SESSIONS = """
    WITH kept AS (
        SELECT day, visitor, product_id FROM (
            SELECT day, visitor, product_id,
                COUNT(*) OVER (PARTITION BY day, visitor) AS size
            FROM (
                SELECT DISTINCT day, visitor, product_id FROM {visit}
                WHERE day >= %s AND day <= %s AND visitor <> '' AND is_bot = %s
            ) seen
        ) sized
        WHERE size <= %s
    )
"""
_VIEWED = _SESSIONS + "SELECT product_id, COUNT(*) FROM kept GROUP BY product_id"  # noqa: S608

_PAIRS = (
    _SESSIONS  # noqa: S608 - constant text; the table name is put in by co_views
    + """
    SELECT a.product_id, b.product_id, COUNT(*) FROM kept a
    JOIN kept b ON b.day = a.day AND b.visitor = a.visitor AND b.product_id > a.product_id
    GROUP BY a.product_id, b.product_id
    HAVING COUNT(*) >= %s
"""
)


def co_views(
    *,
    first_day: date,
    last_day: date,
    min_support: int = int(VIEWED_SCORING.min_support),
    max_session: int = MAX_SESSION,
) -> tuple[list[int], CoOccurrence]:
    """Sessions (visitor-days) of views from `first_day` to `last_day` as (product ids,
    their counts): how many sessions viewed each product, and each pair viewed in at least
    `min_support` sessions, in both directions, items numbered by the product id list."""
    # The only name put into the SQL is the model's own table's.
    visit = connection.ops.quote_name(Visit._meta.db_table)
    params = [first_day, last_day, False, max_session]
    with connection.cursor() as cursor:
        cursor.execute(_VIEWED.format(visit=visit), params)
        viewed = cursor.fetchall()
        cursor.execute(_PAIRS.format(visit=visit), [*params, min_support])
        pairs = cursor.fetchall()
    product_ids = [int(pid) for pid, _ in viewed]
    index = {pid: i for i, pid in enumerate(product_ids)}
    item_counts = np.array([float(n) for _, n in viewed], dtype=np.float64)
    left = np.array([index[int(a)] for a, _, _ in pairs], dtype=np.int64)
    right = np.array([index[int(b)] for _, b, _ in pairs], dtype=np.int64)
    counts = np.array([int(n) for _, _, n in pairs], dtype=np.int64)
    # Both directions, sorted by (anchor, other) as CoOccurrence wants.
    anchors = np.concatenate((left, right))
    others = np.concatenate((right, left))
    support = np.concatenate((counts, counts))
    order = np.lexsort((others, anchors))
    return product_ids, CoOccurrence(
        n_items=len(product_ids),
        item_counts=item_counts,
        anchors=anchors[order],
        others=others[order],
        pair_counts=support[order].astype(np.float64),
        pair_baskets=support[order],
    )
