"""Background work of the feeds app: the schedule dispatcher and one refresh per task."""

from __future__ import annotations

from django_tasks import task

from shelfwatch.feeds import refresh


@task()
def dispatch_due_refreshes() -> dict[str, int]:
    """Start the refreshes whose schedule has come round (one periodic job for all)."""
    return {"started": refresh.dispatch_due()}


@task()
def refresh_dataset(run_id: int) -> dict[str, object]:
    """Run one claimed refresh to its end; the run row records the outcome."""
    run = refresh.run_refresh(run_id)
    return {"status": run.status, "records": run.records, "error_code": run.error_code}
