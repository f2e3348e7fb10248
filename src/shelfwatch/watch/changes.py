"""Change detection: compare what a poll saw with each item's state and emit the transitions.

Runs inside the caller's transaction, so item rows, observations and the `watch.*` events
(the outbox) commit together. The first successful poll of a source only records the
baseline: no events, nobody alerted.

Restock episodes: an item that comes back after being out of stock for at least
WATCH_RESTOCK_MIN_OUT_SECONDS (or out since before we first saw it) starts a new episode;
a shorter dip is a flap and stays in the episode it interrupted. Subscribers are told once
per episode (alerts compare the episode number), so flapping cannot flood them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from shelfwatch.events.publishing import emit
from shelfwatch.watch.adapters.base import ItemState
from shelfwatch.watch.models import Observation, Source, WatchedItem

ITEM_FIELDS = (
    "name",
    "url",
    "image_url",
    "listed_at_url",
    "available",
    "quantity",
    "price",
    "currency",
    "is_gone",
    "episode",
    "out_since",
    "last_seen_at",
    "last_changed_at",
)


@dataclass
class ChangeSummary:
    """Counts of what one poll changed, for logs, the API and benchmarks."""

    seen: int = 0
    created: int = 0
    changed: int = 0
    gone: int = 0
    events: dict[str, int] = field(default_factory=dict)

    def count(self, event_type: str) -> None:
        """Count one event of `event_type`."""
        self.events[event_type] = self.events.get(event_type, 0) + 1


def restock_min_out() -> timedelta:
    """How long an item must be out of stock for its return to count as a new restock
    (WATCH_RESTOCK_MIN_OUT_SECONDS, default 15 minutes)."""
    return timedelta(seconds=getattr(settings, "WATCH_RESTOCK_MIN_OUT_SECONDS", 900))


def percent_change(old: Decimal, new: Decimal) -> float | None:
    """The change from `old` to `new` in percent, rounded to 2 decimals; None when `old` is zero."""
    if not old:
        return None
    return float(round((new - old) * 100 / old, 2))


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def item_payload(item: WatchedItem) -> dict[str, Any]:
    """What every `watch.*` event says about its item."""
    return {
        "item_id": item.pk,
        "source_id": item.source_id,
        "product_id": item.product_id,
        "name": item.name,
        "url": item.url,
        "available": item.available,
        "price": _money(item.price),
        "currency": item.currency,
        "episode": item.episode,
    }


def _emit(summary: ChangeSummary, event_type: str, item: WatchedItem, **extra: Any) -> None:
    topics = [f"watched:{item.pk}", f"source:{item.source_id}"]
    if item.product_id:
        topics.append(f"product:{item.product_id}")
    emit(type=event_type, payload={**item_payload(item), **extra}, topics=topics)
    summary.count(event_type)


def _new_item(source: Source, state: ItemState, now: datetime) -> WatchedItem:
    return WatchedItem(
        source=source,
        external_id=state.external_id,
        product_id=state.product_id,
        name=state.name,
        url=state.url,
        image_url=state.image_url,
        listed_at_url=state.listed_at_url,
        available=state.available,
        quantity=state.quantity,
        price=state.price,
        currency=state.currency,
        first_seen_at=now,
        last_seen_at=now,
        last_changed_at=now,
    )


def _compare(
    item: WatchedItem, state: ItemState, now: datetime, summary: ChangeSummary, *, quiet: bool
) -> list[str]:
    """Apply `state` to `item` in memory, emitting transitions; returns what changed."""
    changed: list[str] = []
    pending: list[tuple[str, dict[str, Any]]] = []
    if item.is_gone:
        item.is_gone = False
        changed.append("returned")
    old_available, new_available = item.available, state.available
    if new_available is not None and old_available != new_available:
        changed.append("available")
        if new_available and old_available is False:
            out_for = now - item.out_since if item.out_since else None
            new_episode = out_for is None or out_for >= restock_min_out()
            if new_episode:
                item.episode += 1
            pending.append(
                (
                    "watch.back_in_stock",
                    {
                        "new_episode": new_episode,
                        "out_for_seconds": int(out_for.total_seconds()) if out_for else None,
                    },
                )
            )
            item.out_since = None
        elif not new_available:
            item.out_since = now if old_available else None
            if old_available:
                pending.append(("watch.out_of_stock", {}))
        item.available = new_available
    if state.price is not None and state.price != item.price:
        old_price = item.price
        item.price = state.price
        changed.append("price")
        if old_price is not None:
            pending.append(
                (
                    "watch.price_changed",
                    {
                        "old_price": _money(old_price),
                        "new_price": _money(state.price),
                        "percent": percent_change(old_price, state.price),
                    },
                )
            )
    if state.quantity != item.quantity and state.quantity is not None:
        item.quantity = state.quantity
        changed.append("quantity")
    details = [
        name
        for name in ("name", "url", "image_url", "currency")
        if getattr(state, name) and _differs(name, getattr(state, name), getattr(item, name))
    ]
    if state.image_url and "image_url" not in details:
        item.image_url = state.image_url  # a new cache-busting version of the same picture
    for name in details:
        setattr(item, name, getattr(state, name))
    changed += details
    if details or "returned" in changed:
        updates = details + (["returned"] if "returned" in changed else [])
        pending.append(("watch.product_updated", {"changes": updates}))
    item.listed_at_url = state.listed_at_url or item.listed_at_url
    item.last_seen_at = now
    if changed:
        item.last_changed_at = now
    if not quiet:
        for event_type, extra in pending:
            _emit(summary, event_type, item, **extra)
    return changed


_TEXT_LIMITS = {
    "external_id": 200,
    "name": 500,
    "url": 1000,
    "image_url": 1000,
    "listed_at_url": 1000,
    "currency": 3,
}
_QUANTITY_RANGE = (-(2**31), 2**31 - 1)


def _storable(state: ItemState) -> ItemState:
    """`state` as its columns can hold it: shops send NUL bytes in names now and then (a
    PostgreSQL text column refuses them), over-long text and absurd stock counts, and one
    such row must not keep a whole poll from being recorded."""
    changes: dict[str, object] = {}
    for name, limit in _TEXT_LIMITS.items():
        value = getattr(state, name)
        clean = value.replace("\x00", "")[:limit]
        if clean != value:
            changes[name] = clean
    low, high = _QUANTITY_RANGE
    if state.quantity is not None and not low <= state.quantity <= high:
        changes["quantity"] = None
    return replace(state, **changes) if changes else state


def _differs(name: str, new: str, old: str) -> bool:
    if name == "image_url":
        # Shops version their CDN image URLs (?v=<timestamp>) on every product edit: the
        # same picture at a new version is not news.
        return new.split("?", 1)[0] != old.split("?", 1)[0]
    return new != old


def _observation(item: WatchedItem, now: datetime, changes: list[str]) -> Observation:
    return Observation(
        item=item,
        observed_at=now,
        available=item.available,
        quantity=item.quantity,
        price=item.price,
        currency=item.currency,
        name=item.name,
        changes=changes,
    )


@dataclass
class PendingWrites:
    """The rows one source's change detection wants written, kept apart so the writes of
    many sources can go out as one statement each (`write_changes`)."""

    now: datetime
    quiet: bool
    summary: ChangeSummary
    created: list[WatchedItem] = field(default_factory=list)
    updated: list[WatchedItem] = field(default_factory=list)
    still: list[int] = field(default_factory=list)  # seen again, unchanged: last_seen_at moves
    observations: list[Observation] = field(default_factory=list)


def detect_changes(
    *,
    source: Source,
    states: list[ItemState],
    complete: bool,
    unchanged_urls: set[str] | frozenset[str] = frozenset(),
    now: datetime,
    items: list[WatchedItem] | None = None,
) -> PendingWrites:
    """Compare `states` with the source's items (`items`, or read now), emit the events of
    changed and gone items, and return the rows to write. Call inside a transaction."""
    summary = ChangeSummary(seen=len(states))
    quiet = not source.baseline_done
    if items is None:
        items = list(source.items.order_by())
    by_id = {item.external_id: item for item in items}
    pending = PendingWrites(now=now, quiet=quiet, summary=summary)
    seen: set[str] = set()
    for state in map(_storable, states):
        if state.external_id in seen:
            continue  # a listing that shows a product twice
        seen.add(state.external_id)
        item = by_id.get(state.external_id)
        if item is None:
            pending.created.append(_new_item(source, state, now))
            continue
        changes = _compare(item, state, now, summary, quiet=quiet)
        if changes:
            pending.observations.append(_observation(item, now, changes))
            pending.updated.append(item)
        else:
            pending.still.append(item.pk)
    missing = [
        item for external_id, item in by_id.items() if external_id not in seen and not item.is_gone
    ]
    pending.still += [item.pk for item in missing if item.listed_at_url in unchanged_urls]
    if complete:
        for item in missing:
            if item.listed_at_url in unchanged_urls:
                continue
            item.is_gone = True
            item.last_changed_at = now
            pending.observations.append(_observation(item, now, ["gone"]))
            pending.updated.append(item)
            summary.gone += 1
            if not quiet:
                _emit(summary, "watch.gone", item)
    summary.created = len(pending.created)
    summary.changed = len(pending.observations) - summary.gone
    if quiet:
        source.baseline_done = True
    return pending


def write_changes(batch: list[PendingWrites]) -> None:
    """Write the rows of one or more sources' detections, a statement per kind of row."""
    created = [item for pending in batch for item in pending.created]
    WatchedItem.objects.bulk_create(created, batch_size=500)
    observations: list[Observation] = []
    for pending in batch:
        observations += pending.observations
        for item in pending.created:
            observations.append(_observation(item, pending.now, ["first seen"]))
            if not pending.quiet:
                _emit(pending.summary, "watch.new_product", item)
    updated = [item for pending in batch for item in pending.updated]
    if updated:
        WatchedItem.objects.bulk_update(updated, ITEM_FIELDS, batch_size=500)
    still: dict[datetime, list[int]] = {}
    for pending in batch:
        if pending.still:
            still.setdefault(pending.now, []).extend(pending.still)
    for now, pks in still.items():
        # One plain UPDATE: bulk_update's per-row CASE for every field cost more CPU than
        # the whole poll of an unchanged shop.
        WatchedItem.objects.filter(pk__in=pks).update(last_seen_at=now)
    Observation.objects.bulk_create(observations, batch_size=500)


def apply_states(
    *,
    source: Source,
    states: list[ItemState],
    complete: bool,
    unchanged_urls: set[str] | frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> ChangeSummary:
    """Bring `source`'s items in line with `states` (call inside a transaction); the first
    call records the baseline and marks it done on the source."""
    pending = detect_changes(
        source=source,
        states=states,
        complete=complete,
        unchanged_urls=unchanged_urls,
        now=now or timezone.now(),
    )
    write_changes([pending])
    if pending.quiet:
        source.save(update_fields=["baseline_done", "updated_at"])
    return pending.summary
