"""Background tasks of loyalty."""

from __future__ import annotations

from django_tasks import task

from shelfwatch.loyalty.expiry import expire_due_points


@task()
def expire_points() -> dict[str, int]:
    """Expire every store's points older than its program allows (the scheduler runs this
    daily; running it again changes nothing)."""
    return expire_due_points()
