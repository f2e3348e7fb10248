"""Shared set-up for the watch tests: loopback allowed for the fake shops, real polls."""

from __future__ import annotations

from django.utils import timezone

from shelfwatch.events.models import Event
from shelfwatch.watch import poller
from shelfwatch.watch.models import Host, Source


def make_source(*, min_interval_ms: int = 0, **fields) -> Source:
    """A source created through the service, its host without politeness delay unless asked."""
    from shelfwatch.watch.sources import create_source

    source = create_source(**fields)
    Host.objects.filter(pk=source.host_id).update(min_interval_ms=min_interval_ms)
    return source


def poll_due(now=None) -> list[poller.PollOutcome]:
    """What the scheduler's dispatcher and a worker do, in this process: claim, poll."""
    token, hosts = poller.claim_due_hosts(now=now)
    return poller.poll_hosts(hosts, token, threads=1) if hosts else []


def poll_again(source: Source) -> poller.PollOutcome:
    Source.objects.filter(pk=source.pk).update(next_run_at=timezone.now())
    outcomes = [o for o in poll_due() if o.source_id == source.pk]
    assert outcomes, "the source was not polled"
    return outcomes[0]


def event_types(since_id: int = 0) -> list[str]:
    return list(Event.objects.filter(pk__gt=since_id).order_by("pk").values_list("type", flat=True))


def last_event_id() -> int:
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
