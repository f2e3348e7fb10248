"""Asking for polls: however many sources are added at once, one dispatcher run follows."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from shelfwatch.watch import tasks
from shelfwatch.watch.models import Host, Source
from tests.fakes.jsonld_pages import JsonLdShop
from tests.ops.queues import discard, enqueued_times

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]

DISPATCH = tasks.dispatch_due_polls.module_path
POLL = tasks.poll_hosts.module_path


@pytest.fixture(autouse=True)
def empty_queue():
    cache.delete(tasks.KICK_KEY)
    discard({DISPATCH, POLL})
    yield
    discard({DISPATCH, POLL})


def test_adding_hundreds_of_sources_queues_one_dispatch_and_it_leases_them_all(
    callers, django_capture_on_commit_callbacks
):
    with JsonLdShop() as shop:
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(300):
                added = callers["admin"].post(
                    "/api/v1/sources",
                    {"name": f"Page {n}", "kind": "jsonld", "base_url": f"{shop.base_url}/p/{n}"},
                )
                assert added.status_code == 201, added.json()
        assert Source.objects.count() == 300
        # One run waits in the queue, not 300 ahead of everything else.
        assert len(enqueued_times(DISPATCH)) == 1
        # That one run (the next tick) leases the host and queues the polls of all 300.
        report = tasks.dispatch_due_polls.call()
        assert report == {"hosts": 1, "tasks": 1}
        assert Host.objects.get().lease_until is not None
        # Once it has started, the next request queues a new run.
        with django_capture_on_commit_callbacks(execute=True):
            callers["admin"].post(f"/api/v1/sources/{Source.objects.first().pk}/poll")
        assert len(enqueued_times(DISPATCH)) == 2
