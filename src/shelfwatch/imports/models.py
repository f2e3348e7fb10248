"""Import jobs: one uploaded spreadsheet of a store, and the outcome of each of its rows.

A job's counts and its position in the file (`processed`) are written in the same
transaction as the rows of each batch, so a worker that dies mid-job leaves a job that
resumes exactly after its last committed batch.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class ImportMode(models.TextChoices):
    CREATE = "create", "create new items only"
    UPDATE = "update", "update existing items only"
    BOTH = "both", "create and update"


class ImportSource(models.TextChoices):
    CSV = "csv", "a store's spreadsheet"
    OFF_JSONL = "off_jsonl", "Open Food Facts JSONL dump"
    OFF_CSV = "off_csv", "Open Food Facts CSV export"


# Sources that write the shared catalog only: their jobs have no store.
CATALOG_SOURCES = (ImportSource.OFF_JSONL, ImportSource.OFF_CSV)


class ImportJob(models.Model):
    """One file being imported: a store's spreadsheet into its inventory, or a product
    database dump into the catalog (`source`; such jobs have no store)."""

    store = models.ForeignKey(
        "inventory.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    source = models.CharField(max_length=12, choices=ImportSource.choices, default=ImportSource.CSV)
    # What a catalog import reads and keeps: {"path": ..., "countries": [...], "categories": [...]}.
    options = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    mode = models.CharField(max_length=6, choices=ImportMode.choices, default=ImportMode.BOTH)
    # The file as stored through Django's storage API, and what it was called when uploaded.
    file_name = models.CharField(max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    header = models.JSONField(default=list)
    # {column header: field}; columns not named are ignored.
    mapping = models.JSONField(default=dict)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    # Data rows (blank lines included) of the file that committed batches have covered.
    processed = models.PositiveIntegerField(default=0)
    successful = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    duplicates_found = models.PositiveIntegerField(default=0)
    # Records a catalog import's filters left out (counted, not recorded row by row).
    filtered_out = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    # The worker holding the job: a lease that lapses when it dies, so another resumes it.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A spreadsheet always goes into a store; only catalog sources go without one.
            models.CheckConstraint(
                condition=~models.Q(source="csv") | models.Q(store__isnull=False),
                name="import_job_csv_has_store",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "sha256"], name="import_job_file"),
            models.Index(
                fields=["lease_until"], condition=models.Q(status="running"), name="import_running"
            ),
        ]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.original_name or self.file_name} ({self.status})"


class RowStatus(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    MATCHED = "matched"
    SKIPPED = "skipped"
    FAILED = "failed"


class ImportRow(models.Model):
    """What became of one row of an import's file.

    `line` is the row's first line in the file (the header is line 1). Failed and skipped
    rows keep their original values, so the errors file can give them back to be fixed.
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=RowStatus.choices)
    column = models.CharField(max_length=200, blank=True)
    code = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=500, blank=True)
    # What the row was placed on: a record of the past, not an owning relation, so neither
    # has a database constraint (two deferred checks a row at each batch's COMMIT on
    # PostgreSQL). Deleting the product or the item still empties the field: Django applies
    # SET_NULL itself. The job keeps its constraint: the rows belong to it.
    product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    item = models.ForeignKey(
        "inventory.StockItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    # Catalog products the row may describe, when the matcher was not sure.
    candidates = models.JSONField(default=list, blank=True)
    values = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["job", "line"]
        constraints = [
            # A row is recorded once, however often its batch is tried.
            models.UniqueConstraint(fields=["job", "line"], name="import_row_once"),
        ]

    def __str__(self) -> str:
        return f"line {self.line}: {self.status}"
