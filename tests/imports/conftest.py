"""Fixtures of the imports tests: a store with staff, files to upload, a job run to its end."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def upload(callers, store_a):
    """POST a file to store A's imports as its staff (or `caller`); the response."""

    def send(content: bytes, *, name="stock.csv", caller="staff_a", store=None, path="", **form):
        client = callers[caller]
        store_id = (store or store_a).pk
        data = {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **form}
        return client.client.post(
            f"/api/v1/stores/{store_id}/imports{path}", data=data, headers=client.headers
        )

    return send


@pytest.fixture
def run(db):
    """Run a job to its end as a worker would; the job afterwards."""
    from shelfwatch.imports.processing import run_job

    def go(job_id: int):
        return run_job(job_id, owner="test-worker")

    return go
