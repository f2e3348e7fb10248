"""The periodic purge: expired refresh tokens, finished task results and dispatched events past
retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from shelfwatch.accounts.models import RefreshToken
from shelfwatch.events.models import Event
from shelfwatch.ops import retention
from shelfwatch.ops.tasks import purge_expired_records

pytestmark = pytest.mark.django_db


def refresh_token(user, name: str, expires_in: timedelta) -> RefreshToken:
    return RefreshToken.objects.create(
        user=user, token_hash=name.ljust(64, "0"), expires_at=timezone.now() + expires_in
    )


def task_result(status: str, finished_ago: timedelta | None) -> DBTaskResult:
    finished_at = timezone.now() - finished_ago if finished_ago is not None else None
    return DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="tests.ops.periodic_fixtures.fast_tick",
        backend_name="default",
        queue_name="default",
        run_after=get_date_max(),
        status=status,
        finished_at=finished_at,
    )


def event(created_ago: timedelta, *, dispatched: bool) -> Event:
    row = Event.objects.create(type="test.kept", payload={}, topics=[])
    Event.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - created_ago,
        dispatched_at=timezone.now() if dispatched else None,
    )
    return row


def test_purge_removes_expired_and_old_records_and_keeps_the_rest(make_user, settings):
    settings.TASK_RESULT_RETENTION = timedelta(days=7)
    settings.EVENTS_RETENTION = timedelta(days=90)
    user = make_user("purge@example.com")
    expired = refresh_token(user, "a", timedelta(hours=-1))
    long_expired = refresh_token(user, "b", timedelta(days=-30))
    fresh = refresh_token(user, "c", timedelta(days=3))

    old_ok = task_result(TaskResultStatus.SUCCESSFUL, timedelta(days=8))
    old_failed = task_result(TaskResultStatus.FAILED, timedelta(days=30))
    recent_ok = task_result(TaskResultStatus.SUCCESSFUL, timedelta(days=6))
    waiting = task_result(TaskResultStatus.READY, None)
    running = task_result(TaskResultStatus.RUNNING, None)
    # A READY row that is old by enqueue time is still pending work and must survive.
    DBTaskResult.objects.filter(pk=waiting.pk).update(
        enqueued_at=timezone.now() - timedelta(days=60)
    )

    old_event = event(timedelta(days=91), dispatched=True)
    old_undispatched = event(timedelta(days=91), dispatched=False)
    recent_event = event(timedelta(days=89), dispatched=True)

    counts = purge_expired_records.call()

    assert counts == {"refresh_tokens": 2, "task_results": 2, "events": 1}
    remaining_events = set(Event.objects.values_list("pk", flat=True))
    assert remaining_events == {old_undispatched.pk, recent_event.pk}
    assert old_event.pk not in remaining_events
    assert set(RefreshToken.objects.values_list("pk", flat=True)) == {fresh.pk}
    assert not RefreshToken.objects.filter(pk__in=[expired.pk, long_expired.pk]).exists()
    remaining = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert remaining == {recent_ok.pk, waiting.pk, running.pk}
    assert old_ok.pk not in remaining and old_failed.pk not in remaining

    # Nothing left to purge: a second run deletes nothing.
    assert purge_expired_records.call() == {"refresh_tokens": 0, "task_results": 0, "events": 0}


def test_task_results_are_deleted_in_batches():
    for _ in range(5):
        task_result(TaskResultStatus.SUCCESSFUL, timedelta(days=30))
    deleted = retention.purge_finished_task_results(older_than=timedelta(days=7), batch_size=2)
    assert deleted == 5
    assert not DBTaskResult.objects.exists()


def test_the_purge_is_a_periodic_job():
    from django.utils.module_loading import import_string

    from shelfwatch.config.periodic import PERIODIC_JOBS

    job = next(j for j in PERIODIC_JOBS if j.task == "shelfwatch.ops.tasks.purge_expired_records")
    assert import_string(job.task) is purge_expired_records
