"""Request and response shapes of the recommendations API."""

from __future__ import annotations

from decimal import Decimal

from ninja import Schema

from shelfwatch.http.bounds import Id


class StoreQuery(Schema):
    store: Id | None = None


class PickOut(Schema):
    """One recommended product; price, currency and `in_stock_here` are of the asked store
    (no price when no store was asked or it lacks the product). `reason` is "together",
    "also_viewed", "similar" or "bought_before"."""

    id: int
    name: str
    brand: str
    regional_names: dict[str, list[str]]
    price: Decimal | None
    currency: str | None
    in_stock_here: bool
    reason: str


class ProductRecommendationsOut(Schema):
    product: int
    store: int | None
    together: list[PickOut]
    also_viewed: list[PickOut]
    similar: list[PickOut]


class ForMeOut(Schema):
    store: int | None
    items: list[PickOut]
