"""Import rows are counted for Prometheus once their batch is committed."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_committed_import_rows_are_counted_per_source_and_outcome(
    upload, django_capture_on_commit_callbacks
):
    from shelfwatch.imports.processing import run_job

    created = value("shelfwatch_import_rows_total", source="csv", outcome="created")
    failed = value("shelfwatch_import_rows_total", source="csv", outcome="failed")
    job_id = upload(b"Item Name,Qty,MRP\nTea 250 g,4,120\nSugar 1 kg,-3,50\n").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        run_job(job_id)
    assert value("shelfwatch_import_rows_total", source="csv", outcome="created") == created + 1
    assert value("shelfwatch_import_rows_total", source="csv", outcome="failed") == failed + 1
