"""The nightly rebuild of the precomputed lists: bought together from the order history,
also viewed from the product views analytics recorded, similar products from the
catalog's words. Each list table is replaced whole in one
transaction, so a page never reads half of an old list and half of a new one."""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from itertools import chain, groupby
from operator import attrgetter

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from shelfwatch.catalog.matching import record_of
from shelfwatch.catalog.selectors import visible_products
from shelfwatch.recommend.ease import Lists, fit_ease, served_lists
from shelfwatch.recommend.models import AlsoViewed, RelatedList, Similar, Together
from shelfwatch.recommend.similar import Described, lists_of_category
from shelfwatch.recommend.together import (
    DEFAULT_SCORING,
    CoOccurrence,
    Scoring,
    count_pairs,
    decay_weights,
)
from shelfwatch.recommend.viewed import VIEWED_SCORING, co_views
from shelfwatch.shop.models import OrderLine, OrderStatus

logger = logging.getLogger(__name__)

LIST_LENGTH = 30
"""Entries kept per product: enough that a store missing some still shows a full row."""
HISTORY_DAYS = 365
"""Orders older than this are not read at all."""
HALF_LIFE_DAYS = 60
"""An order this old counts half as much as one placed today."""
MAX_BASKET = 40
"""Orders with more distinct products count only their first this many: a stock-up order
of a hundred products says little about which of them go together, and costs n² pairs."""
VIEW_DAYS = 30
"""Also viewed reads the views of today and the days before it, this many days in all
(analytics keeps raw views ANALYTICS_RAW_DAYS)."""
WRITE_CHUNK = 4000
"""Rows per INSERT statement when a list table is rewritten (four parameters a row, well
inside every driver's limit)."""

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def order_baskets(*, now: datetime) -> tuple[list[int], list[list[int]], list[float]]:
    """The order history as (product ids, baskets of indices into them, age of each basket
    in days): orders of the last HISTORY_DAYS that were not cancelled."""
    lines = (
        OrderLine.objects.filter(order__created_at__gte=now - timedelta(days=HISTORY_DAYS))
        .exclude(order__status=OrderStatus.CANCELLED)
        .order_by("order_id", "id")
        .values_list("order_id", "order__created_at", "product_id")
    )
    index: dict[int, int] = {}
    baskets: list[list[int]] = []
    ages: list[float] = []
    current = None
    for order_id, created_at, product_id in lines.iterator(chunk_size=5000):
        if order_id != current:
            current = order_id
            baskets.append([])
            ages.append((now - created_at).total_seconds() / 86400)
        basket = baskets[-1]
        item = index.setdefault(product_id, len(index))
        if item not in basket and len(basket) < MAX_BASKET:
            basket.append(item)
    return list(index), baskets, ages


def _replace(model: type[RelatedList], lists: Iterable[tuple[int, list[tuple[int, float]]]]) -> int:
    """Replace `model`'s rows with `lists` (product id, its list best first) in one
    transaction; returns the rows written.

    The lists are first packed into flat arrays (about 26 bytes an entry, where a dict of
    tuples of Python numbers costs over 100), so a catalog of 200,000 products with 30
    entries each is held in some 150 MB, and the write lock is taken only once everything
    is computed. The rows go in as multi-row INSERTs of WRITE_CHUNK rows, not as model
    instances."""
    products, others, ranks, scores = array("q"), array("q"), array("H"), array("d")
    for product_id, best in lists:
        for rank, (other_id, score) in enumerate(best):
            products.append(product_id)
            others.append(other_id)
            ranks.append(rank)
            scores.append(score)
    quote = connection.ops.quote_name
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({quote('product_id')}, {quote('other_id')}, {quote('rank')}, {quote('score')}) VALUES "
    )
    with transaction.atomic(), connection.cursor() as cursor:
        model.objects.all().delete()
        for start in range(0, len(products), WRITE_CHUNK):
            end = start + WRITE_CHUNK
            rows = list(
                zip(
                    products[start:end],
                    others[start:end],
                    ranks[start:end],
                    scores[start:end],
                    strict=True,
                )
            )
            cursor.execute(
                head + ", ".join(["(%s, %s, %s, %s)"] * len(rows)),
                [value for row in rows for value in row],
            )
    if connection.vendor == "postgresql":
        # The table was replaced whole: without fresh statistics the planner would take
        # the new lists for the old ones until autovacuum comes by.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")
    return len(products)


def _public_lists(lists: Lists, product_ids: list[int]) -> dict[int, list[tuple[int, float]]]:
    """`lists` (by item index) as product ids, each cut to LIST_LENGTH, where only products
    a shopper may see are listed, on either side."""
    # (The whole public catalog's ids: a list of every counted id could pass the
    # database's limit on query parameters.)
    shown = set(
        visible_products(None).filter(merged_into__isnull=True).values_list("pk", flat=True)
    )
    public: dict[int, list[tuple[int, float]]] = {}
    for anchor, best in lists.items():
        product_id = product_ids[anchor]
        if product_id not in shown:
            continue
        kept = [(product_ids[o], s) for o, s in best if product_ids[o] in shown]
        if kept:
            public[product_id] = kept[:LIST_LENGTH]
    return public


def _scored_lists(co: CoOccurrence, scoring: Scoring) -> Lists:
    return co.top_per_item(scoring, LIST_LENGTH * 2)


def together_lists(co: CoOccurrence, *, orders: int, progress: Progress = _quiet) -> Lists:
    """The bought-together lists by item index, as stored: EASE on the
    RECOMMEND_EASE_MAX_ITEMS most bought products once there are RECOMMEND_EASE_MIN_ORDERS
    orders, the pair scorer for every other product."""
    max_items = settings.RECOMMEND_EASE_MAX_ITEMS
    fit = None
    if max_items > 0 and orders >= settings.RECOMMEND_EASE_MIN_ORDERS:
        fit = fit_ease(co, l2=settings.RECOMMEND_EASE_L2, max_items=max_items)
    if fit is not None:
        progress(f"together: EASE on {len(fit.items)} products")
    # Twice the stored length: some partners are dropped as not public.
    return served_lists(co, scoring=DEFAULT_SCORING, fit=fit, limit=LIST_LENGTH * 2)


def refresh_together(*, now: datetime | None = None, progress: Progress = _quiet) -> int:
    """Rebuild the bought-together lists from the order history; returns the rows written."""
    now = now or timezone.now()
    product_ids, baskets, ages = order_baskets(now=now)
    progress(f"together: {len(baskets)} orders, {len(product_ids)} products")
    co = count_pairs(
        baskets,
        len(product_ids),
        weights=decay_weights(ages, half_life_days=HALF_LIFE_DAYS),
    )
    lists = _public_lists(together_lists(co, orders=len(baskets), progress=progress), product_ids)
    written = _replace(Together, lists.items())
    progress(f"together: {len(lists)} products listed, {written} rows")
    return written


def refresh_also_viewed(*, now: datetime | None = None, progress: Progress = _quiet) -> int:
    """Rebuild the also-viewed lists from the views of the last VIEW_DAYS UTC days (bots and
    views without a visitor id left out); returns the rows written."""
    last_day = (now or timezone.now()).astimezone(UTC).date()
    product_ids, co = co_views(
        first_day=last_day - timedelta(days=VIEW_DAYS - 1), last_day=last_day
    )
    progress(f"also viewed: {len(product_ids)} products viewed, {len(co.anchors) // 2} pairs")
    lists = _public_lists(_scored_lists(co, VIEWED_SCORING), product_ids)
    written = _replace(AlsoViewed, lists.items())
    progress(f"also viewed: {len(lists)} products listed, {written} rows")
    return written


def refresh_similar(*, progress: Progress = _quiet) -> int:
    """Rebuild the similar-products lists from the public catalog; returns the rows written.

    The products are read in category order and compared a category at a time, so what is
    held besides the products' words is one category's comparison and the packed lists."""
    products = (
        visible_products(None)
        .filter(merged_into__isnull=True)
        .only("pk", "name", "brand", "category_id", "net_quantity", "net_unit", "barcode")
        .prefetch_related("regional_names")
        .order_by("category_id", "pk")
    )
    described = [
        Described(product_id=p.pk, category_id=p.category_id, record=record_of(p))
        for p in products.iterator(chunk_size=2000)
    ]
    progress(f"similar: {len(described)} products")
    lists = chain.from_iterable(
        lists_of_category(list(members), category_id=category_id, limit=LIST_LENGTH)
        for category_id, members in groupby(described, key=attrgetter("category_id"))
    )
    written = _replace(Similar, lists)
    progress(f"similar: {written} rows")
    return written


def refresh_all(*, progress: Progress = _quiet) -> dict[str, int]:
    """Rebuild every precomputed list; returns the rows written per list."""
    together = refresh_together(progress=progress)
    also_viewed = refresh_also_viewed(progress=progress)
    similar = refresh_similar(progress=progress)
    logger.info(
        "recommendations refreshed: %d together, %d also viewed, %d similar rows",
        together,
        also_viewed,
        similar,
    )
    return {"together": together, "also_viewed": also_viewed, "similar": similar}
