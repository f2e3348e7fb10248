"""Reading past events by topic: stream replay, the JSON listing, and the table tailer.

Topic filters go through the indexed EventTopic rows, so "events on these topics after id
N" costs the same on SQLite and PostgreSQL whatever the table size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max, Q

from shelfwatch.events.messages import EventMessage
from shelfwatch.events.models import Event, EventTopic
from shelfwatch.events.topics import TopicSelection


@dataclass(frozen=True)
class EventPage:
    messages: list[EventMessage]
    # More matching events exist beyond the page: newer ones for `events_after`, older
    # (skipped) ones for `replay_after`.
    more: bool


def _matching_ids(
    selection: TopicSelection,
    *,
    after: int,
    newest_first: bool,
    limit: int,
    upto: int | None = None,
):
    bounds = {"gt": after} if upto is None else {"gt": after, "lte": upto}
    if selection.everything:
        order = "-pk" if newest_first else "pk"
        rows = Event.objects.filter(**{f"pk__{op}": value for op, value in bounds.items()})
        return rows.order_by(order).values_list("pk", flat=True)[:limit]
    order = "-event_id" if newest_first else "event_id"
    rows = EventTopic.objects.filter(
        topic__in=selection.topics, **{f"event_id__{op}": value for op, value in bounds.items()}
    )
    return rows.order_by(order).values_list("event_id", flat=True).distinct()[:limit]


def _messages(ids: Iterable[int]) -> list[EventMessage]:
    return [EventMessage.from_event(event) for event in Event.objects.filter(pk__in=list(ids))]


def events_after(selection: TopicSelection, *, after: int, limit: int) -> EventPage:
    """The oldest `limit` events after id `after` on the selection's topics, oldest first."""
    ids = list(_matching_ids(selection, after=after, newest_first=False, limit=limit + 1))
    return EventPage(messages=_messages(ids[:limit]), more=len(ids) > limit)


def replay_after(selection: TopicSelection, *, after: int, limit: int) -> EventPage:
    """What a reconnecting client missed: the newest `limit` events after `after`, oldest first.

    Newest rather than oldest, so a client that was away too long converges on the current
    state; `more` tells it that older events were left out.
    """
    ids = list(_matching_ids(selection, after=after, newest_first=True, limit=limit + 1))
    return EventPage(messages=_messages(ids[:limit]), more=len(ids) > limit)


def replay_for_reconnect(
    selection: TopicSelection, *, last_event_id: int, limit: int
) -> tuple[EventPage, set[int]]:
    """The replay page, plus ids at or below the cursor that the client may have seen.

    A hub lagging behind the table (or another stream process the client was on) can
    still deliver those live; the stream suppresses them. Matching events at or below the
    cursor that commit after this query were never seen, so they pass.
    """
    page = replay_after(selection, after=last_event_id, limit=limit)
    seen = set(
        _matching_ids(selection, after=0, upto=last_event_id, newest_first=True, limit=limit)
    )
    return page, seen


def latest_event_id() -> int:
    """The highest stored event id, or 0 when there are no events."""
    return Event.objects.aggregate(last=Max("pk"))["last"] or 0


def ids_to_check(*, after: int, also: Iterable[int], limit: int) -> list[int]:
    """Ids above `after` plus any of `also` (open gaps) that exist now, ascending."""
    wanted = list(also)
    condition = Q(pk__gt=after) | Q(pk__in=wanted) if wanted else Q(pk__gt=after)
    return list(Event.objects.filter(condition).order_by("pk").values_list("pk", flat=True)[:limit])


def messages_for(ids: Iterable[int]) -> list[EventMessage]:
    """Full messages for the given ids (those that exist), in id order."""
    return sorted(_messages(ids), key=lambda message: message.id)
