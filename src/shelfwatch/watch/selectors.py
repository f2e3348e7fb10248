"""Reads of the watch app: which sources and items a caller may see."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from shelfwatch.accounts.principal import Principal
from shelfwatch.errors import NotFound
from shelfwatch.watch.models import Observation, Source, WatchedItem

HISTORY_LIMIT = 50


def visible_sources(principal: Principal | None) -> QuerySet[Source]:
    """Admins see every source; everyone else the active public ones."""
    sources = Source.objects.select_related("host").annotate(
        item_count=Count("items", filter=Q(items__is_gone=False))
    )
    if principal is not None and principal.is_admin:
        return sources
    return sources.filter(is_public=True, is_active=True)


def get_source_for(principal: Principal | None, source_id: int) -> Source:
    """The source `source_id` if the caller may see it; raises NotFound otherwise."""
    source = visible_sources(principal).filter(pk=source_id).first()
    if source is None:
        raise NotFound("source not found", code="source_not_found")
    return source


def source_items(source: Source, *, include_gone: bool = False) -> QuerySet[WatchedItem]:
    """The source's watched items; those gone from the shop only with `include_gone`."""
    items = WatchedItem.objects.filter(source=source)
    return items if include_gone else items.filter(is_gone=False)


def get_item_for(principal: Principal | None, item_id: int) -> WatchedItem:
    """The item `item_id` (gone ones too) if the caller may see its source; raises
    NotFound otherwise."""
    item = (
        WatchedItem.objects.select_related("source", "source__store")
        .filter(pk=item_id, source__in=visible_sources(principal).values("pk"))
        .first()
    )
    if item is None:
        raise NotFound("item not found", code="item_not_found")
    return item


def item_history(item: WatchedItem, *, limit: int = HISTORY_LIMIT) -> list[Observation]:
    """The item's latest `limit` observations, newest first."""
    return list(item.observations.all()[:limit])
