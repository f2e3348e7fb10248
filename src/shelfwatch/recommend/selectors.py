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

from django.utils import timezone

from shelfwatch.catalog.models import Product
from shelfwatch.errors import NotFound
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.recommend import stored
from shelfwatch.recommend.models import AlsoViewed, RelatedList, Similar, Together
from shelfwatch.recommend.together import decay_weights

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
    ranked: list[tuple[int, str]],
    *,
    shown: dict[int, tuple],
    store: Store | None,
    limit: int,
    here: set[int],
) -> list[Pick]:
    """The first `limit` of `ranked` (product ids in order, each with its reason), those in
    stock at `store` (`here`) first, keeping the order within each group, as products built
    of their `shown` columns; with a store, one query loads their stock items there."""
    ordered = [r for r in ranked if r[0] in here] + [r for r in ranked if r[0] not in here]
    ordered = ordered[:limit]
    stock: dict[int, StockItem] = {}
    if store is not None:
        stock = stored.stock_items_at(store, [pid for pid, _ in ordered if pid in here])
    return [
        Pick(product=stored.product_of(shown[pid]), stock=stock.get(pid), reason=reason)
        for pid, reason in ordered
    ]


def _related(
    model: type[RelatedList], product: Product, *, store: Store | None, limit: int, reason: str
) -> list[Pick]:
    entries = stored.list_entries(model, [product.pk], store=store, fetch=limit)
    here = {e.other for e in entries if e.here}
    shown = {e.other: e.shown for e in entries}
    return _picks(
        [(e.other, reason) for e in entries], shown=shown, store=store, limit=limit, here=here
    )


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
    entries: list[stored.ListEntry], anchor_weight: dict[int, float], *, per_anchor: bool
) -> tuple[dict[int, float], set[int]]:
    """Sum each candidate's score over the anchors that list it, times the anchor's weight
    (1 when not given); with `per_anchor`, each anchor's scores are first scaled so its
    best partner counts 1. Returns the sums and the candidates in stock at the store."""
    best: dict[int, float] = defaultdict(float)
    if per_anchor:
        for entry in entries:
            best[entry.product] = max(best[entry.product], entry.score)
    total: dict[int, float] = defaultdict(float)
    here: set[int] = set()
    for entry in entries:
        top = best[entry.product] if per_anchor else 1.0
        if top > 0:
            total[entry.other] += anchor_weight.get(entry.product, 1.0) * entry.score / top
        if entry.here:
            here.add(entry.other)
    return total, here


def add_these_too(
    product_ids: Iterable[int], *, store: Store | None, limit: int = DEFAULT_LIMIT
) -> list[Pick]:
    """What to add to a basket of `product_ids`: the partners of all of them together,
    never one already in it, in stock (at `store` first)."""
    basket = set(product_ids)
    if not basket:
        return []
    entries = stored.list_entries(
        Together,
        basket,
        store=store,
        exclude=basket,
        fetch=len(basket) * BASKET_PER_ANCHOR,
        ranks=BASKET_PER_ANCHOR,
    )
    # The stored weights are summed as they are: EASE's weights are built to add up over a
    # basket, and the refresh scales the pair scorer's lists to match (recommend/ease.py).
    total, here = _combined(entries, {}, per_anchor=False)
    ranked = sorted(total, key=lambda pid: (-total[pid], pid))
    shown = {e.other: e.shown for e in entries}
    return _picks(
        [(pid, "together") for pid in ranked], shown=shown, store=store, limit=limit, here=here
    )


def _own_history(
    user, *, now: datetime, store: Store | None
) -> tuple[dict[int, float], dict[int, tuple], set[int]]:
    """How much the shopper bought each product (their last OWN_ORDERS orders, not
    cancelled, of the last OWN_HISTORY_DAYS, each weighted by its age), those of the
    products a shopper may be shown now (public, in stock at an open store), and those in
    stock at `store`: one query."""
    lines = stored.own_lines(
        user.pk,
        now=now,
        since=now - timedelta(days=OWN_HISTORY_DAYS),
        orders=OWN_ORDERS,
        store=store,
    )
    ages = [line.age_days for line in lines]
    weights = decay_weights(ages, half_life_days=OWN_HALF_LIFE_DAYS).tolist()
    bought: dict[int, float] = defaultdict(float)
    shown: dict[int, tuple] = {}
    here: set[int] = set()
    for line, weight in zip(lines, weights, strict=True):
        bought[line.product] += weight
        if line.may_show:
            shown[line.product] = line.shown
            if line.here:
                here.add(line.product)
    return bought, shown, here


def for_you(user, *, store: Store | None, limit: int = DEFAULT_LIMIT) -> list[Pick]:
    """For a signed-in shopper: what they buy again and what goes with it, from their own
    orders and the bought-together lists, in stock (at `store` first); empty without
    orders. Three queries with a store (the shopper's order lines with their products, the
    partners of the most bought, the store's stock items), two without."""
    bought, shown, here = _own_history(user, now=timezone.now(), store=store)
    if not bought:
        return []
    top_bought = max(bought.values())
    # Rebuys: in stock and public, ranked by how much (and how lately) they were bought.
    scores = {pid: REBUY_WEIGHT * bought[pid] / top_bought for pid in shown}
    reasons = dict.fromkeys(scores, "bought_before")
    # Partners of the most bought products, weighted by how much each was bought.
    anchors = sorted(bought, key=lambda pid: (-bought[pid], pid))[:OWN_ANCHORS]
    entries = stored.list_entries(
        Together, anchors, store=store, fetch=len(anchors) * PER_ANCHOR, ranks=PER_ANCHOR
    )
    # Scaled per anchor, so partners stay below rebuys whatever the scorer's scale.
    partners, partners_here = _combined(
        entries, {a: bought[a] / top_bought for a in anchors}, per_anchor=True
    )
    for pid, score in partners.items():
        if pid not in reasons:
            reasons[pid] = "together"
            scores[pid] = score / len(anchors)
    for entry in entries:
        shown.setdefault(entry.other, entry.shown)
    here |= partners_here
    ranked = sorted(scores, key=lambda pid: (-scores[pid], pid))
    return _picks(
        [(pid, reasons[pid]) for pid in ranked], shown=shown, store=store, limit=limit, here=here
    )
