"""Polling: claim hosts with due sources, poll their sources at the host's pace, record health.

The dispatcher (a scheduler job every few seconds) claims hosts, not sources: a host's lease
(`Host.lease_token`, `lease_until`) gives one worker at a time the right to talk to that
host, so the per-host concurrency cap and minimum delay hold across every process, and a
source can never be polled twice at once. A worker that dies leaves a lease that expires
after WATCH_HOST_LEASE_SECONDS; the next tick claims the host again.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from shelfwatch.watch.adapters import adapter_for
from shelfwatch.watch.adapters.base import (
    HttpStatusProblem,
    NeedsConfiguration,
    PollResult,
    SourceProblem,
)
from shelfwatch.watch.changes import ChangeSummary, apply_states
from shelfwatch.watch.fetching import HostGate, LeaseLost, SourceFetcher
from shelfwatch.watch.guarded_client import FetchError, GuardedClient, GuardedTransport
from shelfwatch.watch.models import Host, Source, SourceKind, SourceStatus

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


def _lease_length() -> timedelta:
    return timedelta(seconds=getattr(settings, "WATCH_HOST_LEASE_SECONDS", 300))


def polled_sources():
    """Sources the poller runs: active, and not driven by our own inventory events."""
    return Source.objects.filter(is_active=True).exclude(kind=SourceKind.INTERNAL)


def claim_due_hosts(*, limit: int = 500, now: datetime | None = None) -> tuple[str, list[int]]:
    """Lease up to `limit` free hosts that have a due source; (lease token, host ids)."""
    now = now or timezone.now()
    due = (
        polled_sources()
        .filter(next_run_at__lte=now, host__isnull=False)
        .filter(Q(host__lease_until__isnull=True) | Q(host__lease_until__lt=now))
        .values_list("host_id", flat=True)
        .distinct()[:limit]
    )
    host_ids = list(due)
    if not host_ids:
        return "", []
    token = secrets.token_hex(12)
    # The conditional UPDATE is the claim: a host another dispatcher leased meanwhile no
    # longer matches, so each host goes to one claimer.
    Host.objects.filter(pk__in=host_ids).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    ).update(lease_token=token, lease_until=now + _lease_length())
    claimed = list(Host.objects.filter(lease_token=token).values_list("pk", flat=True))
    return token, claimed


def _renew(host_id: int, token: str) -> bool:
    return bool(
        Host.objects.filter(pk=host_id, lease_token=token).update(
            lease_until=timezone.now() + _lease_length()
        )
    )


def _release(host_id: int, token: str) -> None:
    Host.objects.filter(pk=host_id, lease_token=token).update(lease_token="", lease_until=None)


def next_delay(source: Source, *, failures: int, retry_after: float | None = None) -> timedelta:
    """The wait before the next poll: the interval, doubled per failure (capped), jittered."""
    base = timedelta(seconds=source.poll_interval)
    if failures:
        base = min(base * (2 ** min(failures - 1, 16)), MAX_BACKOFF)
    jittered = base * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after:
        jittered = max(jittered, timedelta(seconds=retry_after))
    return jittered


def _record_failure(source: Source, exc: Exception, *, now: datetime) -> str:
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


def _fetch(source: Source, *, gate: HostGate, transport: GuardedTransport) -> PollOutcome:
    """Run the source's adapter (network only, no database): the outcome carries what it
    saw in `result`, or the problem in `error`."""
    adapter = adapter_for(source.kind)
    validators = dict(source.validators or {})
    with GuardedClient(
        timeout=getattr(settings, "WATCH_FETCH_TIMEOUT", 15.0),
        max_bytes=getattr(settings, "WATCH_MAX_RESPONSE_BYTES", 5 * 1024 * 1024),
        transport=transport,
    ) as client:
        fetcher = SourceFetcher(client=client, gate=gate, validators=validators)
        outcome = PollOutcome(source.pk, ok=False)
        try:
            cleaned = adapter.clean_settings(source.settings or {}, source.base_url)
            outcome.result = adapter.poll(
                base_url=source.base_url,
                settings=cleaned,
                state=dict(source.state or {}),
                fetcher=fetcher,
            )
            outcome.ok = True
        except LeaseLost as exc:
            outcome.error, outcome.code = exc, exc.code
        except (FetchError, SourceProblem) as exc:
            outcome.error = exc
        except Exception as exc:
            logger.exception("poll of source %s raised", source.pk)
            outcome.error = exc
    outcome.requests, outcome.not_modified = fetcher.requests, fetcher.not_modified
    outcome.validators = validators
    return outcome


def _record(source: Source, outcome: PollOutcome) -> PollOutcome:
    """Write what a poll saw (items, events, health), timed from when the poll ended."""
    if outcome.code == LeaseLost.code:
        return outcome  # another worker holds the host now: its poll is the one recorded
    now = timezone.now()
    if outcome.error is not None:
        outcome.code = _record_failure(source, outcome.error, now=now)
    else:
        try:
            outcome.summary = _apply(source, outcome.result, outcome.validators, now=now)
        except Exception as exc:  # e.g. SQLite busy past its timeout: try at the next run
            logger.exception("recording the poll of source %s failed", source.pk)
            outcome.ok = False
            outcome.code = _record_failure(source, exc, now=now)
    outcome.result = outcome.error = None  # the items are recorded; keep the outcome small
    return outcome


def poll_source(source: Source, *, gate: HostGate) -> PollOutcome:
    """Poll one source now and record the outcome; never raises for a source's failure."""
    transport = GuardedTransport(max_connections=gate.max_concurrency)
    try:
        return _record(source, _fetch(source, gate=gate, transport=transport))
    finally:
        transport.close()


def _apply(source: Source, result, validators: dict, *, now: datetime) -> ChangeSummary:
    with transaction.atomic():
        summary = apply_states(
            source=source,
            states=result.items,
            complete=result.complete,
            unchanged_urls=result.unchanged_urls,
            now=now,
        )
        updates = {
            "status": SourceStatus.PARTIAL if result.page_errors else SourceStatus.OK,
            "page_errors": result.page_errors,
            "last_polled_at": now,
            "last_success_at": now,
            "consecutive_failures": 0,
            "validators": validators,
            "next_run_at": now + next_delay(source, failures=0),
            "updated_at": now,
        }
        if result.state is not None:
            updates["state"] = result.state
        Source.objects.filter(pk=source.pk).update(**updates)
    return summary


class _Lease:
    """A host's lease, renewed every third of its length while the host is polled."""

    def __init__(self, host_id: int, token: str) -> None:
        self.host_id, self.token = host_id, token
        self.every = _lease_length().total_seconds() / 3
        self.renewed_at = time.monotonic()

    def keep(self) -> bool:
        """Renew when due; False once the lease belongs to someone else."""
        if time.monotonic() - self.renewed_at < self.every:
            return True
        self.renewed_at = time.monotonic()
        return _renew(self.host_id, self.token)


def poll_host(
    host_id: int, token: str, *, only_due: bool = True, hang_up: bool = False
) -> list[PollOutcome]:
    """Poll the host's due sources while holding its lease, then release it.

    Up to the host's `max_concurrency` sources are fetched at once (their requests share
    the host's gate, so the cap holds across them); their results are recorded here, in
    this thread, one at a time. The lease is renewed while the poll runs, however long a
    source takes; if it is lost anyway, no further request starts. With `hang_up` (pool
    threads), the database connection is closed whenever this thread would wait on the
    shop, so threads waiting on a slow shop hold no connection.
    """
    outcomes: list[PollOutcome] = []
    idle = connections.close_all if hang_up else (lambda: None)
    try:
        host = Host.objects.filter(pk=host_id, lease_token=token).first()
        if host is None:
            return outcomes  # the lease expired and went to another worker
        sources = polled_sources().filter(host=host)
        if only_due:
            sources = sources.filter(next_run_at__lte=timezone.now())
        todo = {source.pk: source for source in sources.order_by("next_run_at", "pk")}
        if not todo:
            return outcomes
        gate = HostGate(
            min_interval=host.min_interval_ms / 1000, max_concurrency=host.max_concurrency
        )
        lease = _Lease(host_id, token)
        transport = GuardedTransport(max_connections=gate.max_concurrency)
        workers = min(gate.max_concurrency, len(todo))
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="watch-source") as pool:
                pending = {
                    pool.submit(_fetch, source, gate=gate, transport=transport)
                    for source in todo.values()
                }
                while pending:
                    done, pending = wait(pending, timeout=0, return_when=FIRST_COMPLETED)
                    if not done:
                        idle()  # nothing to record: hang up while the shop answers
                        done, pending = wait(
                            pending, timeout=lease.every, return_when=FIRST_COMPLETED
                        )
                    for future in done:
                        outcome = future.result()
                        outcomes.append(_record(todo[outcome.source_id], outcome))
                    if not lease.keep():
                        # Sources not recorded yet stay due for whoever holds the host now.
                        logger.warning("lost the lease of host %s; stopping its polls", host.key)
                        gate.stop()
                        for future in pending:
                            future.cancel()
                        break
        finally:
            transport.close()
        idle()
    finally:
        _release(host_id, token)
    return outcomes


def _poll_host_in_thread(host_id: int, token: str) -> list[PollOutcome]:
    try:
        return poll_host(host_id, token, hang_up=True)
    except Exception:
        logger.exception("polling host %s failed", host_id)
        return []
    finally:
        # Each pool thread has its own database connection; leave none open.
        connections.close_all()


def poll_hosts(host_ids: list[int], token: str, *, threads: int | None = None) -> list[PollOutcome]:
    """Poll several leased hosts side by side (one thread per host, at most `threads`)."""
    workers = max(1, min(len(host_ids), threads or getattr(settings, "WATCH_POLL_THREADS", 16)))
    if workers == 1:
        return [o for host_id in host_ids for o in poll_host(host_id, token)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="watch-poll") as pool:
        results = pool.map(lambda host_id: _poll_host_in_thread(host_id, token), host_ids)
        return [outcome for outcomes in results for outcome in outcomes]
