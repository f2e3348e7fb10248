"""Datasets served to API-key clients, their stored snapshots and their refresh runs."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"


class SourceKind(models.TextChoices):
    INTERNAL = "internal", "Internal table"
    SQL = "sql", "External SQL query"
    HTTP_CSV = "http_csv", "CSV over HTTP"
    HTTP_JSON = "http_json", "JSON over HTTP"


class RefreshStatus(models.TextChoices):
    NEVER = "never", "Never refreshed"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Dataset(models.Model):
    """A named feed: where its records come from, how often they are refreshed, who reads it.

    Readers are admins, the owner, and API keys holding the `feeds:<name>` scope.
    """

    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(f"^{NAME_PATTERN}$", "lower-case letters, digits, - and _")],
    )
    description = models.CharField(max_length=300, blank=True)
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices)
    source_config = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feed_datasets"
    )
    refresh_every = models.DurationField(default=timedelta(hours=1))
    is_active = models.BooleanField(default=True)
    next_refresh_at = models.DateTimeField(default=timezone.now, db_index=True)
    current_snapshot = models.ForeignKey(
        "Snapshot", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Single flight: whoever sets these with a conditional update runs the refresh.
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def read_scope(self) -> str:
        """The API-key scope that grants reading this dataset."""
        return scope_for(self.name)

    @property
    def topic(self) -> str:
        """The event topic of this dataset's refresh outcomes."""
        return f"feed:{self.name}"


def scope_for(name: str) -> str:
    """The API-key scope that grants reading the dataset called `name`."""
    return f"feeds:{name}"


class Snapshot(models.Model):
    """One stored, gzip-compressed copy of a dataset's records, as served to clients."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="snapshots")
    file_name = models.CharField(max_length=200)
    record_count = models.PositiveIntegerField()
    raw_bytes = models.PositiveBigIntegerField(help_text="Size of the uncompressed JSON body.")
    stored_bytes = models.PositiveBigIntegerField(help_text="Size of the gzip file.")
    etag = models.CharField(max_length=64)
    # The `since=` cursor after this snapshot's newest change; "" when the source has none.
    cursor = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["-finished_at", "-id"]

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.file_name}"

    @property
    def duration_seconds(self) -> float:
        """How long the refresh that made this snapshot took, in seconds."""
        return (self.finished_at - self.started_at).total_seconds()


class RefreshRun(models.Model):
    """One refresh attempt, with its progress while it runs and its outcome after."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        API = "api"
        COMMAND = "command"
        ADMIN = "admin"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="runs")
    token = models.CharField(max_length=32)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    status = models.CharField(
        max_length=10, choices=RefreshStatus.choices, default=RefreshStatus.QUEUED
    )
    records = models.PositiveIntegerField(default=0)
    raw_bytes = models.PositiveBigIntegerField(default=0)
    # Malformed rows a dataset with `"on_bad_rows": "skip"` left out, and the first's problem.
    skipped_rows = models.PositiveIntegerField(default=0)
    first_skipped = models.CharField(max_length=300, blank=True)
    snapshot = models.ForeignKey(
        Snapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error_code = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["dataset", "-queued_at"], name="feeds_run_recent")]

    def __str__(self) -> str:
        return f"{self.dataset_id} run {self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        """How long the run took, in seconds; None until it has both started and finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
