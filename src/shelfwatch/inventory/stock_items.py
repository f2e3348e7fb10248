"""A store's stock items: adding a catalog product to a store and editing its details.

Quantities are never set here directly: an opening quantity and every later change go
through `stock` (`move_stock`, or `insert_stocked_items` for a bulk import's new items), so
the ledger explains every unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.errors import Conflict, Invalid
from shelfwatch.events.publishing import NewEvent, emit, emit_batch
from shelfwatch.fast_insert import insert_all
from shelfwatch.inventory.models import MovementReason, StockItem, Store
from shelfwatch.inventory.stock import insert_stocked_items, move_stock

DETAIL_FIELDS = (
    "cost_price",
    "selling_price",
    "reorder_level",
    "supplier",
    "location",
    "notes",
    "sku",
)


class InvalidStockItem(Invalid):
    code = "invalid_stock_item"


def clean_details(details: dict[str, Any]) -> dict[str, Any]:
    """`details` checked and typed; raises InvalidStockItem naming the bad field."""
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise InvalidStockItem(f"cannot set {', '.join(sorted(unknown))}", code="invalid_field")
    clean = dict(details)
    for name in ("cost_price", "selling_price"):
        price = clean.get(name)
        if price is not None:
            price = Decimal(price)
            if price < 0:
                raise InvalidStockItem(f"{name} cannot be negative", code="negative_price")
            if price.as_tuple().exponent < -2:
                raise InvalidStockItem(f"{name} has at most 2 decimals", code="invalid_price")
            clean[name] = price
    if "reorder_level" in clean:
        # The column holds a number: an emptied field is a mistake, not "no level".
        if clean["reorder_level"] is None:
            raise InvalidStockItem(
                "reorder_level is a whole number, 0 or more", code="reorder_level_required"
            )
        if clean["reorder_level"] < 0:
            raise InvalidStockItem("reorder_level cannot be negative", code="negative_quantity")
    for name in ("supplier", "location", "notes", "sku"):
        if name in clean:
            clean[name] = (clean[name] or "").strip()
    return clean


def add_stock_item(
    *,
    store: Store,
    product: Product,
    principal: Principal,
    quantity: int = 0,
    details: dict[str, Any] | None = None,
) -> StockItem:
    """Start stocking `product` in `store`, with an opening quantity recorded as a restock."""
    if quantity < 0:
        raise InvalidStockItem("quantity cannot be negative", code="negative_quantity")
    if product.is_merged:
        raise Conflict(
            f"product {product.pk} was merged into {product.merged_into_id}; stock that one",
            code="product_merged",
            extra={"survivor_id": product.merged_into_id},
        )
    if product.status == VerificationStatus.REJECTED:
        raise Conflict("a rejected product cannot be stocked", code="product_rejected")
    clean = clean_details(details or {})
    try:
        with transaction.atomic():
            item = StockItem.objects.create(store=store, product=product, **clean)
            if quantity:
                move_stock(
                    item=item,
                    delta=quantity,
                    reason=MovementReason.RESTOCK,
                    reference="opening stock",
                    actor=principal.user,
                )
    except IntegrityError:
        existing = StockItem.objects.filter(store=store, product=product).first()
        if existing is None:
            raise
        raise Conflict(
            "this store already stocks that product",
            code="stock_item_exists",
            extra={"item_id": existing.pk},
        ) from None
    return item


def update_stock_item(
    *, item: StockItem, principal: Principal, details: dict[str, Any]
) -> StockItem:
    """Change an item's prices and shelf details; a price change is announced."""
    clean = clean_details(details)
    with transaction.atomic():
        item = StockItem.objects.select_for_update().get(pk=item.pk)
        old_price = item.selling_price
        for name, value in clean.items():
            setattr(item, name, value)
        item.save()
        if "selling_price" in clean and clean["selling_price"] != old_price:
            news = _price_news(item, old_price)
            emit(type=news.type, payload=news.payload, topics=news.topics)
    return item


def add_stock_items(
    *,
    store: Store,
    principal: Principal,
    entries: list[tuple[Product, dict[str, Any]]],
    opening: Sequence[int] | None = None,
    reference: str = "",
) -> list[StockItem]:
    """Start stocking many products in `store` at once (bulk imports): one INSERT. With
    `opening` (units per entry) each item starts with that stock, recorded as an import by
    `stock.insert_stocked_items` (ledger rows and events with `reference`); without, with
    none. Details must come from `clean_details`; the products must be stockable and not
    yet in the store (a clash raises IntegrityError)."""
    # Built from all their values in field order, by ids: Django's keyword path (and setting
    # the related objects themselves) costs more per item than inserting it does.
    blank = {field.attname: field.get_default() for field in StockItem._meta.concrete_fields}
    blank["store_id"] = store.pk
    items = []
    for product, details in entries:
        values = {**blank, "product_id": product.pk, **details}
        items.append(StockItem(*values.values()))
    if opening is None:
        insert_all(items)
    else:
        insert_stocked_items(
            items=items,
            opening=opening,
            reason=MovementReason.IMPORT,
            reference=reference,
            actor=principal.user,
        )
    return items


def update_stock_items(
    *, principal: Principal, changes: list[tuple[StockItem, dict[str, Any]]]
) -> list[StockItem]:
    """`update_stock_item` for many items at once (bulk imports): the rows are locked and
    written with one UPDATE per changed column set, and price changes announced together.
    Details must come from `clean_details`."""
    if not changes:
        return []
    with transaction.atomic():
        locked = StockItem.objects.select_for_update().in_bulk([item.pk for item, _ in changes])
        events: list[NewEvent] = []
        fields: set[str] = set()
        updated = []
        now = timezone.now()  # bulk_update leaves auto_now fields to us
        for stale, details in changes:
            item = locked[stale.pk]
            old_price = item.selling_price
            for name, value in details.items():
                setattr(item, name, value)
            item.updated_at = now
            fields.update(details)
            if "selling_price" in details and details["selling_price"] != old_price:
                events.append(_price_news(item, old_price))
            updated.append(item)
        StockItem.objects.bulk_update(updated, [*sorted(fields), "updated_at"])
        emit_batch(events)
    return updated


def _price_news(item: StockItem, old_price: Decimal | None) -> NewEvent:
    return NewEvent(
        type="stock.price_changed",
        payload={
            "store_id": item.store_id,
            "product_id": item.product_id,
            "item_id": item.pk,
            "old_price": None if old_price is None else str(old_price),
            "price": None if item.selling_price is None else str(item.selling_price),
            "in_stock": item.quantity > 0,
        },
        topics=[f"store:{item.store_id}", f"product:{item.product_id}"],
    )
