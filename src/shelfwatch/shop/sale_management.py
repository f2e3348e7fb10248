"""Creating and editing flash sales (staff for their stores, admins for any)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from shelfwatch.inventory.models import Store
from shelfwatch.shop.flash_sales import InvalidFlashSale
from shelfwatch.shop.models import FlashSale
from shelfwatch.shop.pricing import sellable_item

EDITABLE = (
    "title",
    "sale_price",
    "quantity_allotted",
    "per_customer_limit",
    "starts_at",
    "ends_at",
)


def _validate(sale: FlashSale) -> None:
    if sale.ends_at <= sale.starts_at:
        raise InvalidFlashSale("a sale ends after it starts", code="invalid_sale_window")
    if sale.sale_price is None or Decimal(sale.sale_price) < 0:
        raise InvalidFlashSale("the sale price cannot be negative", code="invalid_sale_price")
    if sale.quantity_allotted < 1 or sale.per_customer_limit < 1:
        raise InvalidFlashSale(
            "allot at least one unit and allow at least one per customer",
            code="invalid_sale_quantity",
        )
    try:
        sale.full_clean(exclude=["store", "product"])
    except ValidationError as exc:
        raise InvalidFlashSale(
            "the flash sale has invalid fields", extra={"errors": exc.message_dict}
        ) from None


def create_flash_sale(
    *,
    store: Store,
    product_id: int,
    sale_price: Decimal,
    quantity_allotted: int,
    per_customer_limit: int,
    starts_at: datetime,
    ends_at: datetime,
    title: str = "",
) -> FlashSale:
    """A new sale of a product the store sells; raises ProductNotSold or InvalidFlashSale."""
    sellable_item(store_id=store.pk, product_id=product_id)
    sale = FlashSale(
        store=store,
        product_id=product_id,
        title=title,
        sale_price=sale_price,
        quantity_allotted=quantity_allotted,
        per_customer_limit=per_customer_limit,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    _validate(sale)
    sale.save()
    return sale


def update_flash_sale(*, sale: FlashSale, changes: dict[str, Any]) -> FlashSale:
    """Apply `changes` (the EDITABLE fields); the allotment never drops below the units
    already held or sold, checked against the row under lock."""
    with transaction.atomic():
        current = FlashSale.objects.select_for_update().get(pk=sale.pk)
        for name, value in changes.items():
            if name in EDITABLE and value is not None:
                setattr(current, name, value)
        if current.quantity_allotted < current.held + current.sold:
            raise InvalidFlashSale(
                f"{current.held + current.sold} units are already held or sold",
                code="allotment_below_taken",
            )
        _validate(current)
        if "starts_at" in changes or "ends_at" in changes:
            # A moved window is announced again.
            current.started_announced = current.ended_announced = False
        current.save()
    return current
