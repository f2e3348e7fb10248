"""Writing what polls saw: items, their events and each source's health.

The results of sources that finished together are written in one transaction, a statement
per kind of row, so a host with a thousand small sources costs about what one source with
a thousand pages costs. Should that batch fail, each source is written on its own, so one
bad result never loses the others.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from shelfwatch.watch.adapters.base import HttpStatusProblem, NeedsConfiguration, PollResult
from shelfwatch.watch.changes import ChangeSummary, detect_changes, write_changes
from shelfwatch.watch.fetching import LeaseLost
from shelfwatch.watch.models import Source, SourceStatus, WatchedItem
from shelfwatch.watch.signals import polls_recorded

logger = logging.getLogger("shelfwatch.watch")

MAX_BACKOFF = timedelta(hours=6)
JITTER = 0.1


@dataclass
class PollOutcome:
    """What polling one source did: counts for logs and benchmarks, and while it is being
    recorded, what the adapter saw (`result`) or the problem it met (`error`)."""

    source_id: int
    ok: bool
    code: str = ""
    requests: int = 0
    not_modified: int = 0
    summary: ChangeSummary | None = None
    result: PollResult | None = None
    error: Exception | None = None
    validators: dict = field(default_factory=dict)


def next_delay(source: Source, *, failures: int, retry_after: float | None = None) -> timedelta:
    """The wait before the next poll: the interval, doubled per failure (capped), jittered."""
    base = timedelta(seconds=source.poll_interval)
    if failures:
        base = min(base * (2 ** min(failures - 1, 16)), MAX_BACKOFF)
    jittered = base * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after:
        jittered = max(jittered, timedelta(seconds=retry_after))
    return jittered


def record_failure(source: Source, exc: Exception, *, now: datetime) -> str:
    """Mark the source failing (or needing configuration) with backoff; returns the code."""
    code = getattr(exc, "code", "internal_error")
    failures = source.consecutive_failures + 1
    retry_after = exc.retry_after if isinstance(exc, HttpStatusProblem) else None
    status = (
        SourceStatus.NEEDS_CONFIGURATION
        if code == NeedsConfiguration.code
        else SourceStatus.FAILING
    )
    Source.objects.filter(pk=source.pk).update(
        status=status,
        page_errors={},
        last_polled_at=now,
        last_error=str(exc)[:2000],
        last_error_code=code[:60],
        last_error_at=now,
        consecutive_failures=failures,
        next_run_at=now + next_delay(source, failures=failures, retry_after=retry_after),
        updated_at=now,
    )
    logger.warning("poll of source %s failed (%s): %s", source.pk, code, exc)
    return code


def record_all(polled: list[tuple[Source, PollOutcome]]) -> list[PollOutcome]:
    """Write the outcomes of polls that have ended, timed from now (their end)."""
    now = timezone.now()
    healthy: list[tuple[Source, PollOutcome]] = []
    for source, outcome in polled:
        if outcome.code == LeaseLost.code:
            continue  # another worker holds the host now: its poll is the one recorded
        if outcome.error is not None:
            outcome.code = record_failure(source, outcome.error, now=now)
        else:
            healthy.append((source, outcome))
    if len(healthy) > 1:
        try:
            with transaction.atomic():
                _write_healthy(healthy, now=now)
            healthy = []
        except Exception:
            logger.exception("recording %d polls together failed; one at a time", len(healthy))
            # The failed attempt changed the sources in memory (a baseline marked done) and
            # the database rolled it back: start again from the rows as they are.
            fresh = Source.objects.in_bulk([source.pk for source, _ in healthy])
            healthy = [(fresh[s.pk], o) for s, o in healthy if s.pk in fresh]
    for source, outcome in healthy:
        try:
            with transaction.atomic():
                _write_healthy([(source, outcome)], now=now)
        except Exception as exc:  # e.g. SQLite busy past its timeout: try at the next run
            logger.exception("recording the poll of source %s failed", source.pk)
            outcome.ok = False
            outcome.code = record_failure(source, exc, now=now)
    counts = Counter(
        (source.kind, "ok" if outcome.ok else (outcome.code or "failed")[:40])
        for source, outcome in polled
        if outcome.code != LeaseLost.code
    )
    if counts:
        polls_recorded.send(sender=record_all, outcomes=dict(counts))
    outcomes = [outcome for _, outcome in polled]
    for outcome in outcomes:
        outcome.result = outcome.error = None  # recorded: keep the outcome small
    return outcomes


def _write_healthy(polled: list[tuple[Source, PollOutcome]], *, now: datetime) -> None:
    # Items of sources past their baseline, in one query; a source's first poll has none.
    known: dict[int, list[WatchedItem]] = {}
    baselined = [source.pk for source, _ in polled if source.baseline_done]
    if baselined:
        for item in WatchedItem.objects.filter(source_id__in=baselined).order_by():
            known.setdefault(item.source_id, []).append(item)
    pending = []
    for source, outcome in polled:
        result = outcome.result
        writes = detect_changes(
            source=source,
            states=result.items,
            complete=result.complete,
            unchanged_urls=result.unchanged_urls,
            now=now,
            items=known.get(source.pk, []),
        )
        pending.append(writes)
        outcome.summary = writes.summary
    write_changes(pending)
    _mark_healthy(polled, now=now)


_HEALTH_FIELDS = (
    "baseline_done",
    "status",
    "page_errors",
    "last_polled_at",
    "last_success_at",
    "consecutive_failures",
    "validators",
    "next_run_at",
    "updated_at",
)


def _mark_healthy(polled: list[tuple[Source, PollOutcome]], *, now: datetime) -> None:
    """One prepared UPDATE run for every source (executemany): the ORM's per-row update
    cost more CPU than the rest of recording a small source."""
    for with_state in (False, True):
        rows = [(s, o) for s, o in polled if (o.result.state is not None) == with_state]
        if not rows:
            continue
        names = _HEALTH_FIELDS + (("state",) if with_state else ())
        fields = [Source._meta.get_field(name) for name in names]
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        sql = f"UPDATE {quote(Source._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608 - names from the model
        params = []
        for source, outcome in rows:
            result = outcome.result
            values = {
                "baseline_done": True,
                "status": SourceStatus.PARTIAL if result.page_errors else SourceStatus.OK,
                "page_errors": result.page_errors,
                "last_polled_at": now,
                "last_success_at": now,
                "consecutive_failures": 0,
                "validators": outcome.validators,
                "next_run_at": now + next_delay(source, failures=0),
                "updated_at": now,
                "state": result.state,
            }
            row = [f.get_db_prep_save(values[f.name], connection) for f in fields]
            params.append((*row, source.pk))
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
