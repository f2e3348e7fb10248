"""Background tasks of the recommendations: the nightly rebuild of the precomputed lists."""

from __future__ import annotations

from django_tasks import task

from shelfwatch.recommend.refresh import refresh_all


@task()
def refresh_recommendations() -> dict[str, int]:
    """Rebuild the bought-together, also-viewed and similar-products lists; returns the rows
    written per list."""
    return refresh_all()
