"""Polling: claim hosts with due sources, poll their sources at the host's pace.

The dispatcher (a scheduler job every few seconds) claims hosts, not sources: a host's lease
(`Host.lease_token`, `lease_until`) gives one worker at a time the right to talk to that
host, so the per-host concurrency cap and minimum delay hold across every process, and a
source can never be polled twice at once. A worker that dies leaves a lease that expires
after WATCH_HOST_LEASE_SECONDS; the next tick claims the host again.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections
from django.db.models import Q
from django.utils import timezone

from shelfwatch.http.outbound import FetchError, GuardedClient, GuardedTransport
from shelfwatch.watch.adapters import adapter_for
from shelfwatch.watch.adapters.base import SourceProblem
from shelfwatch.watch.fetching import HostGate, LeaseLost, SourceFetcher
from shelfwatch.watch.models import Host, Source, SourceKind
from shelfwatch.watch.recording import PollOutcome, record_all

logger = logging.getLogger("shelfwatch.watch")


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


class _DatabaseTurn:
    """A host thread's use of the database, for pool threads (`hang_up`): at most
    WATCH_DB_CONNECTIONS threads of the process hold a connection at once, and a thread that
    goes back to waiting on its shop closes its connection and gives up its turn. Hundreds
    of hosts can then be polled side by side without running the database out of
    connections."""

    _turns: threading.BoundedSemaphore | None = None
    _turns_lock = threading.Lock()

    def __init__(self, *, hang_up: bool) -> None:
        self.hang_up = hang_up
        self.held = False

    @classmethod
    def _semaphore(cls) -> threading.BoundedSemaphore:
        with cls._turns_lock:
            if cls._turns is None:
                size = max(1, getattr(settings, "WATCH_DB_CONNECTIONS", 8))
                cls._turns = threading.BoundedSemaphore(size)
            return cls._turns

    def take(self) -> None:
        if self.hang_up and not self.held:
            self._semaphore().acquire()
            self.held = True

    def give_up(self) -> None:
        if self.held:
            try:
                connections.close_all()
            finally:
                self.held = False
                self._semaphore().release()


def poll_host(
    host_id: int, token: str, *, only_due: bool = True, hang_up: bool = False
) -> list[PollOutcome]:
    """Poll the host's due sources while holding its lease, then release it.

    Up to the host's `max_concurrency` sources are fetched at once (their requests share
    the host's gate, so the cap holds across them); their results are recorded here, in
    this thread. The lease is renewed while the poll runs, however long a source takes; if
    it is lost anyway, no further request starts. With `hang_up` (pool threads), the
    database connection is closed whenever this thread would wait on the shop, so threads
    waiting on a slow shop hold no connection (see `_DatabaseTurn`).
    """
    outcomes: list[PollOutcome] = []
    turn = _DatabaseTurn(hang_up=hang_up)
    turn.take()
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
                        turn.give_up()  # nothing to record: hang up while the shop answers
                        done, pending = wait(
                            pending, timeout=lease.every, return_when=FIRST_COMPLETED
                        )
                    turn.take()
                    # Results that finished together are written together.
                    finished = [future.result() for future in done]
                    outcomes += record_all([(todo[o.source_id], o) for o in finished])
                    if not lease.keep():
                        # Sources not recorded yet stay due for whoever holds the host now.
                        logger.warning("lost the lease of host %s; stopping its polls", host.key)
                        gate.stop()
                        for future in pending:
                            future.cancel()
                        break
        finally:
            transport.close()
    finally:
        turn.take()
        try:
            _release(host_id, token)
        finally:
            turn.give_up()
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
    """Poll several leased hosts side by side (one thread per host, at most `threads`).

    Threads are cheap here: a host's poll mostly waits on the host's pacing, so one thread
    per host lets 100 polite hosts take as long as the slowest of them, not their sum."""
    workers = max(1, min(len(host_ids), threads or getattr(settings, "WATCH_POLL_THREADS", 128)))
    if workers == 1:
        return [o for host_id in host_ids for o in poll_host(host_id, token)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="watch-poll") as pool:
        results = pool.map(lambda host_id: _poll_host_in_thread(host_id, token), host_ids)
        return [outcome for outcomes in results for outcome in outcomes]
