"""Creating and editing flash sales (staff for their stores, admins for any)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.shop.flash_sales import FlashSaleNotActive, InvalidFlashSale
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


def _check_below_regular(sale: FlashSale, regular_price: Decimal | None) -> None:
    """A flash sale sells for less than the store's regular price: shoppers see the regular
    price struck through beside it. Checked when a price is set, not on every edit, so a
    store that lowers its regular price later can still move or end the sale."""
    if regular_price is not None and Decimal(sale.sale_price) >= regular_price:
        raise InvalidFlashSale(
            f"the sale price must be below the regular price of {regular_price}",
            code="sale_price_not_below_regular",
            extra={"regular_price": str(regular_price)},
        )


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
    """A new sale of a product the store sells, below its regular price; raises
    ProductNotSold or InvalidFlashSale."""
    item = sellable_item(store_id=store.pk, product_id=product_id)
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
    _check_below_regular(sale, item.selling_price)
    sale.save()
    return sale


def update_flash_sale(*, sale: FlashSale, changes: dict[str, Any]) -> FlashSale:
    """Apply `changes` (the EDITABLE fields); the allotment never drops below the units
    already held or sold, checked against the row under lock, and a new sale price stays
    below the regular price."""
    with transaction.atomic():
        current = FlashSale.objects.select_for_update().get(pk=sale.pk)
        for name, value in changes.items():
            if name in EDITABLE and value is not None:
                setattr(current, name, value)
        if current.quantity_allotted < current.held + current.sold:
            raise InvalidFlashSale(
                f"{current.held + current.sold} units are already held or sold",
                code="allotment_below_taken",
                extra={"taken": current.held + current.sold},
            )
        _validate(current)
        if changes.get("sale_price") is not None:
            _check_below_regular(current, _regular_price(current))
        if "starts_at" in changes or "ends_at" in changes:
            # A moved window is announced again.
            current.started_announced = current.ended_announced = False
        current.save()
    return current


def end_flash_sale(*, sale: FlashSale, now: datetime | None = None) -> bool:
    """End a running sale at `now`: True. Decided on the row under lock, so a repeat that
    read the sale while it ran (two "End now" at once) finds it ended and changes nothing:
    False. A sale that has not started raises FlashSaleNotActive `flash_sale_not_started`."""
    now = now or timezone.now()
    with transaction.atomic():
        current = FlashSale.objects.select_for_update().get(pk=sale.pk)
        if current.ends_at <= now:
            return False
        if current.starts_at > now:
            raise FlashSaleNotActive(
                "the flash sale has not started; cancel it instead",
                code="flash_sale_not_started",
            )
        current.ends_at = now
        current.ended_announced = False  # the scheduler announces the end
        current.save(update_fields=["ends_at", "ended_announced"])
    return True


def _regular_price(sale: FlashSale) -> Decimal | None:
    return (
        StockItem.objects.filter(store_id=sale.store_id, product_id=sale.product_id)
        .values_list("selling_price", flat=True)
        .first()
    )


def cancel_flash_sale(*, sale: FlashSale, now: datetime | None = None) -> None:
    """Delete a sale that has not started; a running or ended one is ended, not deleted
    (orders name it), so it raises FlashSaleNotActive `flash_sale_already_started`."""
    now = now or timezone.now()
    with transaction.atomic():
        current = FlashSale.objects.select_for_update().filter(pk=sale.pk).first()
        if current is None:
            return  # cancelled already: a repeat changes nothing
        # Under the row lock no hold can start meanwhile; a sale not yet started has none.
        if current.starts_at <= now or current.held or current.sold:
            raise FlashSaleNotActive(
                "the flash sale has started; end it instead of cancelling it",
                code="flash_sale_already_started",
            )
        current.delete()
