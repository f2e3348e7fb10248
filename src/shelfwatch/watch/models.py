"""Watched shops and their products: sources, the hosts they live on, items and history.

A Source is one shop (or one of our stores, kind `internal`) polled on its own schedule
(`next_run_at`). Sources on one host share a Host row, whose lease makes sure one worker at a
time talks to that host, at the host's pace. Each product a source lists is a WatchedItem
holding its current state; an Observation is written only when that state changes.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

MIN_POLL_INTERVAL = 30
DEFAULT_POLL_INTERVAL = 300


class SourceKind(models.TextChoices):
    STOREHIPPO = "storehippo", "StoreHippo shop API"
    SHOPIFY = "shopify", "Shopify storefront"
    JSONLD = "jsonld", "Product pages (JSON-LD, OpenGraph, microdata)"
    JSON = "json", "JSON API with JMESPath"
    INTERNAL = "internal", "One of our stores"


class SourceStatus(models.TextChoices):
    NEW = "new", "Not polled yet"
    OK = "ok", "Healthy"
    PARTIAL = "partial", "Some pages failing"
    FAILING = "failing", "Failing"
    NEEDS_CONFIGURATION = "needs_configuration", "Needs configuration"


class Host(models.Model):
    """One host:port that sources live on: its politeness limits and the poll lease."""

    key = models.CharField(max_length=300, unique=True)  # "host:port", lower case
    min_interval_ms = models.PositiveIntegerField(
        default=500, help_text="Least time between two requests to this host."
    )
    max_concurrency = models.PositiveSmallIntegerField(
        default=2, help_text="Most requests in flight to this host at once."
    )
    lease_token = models.CharField(max_length=40, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return self.key


class Source(models.Model):
    """A shop whose products are watched, and the health of its polling."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    base_url = models.URLField(max_length=1000, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    host = models.ForeignKey(
        Host, on_delete=models.PROTECT, related_name="sources", null=True, blank=True
    )
    store = models.OneToOneField(
        "inventory.Store",
        on_delete=models.CASCADE,
        related_name="watch_source",
        null=True,
        blank=True,
        help_text="For kind internal: the store whose stock this source follows.",
    )
    poll_interval = models.PositiveIntegerField(
        default=DEFAULT_POLL_INTERVAL,
        help_text=f"Seconds between polls, at least {MIN_POLL_INTERVAL}.",
    )
    is_active = models.BooleanField(default=True)
    is_public = models.BooleanField(default=True, help_text="Listed on the public subscribe page.")
    status = models.CharField(max_length=24, choices=SourceStatus.choices, default=SourceStatus.NEW)
    next_run_at = models.DateTimeField(default=timezone.now)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=60, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Pages of a multi-page source that failed at the last poll while the others were read:
    # url -> {"code", "message"}. Their items keep the state they had.
    page_errors = models.JSONField(default=dict, blank=True)
    baseline_done = models.BooleanField(default=False)
    # Per URL: {"etag": ..., "last_modified": ...} for conditional requests.
    validators = models.JSONField(default=dict, blank=True)
    # What an adapter keeps between polls (a shop session, its cookies).
    state = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["is_active", "next_run_at"], name="watch_source_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(poll_interval__gte=MIN_POLL_INTERVAL),
                name="watch_source_poll_interval_floor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class WatchedItem(models.Model):
    """One product of a source and its current state."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=200)
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="watched_items",
        help_text="For internal sources: the catalog product.",
    )
    name = models.CharField(max_length=500)
    url = models.URLField(max_length=1000, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    # The listing page or document the item was last read from: a 304 for that URL means
    # the item is still there, unchanged.
    listed_at_url = models.CharField(max_length=1000, blank=True)
    available = models.BooleanField(null=True)
    quantity = models.IntegerField(null=True, blank=True)
    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    is_gone = models.BooleanField(default=False)
    # Restock episodes: a new one starts when the item comes back after being out of stock
    # for at least WATCH_RESTOCK_MIN_OUT_SECONDS; subscribers hear once per episode.
    episode = models.PositiveIntegerField(default=0)
    out_since = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="watch_item_unique_per_source"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Observation(models.Model):
    """A state of an item, written when it differs from the one before."""

    item = models.ForeignKey(WatchedItem, on_delete=models.CASCADE, related_name="observations")
    observed_at = models.DateTimeField(default=timezone.now)
    available = models.BooleanField(null=True)
    quantity = models.IntegerField(null=True, blank=True)
    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    name = models.CharField(max_length=500)
    changes = models.JSONField(default=list, blank=True)  # e.g. ["available", "price"]

    class Meta:
        ordering = ["-observed_at", "-id"]
        indexes = [models.Index(fields=["item", "-observed_at"], name="watch_obs_item_time")]

    def __str__(self) -> str:
        return f"{self.item_id} at {self.observed_at:%Y-%m-%d %H:%M}"
