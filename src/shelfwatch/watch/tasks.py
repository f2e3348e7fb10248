"""Background tasks of the watch app: the dispatcher tick and the poll batches it enqueues."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django_tasks import task

from shelfwatch.watch import poller

KICK_KEY = "watch:dispatch-kick"


def kick_dispatcher() -> None:
    """Run the dispatcher soon, after the current transaction commits: at most one queued
    run however many sources were just added or asked for (1,000 new sources are one
    dispatch, not 1,000 tasks ahead of everything else)."""

    def enqueue() -> None:
        # The key lives until the queued run starts (or a tick passes, should it be lost).
        if cache.add(KICK_KEY, 1, timeout=getattr(settings, "SCHEDULER_TICK_SECONDS", 5)):
            dispatch_due_polls.enqueue()

    transaction.on_commit(enqueue)


@task()
def dispatch_due_polls() -> dict[str, int]:
    """Lease hosts with due sources and enqueue their polls, a batch of hosts per task."""
    cache.delete(KICK_KEY)
    token, host_ids = poller.claim_due_hosts(limit=getattr(settings, "WATCH_DISPATCH_LIMIT", 500))
    size = max(1, getattr(settings, "WATCH_HOSTS_PER_TASK", 128))
    batches = [host_ids[i : i + size] for i in range(0, len(host_ids), size)]
    for batch in batches:
        poll_hosts.enqueue(batch, token)
    return {"hosts": len(host_ids), "tasks": len(batches)}


@task()
def poll_hosts(host_ids: list[int], token: str) -> dict[str, int]:
    """Poll the due sources of hosts this batch holds the lease of."""
    outcomes = poller.poll_hosts(host_ids, token)
    return {
        "sources": len(outcomes),
        "failed": sum(1 for o in outcomes if not o.ok),
        "requests": sum(o.requests for o in outcomes),
    }
