"""The most viewed products over a range, without summing every product's days.

Summing `ProductDay` over 90 days of a large catalog reads millions of rows. Instead the
roll-up keeps each day's `KEEP` most viewed products per store and for every store
together (`TopProductDay`), and the most views any other product had that day
(`TopProductCutoff`). Over a range, a product outside the kept lists had at most the sum
of the cutoffs, and a kept product at most its kept views plus the cutoffs of the days it
was not kept. When those bounds prove which products lead, only theirs are summed exactly;
when they do not (flat traffic, or days rolled up before the lists existed), `ranked`
answers None and the caller sums everything.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import QuerySet, Sum

from shelfwatch.analytics.models import ProductDay, TopProductCutoff, TopProductDay
from shelfwatch.analytics.ranges import DayRange
from shelfwatch.inventory.models import Store

KEEP = 200
# Beyond this many products whose place the bounds leave open, summing everything is
# about as quick.
MAX_UNSURE = 1000


def keep_leaders(*, day: date) -> int:
    """Replace `day`'s kept lists and cutoffs from its `ProductDay` rows; returns the rows
    kept. Every store together always gets a cutoff row: it marks the day as kept."""
    TopProductDay.objects.filter(day=day).delete()
    TopProductCutoff.objects.filter(day=day).delete()
    viewed = ProductDay.objects.filter(day=day, store__isnull=False, views__gt=0)
    kept: list[TopProductDay] = []
    cutoffs: list[TopProductCutoff] = []
    scopes = viewed.values_list("store_id", flat=True).order_by().distinct()
    for store_id in [*scopes, None]:
        if store_id is None:
            rows = list(
                viewed.values("product_id")
                .annotate(total=Sum("views"))
                .order_by("-total", "product_id")
                .values_list("product_id", "total")[: KEEP + 1]
            )
        else:
            rows = list(
                viewed.filter(store_id=store_id)
                .order_by("-views", "product_id")
                .values_list("product_id", "views")[: KEEP + 1]
            )
        kept += [
            TopProductDay(store_id=store_id, day=day, product_id=product_id, views=views)
            for product_id, views in rows[:KEEP]
        ]
        cutoff = rows[KEEP][1] if len(rows) > KEEP else 0
        cutoffs.append(TopProductCutoff(store_id=store_id, day=day, views=cutoff))
    TopProductDay.objects.bulk_create(kept, batch_size=2000)
    TopProductCutoff.objects.bulk_create(cutoffs)
    return len(kept)


def _scope(rows: QuerySet, store: Store | None, days: DayRange) -> QuerySet:
    rows = rows.filter(day__gte=days.first, day__lte=days.last)
    return rows.filter(store__isnull=True) if store is None else rows.filter(store=store)


def exact_sums(
    *, store: Store | None, days: DayRange, products: list[int] | None = None
) -> QuerySet:
    """Views, bot views and visitors per product over the range (of `products` only, if
    given), most viewed first."""
    rows = ProductDay.objects.filter(day__gte=days.first, day__lte=days.last)
    rows = rows.filter(store__isnull=False) if store is None else rows.filter(store=store)
    if products is not None:
        rows = rows.filter(product_id__in=products)
    return (
        rows.values("product_id")
        .annotate(views=Sum("views"), bot_views=Sum("bot_views"), visitors=Sum("visitors"))
        .order_by("-views", "product_id")
    )


def ranked(*, store: Store | None, days: DayRange, limit: int) -> list[dict] | None:
    """The `limit` (at most KEEP) most viewed products of the range with their summed
    figures, exactly as `exact_sums` would rank them; None when the kept lists cannot
    prove it."""
    if limit > KEEP:
        return None
    marked = set(
        TopProductCutoff.objects.filter(
            store__isnull=True, day__gte=days.first, day__lte=days.last
        ).values_list("day", flat=True)
    )
    if len(marked) < len(days.days):
        return None  # a day rolled up before the lists were kept
    cutoff = dict(_scope(TopProductCutoff.objects.all(), store, days).values_list("day", "views"))
    # A store with no cutoff row on a kept day had no views that day.
    outside = sum(cutoff.values())
    lower: dict[int, int] = defaultdict(int)
    missing: dict[int, int] = defaultdict(lambda: outside)
    for product_id, day, views in _scope(TopProductDay.objects.all(), store, days).values_list(
        "product_id", "day", "views"
    ):
        lower[product_id] += views
        missing[product_id] -= cutoff.get(day, 0)
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
    rows = list(exact_sums(store=store, days=days, products=unsure))
    return rows[:limit]
