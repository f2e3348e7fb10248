"""`/api/v1/stores`: the caller's stores, their inventory and its movement ledger.

Every route resolves the store through `get_store_for`, so another tenant's store id is
a 404, and every item through that store, so another store's item id is too.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import File, Query, Router, Status, UploadedFile

from shelfwatch.accounts.authentication import api_auth, principal_of
from shelfwatch.accounts.permissions import require_principal
from shelfwatch.catalog.images import image_out, store_image
from shelfwatch.catalog.selectors import get_product_for
from shelfwatch.http.bounds import BoundedSchema
from shelfwatch.http.cursors import decode_cursor, id_page
from shelfwatch.http.problems import NotFound
from shelfwatch.inventory.models import StockItem, StockMovement, Store
from shelfwatch.inventory.schemas import (
    CountIn,
    MovementIn,
    MovementOut,
    MovementPage,
    StockDetails,
    StockItemIn,
    StockItemOut,
    StockItemPage,
    StoreOut,
)
from shelfwatch.inventory.selectors import get_store_for, store_items, stores_for
from shelfwatch.inventory.stock import move_stock, set_quantity
from shelfwatch.inventory.stock_items import add_stock_item, update_stock_item

router = Router(tags=["inventory"], auth=api_auth)


class InventoryFilters(BoundedSchema):
    q: str | None = None
    low: bool = False
    cursor: str | None = None
    limit: int = 50


def item_out(item: StockItem) -> dict:
    return {
        "id": item.pk,
        "store_id": item.store_id,
        "product": item.product,
        "quantity": item.quantity,
        "cost_price": item.cost_price,
        "selling_price": item.selling_price,
        "currency": item.store.currency,
        "reorder_level": item.reorder_level,
        "is_low": item.is_low,
        "supplier": item.supplier,
        "location": item.location,
        "sku": item.sku,
        "notes": item.notes,
        "custom_images": [image_out(blob) for blob in item.custom_images.all()],
        "updated_at": item.updated_at,
    }


def _item(store: Store, item_id: int) -> StockItem:
    item = store_items(store).filter(pk=item_id).first()
    if item is None:
        raise NotFound("stock item not found", code="stock_item_not_found")
    return item


@router.get("", response=list[StoreOut])
def list_stores(request: HttpRequest):
    """The stores the caller works in (every store for admins)."""
    return stores_for(require_principal(principal_of(request)))


@router.get("/{store_id}", response=StoreOut)
def read_store(request: HttpRequest, store_id: int):
    return get_store_for(principal_of(request), store_id)


@router.get("/{store_id}/inventory", response=StockItemPage)
def inventory(request: HttpRequest, store_id: int, filters: Query[InventoryFilters]):
    """Stock items by product name, brand or barcode; `low=true` for reorder candidates."""
    store = get_store_for(principal_of(request), store_id)
    items = store_items(store, q=filters.q or "", low=filters.low)
    if filters.cursor:
        (after,) = decode_cursor(filters.cursor, int)
        items = items.filter(pk__gt=after)
    limit = min(max(filters.limit, 1), 200)
    rows, cursor = id_page(list(items.order_by("pk")[: limit + 1]), limit)
    return {"items": [item_out(item) for item in rows], "next_cursor": cursor}


@router.post("/{store_id}/inventory", response={201: StockItemOut})
def add_item(request: HttpRequest, store_id: int, payload: StockItemIn):
    """Start stocking a catalog product; `quantity` is recorded as opening stock."""
    principal = principal_of(request)
    store = get_store_for(principal, store_id)
    product = get_product_for(principal, payload.product_id)
    details = payload.dict(exclude={"product_id", "quantity"}, exclude_none=True)
    item = add_stock_item(
        store=store,
        product=product,
        principal=principal,
        quantity=payload.quantity,
        details=details,
    )
    return Status(201, item_out(_item(store, item.pk)))


@router.get("/{store_id}/inventory/{item_id}", response=StockItemOut)
def read_item(request: HttpRequest, store_id: int, item_id: int):
    return item_out(_item(get_store_for(principal_of(request), store_id), item_id))


@router.patch("/{store_id}/inventory/{item_id}", response=StockItemOut)
def edit_item(request: HttpRequest, store_id: int, item_id: int, payload: StockDetails):
    """Prices, reorder level and shelf details; quantities change through movements."""
    principal = principal_of(request)
    store = get_store_for(principal, store_id)
    item = _item(store, item_id)
    update_stock_item(item=item, principal=principal, details=payload.dict(exclude_unset=True))
    return item_out(_item(store, item_id))


@router.post("/{store_id}/inventory/{item_id}/movements", response={201: MovementOut})
def add_movement(request: HttpRequest, store_id: int, item_id: int, payload: MovementIn):
    """Add or take units; a take larger than the stock is refused (409) and changes nothing."""
    principal = principal_of(request)
    item = _item(get_store_for(principal, store_id), item_id)
    moved = move_stock(
        item=item,
        delta=payload.delta,
        reason=payload.reason,
        reference=payload.reference,
        actor=principal.user,
    )
    return Status(201, moved.movement)


@router.post("/{store_id}/inventory/{item_id}/count", response={200: StockItemOut})
def count(request: HttpRequest, store_id: int, item_id: int, payload: CountIn):
    """Record a shelf count: the difference is booked as an adjustment."""
    principal = principal_of(request)
    store = get_store_for(principal, store_id)
    item = _item(store, item_id)
    set_quantity(
        item=item, quantity=payload.quantity, reference=payload.reference, actor=principal.user
    )
    return item_out(_item(store, item_id))


@router.get("/{store_id}/inventory/{item_id}/movements", response=MovementPage)
def movements(
    request: HttpRequest, store_id: int, item_id: int, cursor: str | None = None, limit: int = 50
):
    """The item's ledger, newest first."""
    item = _item(get_store_for(principal_of(request), store_id), item_id)
    rows = StockMovement.objects.filter(item=item)
    if cursor:
        (before,) = decode_cursor(cursor, int)
        rows = rows.filter(pk__lt=before)
    limit = min(max(limit, 1), 200)
    page, next_cursor = id_page(list(rows.order_by("-pk")[: limit + 1]), limit)
    return {"items": page, "next_cursor": next_cursor}


@router.post("/{store_id}/inventory/{item_id}/images", response={201: StockItemOut})
def add_item_image(request: HttpRequest, store_id: int, item_id: int, file: File[UploadedFile]):
    """The store's own picture of its item (a shelf photo); the catalog image stays."""
    store = get_store_for(principal_of(request), store_id)
    item = _item(store, item_id)
    item.custom_images.add(store_image(data=file))
    return Status(201, item_out(_item(store, item_id)))


@router.delete("/{store_id}/inventory/{item_id}/images/{sha256}", response={204: None})
def remove_item_image(request: HttpRequest, store_id: int, item_id: int, sha256: str):
    item = _item(get_store_for(principal_of(request), store_id), item_id)
    if not item.custom_images.filter(pk=sha256).exists():
        raise NotFound("the item has no such image", code="image_not_found")
    item.custom_images.remove(sha256)
    return Status(204, None)
