"""Background tasks of the catalog app."""

from __future__ import annotations

from django_tasks import task

from shelfwatch.catalog import renditions


@task()
def make_renditions(sha256: str) -> dict[str, str]:
    """Make the thumbnail and medium renditions of an image blob (idempotent).

    Enqueued once the upload's transaction commits; returns {kind: storage name}.
    """
    return renditions.make_renditions(sha256)


@task()
def refresh_search_vocabulary() -> dict[str, int]:
    """Recount the search vocabulary exactly (the scheduler runs this daily); writes keep it
    current between runs, with approximate counts."""
    from shelfwatch.catalog.vocabulary import refresh_vocabulary

    return {"words": refresh_vocabulary()}
