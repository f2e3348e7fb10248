"""A store's stock items: adding a catalog product to a store and editing its details.

Quantities are never set here directly: an opening quantity and every later change go
through `stock.move_stock`, so the ledger explains every unit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.errors import Conflict, Invalid
from shelfwatch.events.publishing import emit
from shelfwatch.inventory.models import MovementReason, StockItem, Store
from shelfwatch.inventory.stock import move_stock

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


def _clean_details(details: dict[str, Any]) -> dict[str, Any]:
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
    clean = _clean_details(details or {})
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
    clean = _clean_details(details)
    with transaction.atomic():
        item = StockItem.objects.select_for_update().get(pk=item.pk)
        old_price = item.selling_price
        for name, value in clean.items():
            setattr(item, name, value)
        item.save()
        if "selling_price" in clean and clean["selling_price"] != old_price:
            emit(
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
    return item
