"""Consumers: registry matching, dispatch after commit, failures, idempotent re-dispatch, sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from shelfwatch.events import consumers, dispatch
from shelfwatch.events.models import Event
from shelfwatch.events.publishing import emit
from shelfwatch.events.tasks import dispatch_events, sweep_undispatched_events

# Every test touches the database: the suite-wide fixture clears the (database) cache.
pytestmark = pytest.mark.django_db


@pytest.fixture
def registry():
    """Register consumers for one test only."""
    names: list[str] = []

    def register(pattern, handler, name):
        consumers.register_consumer(pattern, handler, name=name)
        names.append(name)

    yield register
    for name in names:
        consumers.unregister_consumer(name)


@pytest.fixture
def immediate_tasks(settings):
    """Tasks run inline when enqueued, as a worker would run them."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def make_event(event_type="stock.changed", *, age=timedelta(0), attempts=0) -> Event:
    """An event row written directly (no commit hooks), as if its dispatch was lost."""
    event = Event.objects.create(
        type=event_type, payload={}, topics=["product:1"], dispatch_attempts=attempts
    )
    if age:
        Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - age)
    return event


def test_patterns_match_exact_prefix_and_everything():
    def handler(event):
        return None

    exact = consumers.Consumer("a", "stock.changed", handler)
    prefix = consumers.Consumer("b", "stock.*", handler)
    everything = consumers.Consumer("c", "*", handler)
    assert exact.matches("stock.changed") and not exact.matches("stock.changed.more")
    assert prefix.matches("stock.changed") and prefix.matches("stock.level.low")
    assert not prefix.matches("stock") and not prefix.matches("stockpile.changed")
    assert everything.matches("anything.at.all")


@pytest.mark.parametrize("pattern", ["", "Stock.*", "stock.", "*.changed", "stock.**"])
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(ValueError):
        consumers.register_consumer(pattern, lambda event: None, name="bad")


def test_registering_a_name_again_replaces_it(registry):
    calls = []
    registry("stock.*", lambda event: calls.append("first"), "test.replace")
    registry("stock.*", lambda event: calls.append("second"), "test.replace")
    matched = [c for c in consumers.consumers_for("stock.changed") if c.name == "test.replace"]
    assert len(matched) == 1
    matched[0].handler(None)
    assert calls == ["second"]


@pytest.mark.django_db(transaction=True)
def test_commit_runs_matching_consumers_and_marks_dispatched(registry, immediate_tasks):
    seen: list[tuple[str, int]] = []
    registry("stock.*", lambda event: seen.append(("stock", event.pk)), "test.stock")
    registry("price.changed", lambda event: seen.append(("price", event.pk)), "test.price")
    with transaction.atomic():
        first = emit(type="stock.changed", payload={}, topics=["product:1"])
        second = emit(type="stock.level.low", payload={}, topics=["product:1"])
        assert seen == []  # nothing runs before commit
    assert seen == [("stock", first.pk), ("stock", second.pk)]
    for event in Event.objects.all():
        assert event.dispatched_at is not None
        assert event.dispatch_attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_consumer_leaves_the_event_for_the_sweeper(registry, immediate_tasks, caplog):
    written = []

    def flaky(event):
        written.append(event.pk)
        raise RuntimeError("downstream unavailable")

    registry("stock.*", flaky, "test.flaky")
    with transaction.atomic():
        event = emit(type="stock.changed", payload={}, topics=["product:1"])
    event.refresh_from_db()
    assert event.dispatched_at is None
    assert event.dispatch_attempts == 1
    assert "test.flaky failed on event" in caplog.text
    assert written == [event.pk]


@pytest.mark.django_db
def test_failing_consumer_rolls_back_only_its_own_writes(registry):
    from shelfwatch.inventory.models import Store

    def writes_then_fails(event):
        Store.objects.create(name="ghost", slug=f"ghost-{event.pk}")
        raise RuntimeError("half done")

    def writes(event):
        Store.objects.create(name="kept", slug=f"kept-{event.pk}")

    registry("stock.*", writes_then_fails, "test.half")
    registry("stock.*", writes, "test.writes")
    event = make_event()
    report = dispatch.dispatch([event.pk])
    assert report.as_dict() == {"dispatched": 0, "failed": 1, "skipped": 0}
    assert list(Store.objects.values_list("name", flat=True)) == ["kept"]


@pytest.mark.django_db
def test_redispatch_is_idempotent(registry):
    calls = []
    registry("stock.*", lambda event: calls.append(event.pk), "test.count")
    event = make_event()
    assert dispatch_events.call([event.pk]) == {"dispatched": 1, "failed": 0, "skipped": 0}
    # A duplicate task (or the sweeper racing it) finds the event done and does nothing.
    assert dispatch_events.call([event.pk, event.pk]) == {
        "dispatched": 0,
        "failed": 0,
        "skipped": 1,
    }
    assert calls == [event.pk]
    # Unknown ids (rows gone) are skipped too.
    assert dispatch.dispatch([999_999]).skipped == 1


@pytest.mark.django_db
def test_sweeper_redispatches_old_undispatched_events(registry, settings):
    settings.EVENTS_SWEEP_AFTER = timedelta(seconds=60)
    handled = []
    registry("stock.*", lambda event: handled.append(event.pk), "test.sweep")
    lost = make_event(age=timedelta(minutes=5))
    recent = make_event()  # its own dispatch task may still be on the way
    done = make_event(age=timedelta(minutes=5))
    Event.objects.filter(pk=done.pk).update(dispatched_at=timezone.now())
    result = sweep_undispatched_events.call()
    assert result["dispatched"] == 1
    assert handled == [lost.pk]
    assert Event.objects.get(pk=lost.pk).dispatched_at is not None
    assert Event.objects.get(pk=recent.pk).dispatched_at is None


@pytest.mark.django_db
def test_sweeper_retries_failures_until_the_attempt_limit(registry, settings, caplog):
    settings.EVENTS_SWEEP_AFTER = timedelta(seconds=60)
    settings.EVENTS_MAX_DISPATCH_ATTEMPTS = 3

    def fails(event):
        raise RuntimeError("still broken")

    registry("stock.*", fails, "test.fails")
    event = make_event(age=timedelta(minutes=5), attempts=1)
    assert dispatch.sweep().failed == 1
    assert dispatch.sweep().failed == 1
    report = dispatch.sweep()
    assert report.failed == 0 and report.abandoned == 1
    assert Event.objects.get(pk=event.pk).dispatch_attempts == 3
    assert "no longer retried" in caplog.text


@pytest.mark.django_db
def test_sweeper_works_in_bounded_batches(settings, monkeypatch):
    settings.EVENTS_SWEEP_AFTER = timedelta(seconds=60)
    monkeypatch.setattr(dispatch, "SWEEP_BATCH_SIZE", 2)
    monkeypatch.setattr(dispatch, "SWEEP_MAX_BATCHES", 2)
    for _ in range(5):
        make_event(age=timedelta(minutes=5))
    assert dispatch.sweep().dispatched == 4  # two batches of two
    assert dispatch.sweep().dispatched == 1  # the next run finishes the rest
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()
