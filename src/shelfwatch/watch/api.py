"""`/api/v1/sources`: watched shops, their items with history, health, and polling on demand.

Anyone may read public sources and their items (the subscribe page does); creating,
changing, detecting and polling sources is for platform admins, except that a store's
owner may put their own store on watch (an internal source).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from shelfwatch.accounts.authentication import (
    admin_auth,
    api_auth,
    optional_auth,
    principal_of,
)
from shelfwatch.accounts.permissions import require_admin
from shelfwatch.http.bounds import BoundedSchema
from shelfwatch.http.cursors import decode_cursor, encode_cursor
from shelfwatch.http.problems import NotFound
from shelfwatch.inventory.selectors import get_store_for
from shelfwatch.watch.history import item_price_history
from shelfwatch.watch.internal import internal_source_for
from shelfwatch.watch.models import Source
from shelfwatch.watch.restock_pattern import describe, item_restock_pattern
from shelfwatch.watch.schemas import (
    DetectIn,
    DetectionOut,
    HistoryFilters,
    HistoryOut,
    InternalSourceIn,
    ItemDetail,
    ItemPage,
    PollQueued,
    SourceIn,
    SourceOut,
    SourcePatch,
)
from shelfwatch.watch.selectors import (
    get_item_for,
    get_source_for,
    item_history,
    source_items,
    visible_sources,
)
from shelfwatch.watch.sources import create_source, detect_source, request_poll, update_source

router = Router(tags=["watch"], auth=optional_auth)
# `/api/v1/watch/items`: reads of one item by its own id, visible as its source is.
items_router = Router(tags=["watch"], auth=optional_auth)


def source_out(source: Source, *, admin: bool) -> dict:
    body = {
        "id": source.pk,
        "name": source.name,
        "kind": source.kind,
        "base_url": source.base_url,
        "store_id": source.store_id,
        "poll_interval": source.poll_interval,
        "is_active": source.is_active,
        "is_public": source.is_public,
        "status": source.status,
        "item_count": getattr(source, "item_count", None)
        or source.items.filter(is_gone=False).count(),
    }
    if admin:
        host = source.host
        body["settings"] = source.settings
        body["health"] = {
            "status": source.status,
            "last_polled_at": source.last_polled_at,
            "last_success_at": source.last_success_at,
            "last_error": source.last_error,
            "last_error_code": source.last_error_code,
            "last_error_at": source.last_error_at,
            "consecutive_failures": source.consecutive_failures,
            "failing_pages": [
                {"url": url, **problem} for url, problem in (source.page_errors or {}).items()
            ],
            "next_run_at": source.next_run_at,
            "host": host.key if host else None,
            "host_min_interval_ms": host.min_interval_ms if host else None,
            "host_max_concurrency": host.max_concurrency if host else None,
        }
    return body


def _is_admin(request: HttpRequest) -> bool:
    principal = principal_of(request)
    return principal is not None and principal.is_admin


class ItemFilters(BoundedSchema):
    available: bool | None = None
    include_gone: bool = False
    cursor: str | None = None
    limit: int = 50


@router.get("", response=list[SourceOut])
def list_sources(request: HttpRequest):
    """Public sources (every source, with health and settings, for admins)."""
    admin = _is_admin(request)
    return [source_out(s, admin=admin) for s in visible_sources(principal_of(request))]


@router.post("", response={201: SourceOut}, auth=admin_auth)
def add_source(request: HttpRequest, body: SourceIn):
    """Watch a shop. Its first poll (at once) records the baseline and alerts nobody."""
    principal = require_admin(principal_of(request))
    source = create_source(
        name=body.name,
        kind=body.kind,
        base_url=body.base_url,
        settings=body.settings,
        poll_interval=body.poll_interval,
        is_public=body.is_public,
        created_by=principal.user,
    )
    request_poll(source)
    return Status(201, source_out(get_source_for(principal, source.pk), admin=True))


@router.post("/detect", response=DetectionOut, auth=admin_auth)
def detect(request: HttpRequest, body: DetectIn):
    """What kind of shop `url` is, the settings to save and the products it shows now."""
    require_admin(principal_of(request))
    found = detect_source(body.url)
    return {
        "kind": found.kind,
        "base_url": found.base_url,
        "name": found.name,
        "settings": found.settings,
        "items": [item.__dict__ for item in found.items],
    }


@router.post("/internal", response={201: SourceOut, 200: SourceOut}, auth=api_auth)
def watch_store(request: HttpRequest, body: InternalSourceIn):
    """Put one of the caller's stores on watch, so people can subscribe to its products."""
    principal = principal_of(request)
    store = get_store_for(principal, body.store_id, roles=("owner",))
    existed = Source.objects.filter(store=store).exists()
    source = internal_source_for(store)
    out = source_out(
        get_source_for(principal, source.pk) if principal.is_admin else source,
        admin=principal.is_admin,
    )
    return Status(200 if existed else 201, out)


@router.get("/{source_id}", response=SourceOut)
def read_source(request: HttpRequest, source_id: int):
    return source_out(get_source_for(principal_of(request), source_id), admin=_is_admin(request))


@router.patch("/{source_id}", response=SourceOut, auth=admin_auth)
def change_source(request: HttpRequest, source_id: int, body: SourcePatch):
    principal = require_admin(principal_of(request))
    source = get_source_for(principal, source_id)
    update_source(source, **body.dict(exclude_unset=True))
    return source_out(get_source_for(principal, source_id), admin=True)


@router.delete("/{source_id}", response={204: None}, auth=admin_auth)
def delete_source(request: HttpRequest, source_id: int):
    principal = require_admin(principal_of(request))
    get_source_for(principal, source_id).delete()
    return Status(204, None)


@router.post("/{source_id}/poll", response={202: PollQueued}, auth=admin_auth)
def poll_now(request: HttpRequest, source_id: int):
    """Poll at the next dispatcher tick (within seconds), at the host's pace."""
    principal = require_admin(principal_of(request))
    source = get_source_for(principal, source_id)
    request_poll(source)
    source.refresh_from_db(fields=["next_run_at"])
    return Status(202, {"source_id": source.pk, "next_run_at": source.next_run_at})


@router.get("/{source_id}/items", response=ItemPage)
def list_items(request: HttpRequest, source_id: int, filters: Query[ItemFilters]):
    """The source's products and their current state, by name, a page at a time."""
    source = get_source_for(principal_of(request), source_id)
    items = source_items(source, include_gone=filters.include_gone)
    if filters.available is not None:
        items = items.filter(available=filters.available)
    items = items.order_by("pk")
    if filters.cursor:
        (last,) = decode_cursor(filters.cursor, int)
        items = items.filter(pk__gt=last)
    limit = max(1, min(filters.limit, 200))
    rows = list(items[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].pk) if more else None}


@router.get("/{source_id}/items/{item_id}", response=ItemDetail)
def read_item(request: HttpRequest, source_id: int, item_id: int):
    """One item with its history of changes, newest first."""
    source = get_source_for(principal_of(request), source_id)
    item = source_items(source, include_gone=True).filter(pk=item_id).first()
    if item is None:
        raise NotFound("item not found", code="item_not_found")
    item.history = item_history(item)
    return item


@items_router.get("/{item_id}/history", response=HistoryOut)
def read_item_history(request: HttpRequest, item_id: int, filters: Query[HistoryFilters]):
    """The item's price changes and out-of-stock periods over the last `days` (capped at
    a few hundred points), and its restock pattern once three restocks were seen."""
    item = get_item_for(principal_of(request), item_id)
    history = item_price_history(item, days=filters.days)
    pattern = item_restock_pattern(item)
    return {
        "item_id": item.pk,
        "start": history.start,
        "end": history.end,
        "currency": history.currency,
        "points": history.points,
        "out_of_stock": history.out_periods,
        "current_price": history.current_price,
        "lowest": history.lowest,
        "highest": history.highest,
        "days_out": history.days_out,
        "restock": None
        if pattern is None
        else {
            "restocks": pattern.restocks,
            "typical_out_hours": round(pattern.typical_out.total_seconds() / 3600, 1),
            "weekday": pattern.weekday,
            "part_of_day": pattern.part_of_day,
        },
        "restock_sentence": describe(pattern),
    }
