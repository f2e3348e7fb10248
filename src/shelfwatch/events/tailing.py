"""Following the events table: the bus without Redis, and the catch-up behind Redis.

Ids come from a sequence, but on PostgreSQL they become visible in commit order, not id
order: id 41 can commit after 42 was seen. So the tailer remembers missing ids ("gaps")
for EVENTS_GAP_WINDOW seconds and asks for them again on every poll; a gap that never
fills (a rolled-back insert) is forgotten after the window. The hub drops duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from django.conf import settings

from shelfwatch.events import history
from shelfwatch.events.messages import EventMessage
from shelfwatch.events.offload import DatabaseThreads

logger = logging.getLogger("shelfwatch.events.tailing")

POLL_BATCH = 1000
MAX_OPEN_GAPS = 1000


class GapTracker:
    """The tail position: the highest id seen, plus recent ids below it not seen yet."""

    def __init__(self, *, start: int, window: float) -> None:
        self.high = start
        self.window = window
        self.gaps: dict[int, float] = {}  # missing id -> when it was first missed

    def observe(self, ids: list[int], *, now: float | None = None) -> None:
        """Record ids found by a poll (ascending): fill gaps, open new ones, expire old."""
        now = time.monotonic() if now is None else now
        for event_id in ids:
            if event_id in self.gaps:
                del self.gaps[event_id]
            elif event_id > self.high:
                # Everything skipped between the old high mark and this id may still commit.
                first_missing = max(self.high + 1, event_id - MAX_OPEN_GAPS)
                for missing in range(first_missing, event_id):
                    self.gaps[missing] = now
                self.high = event_id
        expired = [gap for gap, since in self.gaps.items() if now - since > self.window]
        for gap in expired:
            del self.gaps[gap]
        if len(self.gaps) > MAX_OPEN_GAPS:
            for gap in sorted(self.gaps)[: len(self.gaps) - MAX_OPEN_GAPS]:
                del self.gaps[gap]


class TableTailer:
    """Polls the table every `interval` seconds and hands unseen events to `deliver`.

    One indexed query per poll for the whole process (ids only); full rows are fetched
    only for ids the hub has not delivered yet and only while someone is listening.
    """

    def __init__(
        self,
        *,
        db: DatabaseThreads,
        deliver: Callable[[list[EventMessage]], None],
        is_new: Callable[[int], bool],
        has_listeners: Callable[[], bool],
        interval: float,
        gap_window: float | None = None,
    ) -> None:
        self._db = db
        self._deliver = deliver
        self._is_new = is_new
        self._has_listeners = has_listeners
        self.interval = interval
        window = gap_window or settings.EVENTS_GAP_WINDOW
        # A gap must survive at least a few polls to be looked at again.
        self._window = max(window, 3 * interval)
        self.position: GapTracker | None = None
        self.polls = 0  # completed polls, for health output and tests
        self._wakeup = asyncio.Event()

    async def start_position(self) -> None:
        """Start at the current end of the table: history is what replay is for."""
        start = await self._db.run(history.latest_event_id)
        self.position = GapTracker(start=start, window=self._window)

    def poke(self) -> None:
        """Poll now instead of at the next interval (e.g. after the bus reconnected)."""
        self._wakeup.set()

    async def poll_once(self) -> int:
        """One poll; returns how many events it delivered."""
        if self.position is None:
            await self.start_position()
        position = self.position
        assert position is not None
        delivered = 0
        while True:
            ids = await self._db.run(
                history.ids_to_check,
                after=position.high,
                also=list(position.gaps),
                limit=POLL_BATCH,
            )
            position.observe(ids)
            fresh = [event_id for event_id in ids if self._is_new(event_id)]
            if fresh and self._has_listeners():
                messages = await self._db.run(history.messages_for, fresh)
                self._deliver(messages)
                delivered += len(messages)
            if len(ids) < POLL_BATCH:
                self.polls += 1
                return delivered

    async def run(self) -> None:
        """Poll until cancelled; database errors are logged and retried, never fatal."""
        failures = 0
        while True:
            try:
                await self.poll_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                logger.warning(
                    "polling the events table failed (%d in a row)",
                    failures,
                    exc_info=failures == 1,
                )
            delay = self.interval if not failures else min(self.interval * 2**failures, 10.0)
            await _sleep_or_wake(self._wakeup, delay)


async def _sleep_or_wake(wakeup: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wakeup.wait(), timeout=delay)
    wakeup.clear()
