"""Reads of recommendations: a product's bought-together, also-viewed and similar lists, a basket's
"add these too", and a shopper's "for you", each served from the precomputed tables.

Whatever the list, a shopper is only shown public products that some open store has in
stock; with a store chosen, the ones in stock there come first. Nothing out of stock
everywhere is ever listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.errors import NotFound
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.recommend.models import AlsoViewed, RelatedList, Similar, Together
from shelfwatch.recommend.together import decay_weights
from shelfwatch.shop.models import Order, OrderLine, OrderStatus

__all__ = [
    "Pick",
    "add_these_too",
    "also_viewed",
    "bought_together",
    "for_you",
    "similar_products",
    "store_for",
]

DEFAULT_LIMIT = 8
# "For you" reads this much of the shopper's own history, and the partners of this many of
# their most bought products.
OWN_HISTORY_DAYS = 365
OWN_ORDERS = 30
OWN_HALF_LIFE_DAYS = 60
OWN_ANCHORS = 12
# A product bought before counts this much more than the best partner of what was bought:
# grocery shoppers mostly buy again what they bought.
REBUY_WEIGHT = 1.5


# What a recommendation shows of a product (its card, its API entry): loading only these
# keeps a read of a few hundred rows cheap.
_PRODUCT_FIELDS = ("id", "name", "brand", "category_id", "net_quantity", "net_unit")
_ROW_FIELDS = ("product_id", "other_id", "rank", "score", *(f"other__{f}" for f in _PRODUCT_FIELDS))
# A shopper's history reads this many entries of each product's list.
PER_ANCHOR = 10
# A basket reads every stored entry (refresh.LIST_LENGTH), as the quality bench scores
# EASE's basket sums (bench/recommend_quality.py).
BASKET_PER_ANCHOR = 30


class StoreNotFound(NotFound):
    code = "store_not_found"


@dataclass(frozen=True, slots=True)
class Pick:
    """One recommended product, with the chosen store's stock item when it has it in stock,
    and why it was picked: "together", "also_viewed", "similar" or "bought_before"."""

    product: Product
    stock: StockItem | None
    reason: str

    @property
    def in_stock_here(self) -> bool:
        return self.stock is not None


def store_for(store_id: int | None) -> Store | None:
    """The open store of that id (None for no id); raises StoreNotFound otherwise."""
    if store_id is None:
        return None
    store = Store.objects.filter(pk=store_id, is_active=True).first()
    if store is None:
        raise StoreNotFound("store not found")
    return store


def _picks(
    ranked: list[tuple[Product, str]], *, store: Store | None, limit: int, here: set[int]
) -> list[Pick]:
    """The first `limit` of `ranked` (products in order, each with its reason), those in
    stock at `store` (`here`) first, keeping the order within each group; with a store,
    one query loads their stock items there."""
    ordered = [r for r in ranked if r[0].pk in here] + [r for r in ranked if r[0].pk not in here]
    ordered = ordered[:limit]
    stock: dict[int, StockItem] = {}
    if store is not None and here:
        stock = {
            item.product_id: item
            for item in StockItem.objects.filter(
                store=store, product_id__in=[p.pk for p, _ in ordered if p.pk in here]
            )
        }
    return [Pick(product=p, stock=stock.get(p.pk), reason=reason) for p, reason in ordered]


def _listed(
    model: type[RelatedList],
    product_ids: Iterable[int],
    *,
    store: Store | None,
    exclude: set[int],
    fetch: int,
    ranks: int | None = None,
) -> list[RelatedList]:
    """The rows of `model` for `product_ids` whose other product is public and in stock
    somewhere open, with that product loaded and `here` set when it is in stock at
    `store`; only each list's first `ranks` entries when given. One query on the
    (product, rank) index."""
    rows = (
        model.objects.filter(product_id__in=list(product_ids))
        .exclude(other_id__in=exclude)
        .filter(
            other__status=VerificationStatus.VERIFIED,
            other__merged_into__isnull=True,
        )
        # A per-row probe of the stock index, not EXISTS: for a few dozen list rows
        # PostgreSQL would otherwise hash the whole stock table (see _a_stock_item).
        .annotate(stocked=_a_stock_item(OuterRef("other_id")))
        .filter(stocked__isnull=False)
        .select_related("other")
        .only(*_ROW_FIELDS)
    )
    if ranks is not None:
        rows = rows.filter(rank__lt=ranks)
    if store is not None:
        rows = rows.annotate(here=_a_stock_item(OuterRef("other_id"), store)).order_by(
            F("here").desc(nulls_last=True), "rank"
        )
    else:
        rows = rows.order_by("rank")
    return list(rows[:fetch])


def _related(
    model: type[RelatedList], product: Product, *, store: Store | None, limit: int, reason: str
) -> list[Pick]:
    rows = _listed(model, [product.pk], store=store, exclude={product.pk}, fetch=limit)
    here = {r.other_id for r in rows if getattr(r, "here", None) is not None}
    return _picks([(r.other, reason) for r in rows], store=store, limit=limit, here=here)


def bought_together(
    product: Product, *, store: Store | None, limit: int = DEFAULT_LIMIT
) -> list[Pick]:
    """Products often bought with `product`, in stock (at `store` first)."""
    return _related(Together, product, store=store, limit=limit, reason="together")


def also_viewed(product: Product, *, store: Store | None, limit: int = DEFAULT_LIMIT) -> list[Pick]:
    """Products that visitors who viewed `product` also viewed that day, in stock (at
    `store` first)."""
    return _related(AlsoViewed, product, store=store, limit=limit, reason="also_viewed")


def similar_products(
    product: Product, *, store: Store | None, limit: int = DEFAULT_LIMIT
) -> list[Pick]:
    """Products like `product` (name, brand, category, regional names), in stock."""
    return _related(Similar, product, store=store, limit=limit, reason="similar")


def _combined(
    rows: list[RelatedList], anchor_weight: dict[int, float], *, per_anchor: bool
) -> tuple[dict[int, float], dict[int, Product], set[int]]:
    """Sum each candidate's score over the anchors that list it, times the anchor's weight
    (1 when not given); with `per_anchor`, each anchor's scores are first scaled so its
    best partner counts 1. Returns the sums, the candidates' products and those in stock
    at the store."""
    best: dict[int, float] = defaultdict(float)
    if per_anchor:
        for row in rows:
            best[row.product_id] = max(best[row.product_id], row.score)
    total: dict[int, float] = defaultdict(float)
    products: dict[int, Product] = {}
    here: set[int] = set()
    for row in rows:
        top = best[row.product_id] if per_anchor else 1.0
        if top > 0:
            total[row.other_id] += anchor_weight.get(row.product_id, 1.0) * row.score / top
        products[row.other_id] = row.other
        if getattr(row, "here", None) is not None:
            here.add(row.other_id)
    return total, products, here


def add_these_too(
    product_ids: Iterable[int], *, store: Store | None, limit: int = DEFAULT_LIMIT
) -> list[Pick]:
    """What to add to a basket of `product_ids`: the partners of all of them together,
    never one already in it, in stock (at `store` first)."""
    basket = set(product_ids)
    if not basket:
        return []
    rows = _listed(
        Together,
        basket,
        store=store,
        exclude=basket,
        fetch=len(basket) * BASKET_PER_ANCHOR,
        ranks=BASKET_PER_ANCHOR,
    )
    # The stored weights are summed as they are: EASE's weights are built to add up over a
    # basket, and the refresh scales the pair scorer's lists to match (recommend/ease.py).
    total, products, here = _combined(rows, {}, per_anchor=False)
    ranked = sorted(total, key=lambda pid: (-total[pid], pid))
    return _picks(
        [(products[pid], "together") for pid in ranked], store=store, limit=limit, here=here
    )


def _a_stock_item(product_ref: OuterRef, store: Store | None = None) -> Subquery:
    """The id of one stock item holding the product in stock (at `store` when given), or
    null. Where EXISTS would do, PostgreSQL chose to hash the whole stock table for a few
    hundred rows; a LIMIT 1 subquery makes it probe the index once per row."""
    items = StockItem.objects.filter(product=product_ref, quantity__gt=0, store__is_active=True)
    if store is not None:
        items = items.filter(store=store)
    return Subquery(items.values("pk")[:1])


def _own_history(
    user, *, now: datetime, store: Store | None
) -> tuple[dict[int, float], dict[int, Product], set[int]]:
    """How much the shopper bought each product (their last OWN_ORDERS orders, not
    cancelled, of the last OWN_HISTORY_DAYS, each weighted by its age), those of the
    products a shopper may be shown now (public, in stock at an open store), and those in
    stock at `store`: one query."""
    recent = (
        Order.objects.filter(user=user, created_at__gte=now - timedelta(days=OWN_HISTORY_DAYS))
        .exclude(status=OrderStatus.CANCELLED)
        .order_by("-id")
        .values("id")[:OWN_ORDERS]
    )
    lines = (
        OrderLine.objects.filter(order_id__in=recent)
        .select_related("product")
        .only(
            "product_id",
            "order_id",
            *(f"product__{f}" for f in (*_PRODUCT_FIELDS, "status", "merged_into_id")),
        )
        .annotate(
            ordered_at=F("order__created_at"),
            available=_a_stock_item(OuterRef("product_id")),
        )
    )
    if store is not None:
        lines = lines.annotate(here=_a_stock_item(OuterRef("product_id"), store))
    entries = list(lines)
    ages = [(now - line.ordered_at).total_seconds() / 86400 for line in entries]
    weights = decay_weights(ages, half_life_days=OWN_HALF_LIFE_DAYS).tolist()
    bought: dict[int, float] = defaultdict(float)
    shown: dict[int, Product] = {}
    here: set[int] = set()
    for line, weight in zip(entries, weights, strict=True):
        bought[line.product_id] += weight
        product = line.product
        if (
            line.available is not None
            and product.status == VerificationStatus.VERIFIED
            and product.merged_into_id is None
        ):
            shown[product.pk] = product
            if getattr(line, "here", None) is not None:
                here.add(product.pk)
    return bought, shown, here


def for_you(user, *, store: Store | None, limit: int = DEFAULT_LIMIT) -> list[Pick]:
    """For a signed-in shopper: what they buy again and what goes with it, from their own
    orders and the bought-together lists, in stock (at `store` first); empty without
    orders. Three queries with a store (the shopper's order lines with their products, the
    partners of the most bought, the store's stock items), two without."""
    bought, products, here = _own_history(user, now=timezone.now(), store=store)
    if not bought:
        return []
    top_bought = max(bought.values())
    # Rebuys: in stock and public, ranked by how much (and how lately) they were bought.
    scores = {pid: REBUY_WEIGHT * bought[pid] / top_bought for pid in products}
    reasons = dict.fromkeys(scores, "bought_before")
    # Partners of the most bought products, weighted by how much each was bought.
    anchors = sorted(bought, key=lambda pid: (-bought[pid], pid))[:OWN_ANCHORS]
    rows = _listed(
        Together,
        anchors,
        store=store,
        exclude=set(),
        fetch=len(anchors) * PER_ANCHOR,
        ranks=PER_ANCHOR,
    )
    # Scaled per anchor, so partners stay below rebuys whatever the scorer's scale.
    partners, partner_products, partners_here = _combined(
        rows, {a: bought[a] / top_bought for a in anchors}, per_anchor=True
    )
    for pid, score in partners.items():
        if pid not in reasons:
            reasons[pid] = "together"
            scores[pid] = score / len(anchors)
            products[pid] = partner_products[pid]
    here |= partners_here
    ranked = sorted(scores, key=lambda pid: (-scores[pid], pid))
    return _picks(
        [(products[pid], reasons[pid]) for pid in ranked], store=store, limit=limit, here=here
    )
