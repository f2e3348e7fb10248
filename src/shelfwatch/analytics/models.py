"""What analytics stores: the daily salt of visitor ids, raw views and search misses as
flushed in batches, the daily roll-ups the API reads, and the reports built from them
(with each person's choice of how often to get them).

Raw rows hold plain ids, not foreign keys, so a batch never fails on a product deleted
since its view was recorded; the roll-up keeps only products and stores that still exist.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


class DailySalt(models.Model):
    """The random key of one date's visitor ids (at every store on that local date);
    deleted once no store is on that date any more, so an id can never be recomputed or
    linked to another day's."""

    day = models.DateField(unique=True)
    salt = models.BinaryField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.day)


class RolledDay(models.Model):
    """When a day was last rolled up, and whether that roll-up is final: made once the day
    had ended in every store's time zone and ANALYTICS_REPORT_SETTLE_MINUTES had passed.
    The hourly job rolls up every day from the first one not final, so days missed while
    workers were down are caught up; reports wait for a roll-up made after their store's day
    settled."""

    day = models.DateField(unique=True)
    rolled_at = models.DateTimeField()
    final = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.day} rolled up at {self.rolled_at}{' (final)' if self.final else ''}"


class Visit(models.Model):
    """One product view. `visitor` is the day's keyed hash of the viewer (empty when the
    browser asked not to be tracked); bots are kept apart by `is_bot`."""

    day = models.DateField()
    store_id = models.BigIntegerField(null=True, blank=True)
    product_id = models.BigIntegerField()
    visitor = models.CharField(max_length=32, blank=True)
    is_bot = models.BooleanField(default=False)
    via_api = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["day", "store_id", "product_id"], name="visit_day")]

    def __str__(self) -> str:
        return f"{self.day} product {self.product_id}"


class SearchMiss(models.Model):
    """One product search (storefront or API) that found nothing, its words normalised."""

    day = models.DateField()
    store_id = models.BigIntegerField(null=True, blank=True)
    query = models.CharField(max_length=100)

    class Meta:
        indexes = [models.Index(fields=["day", "store_id"], name="search_miss_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.query}"


class ProductDay(models.Model):
    """Views of one product at one store (on the store's local day) or with no store chosen
    (on the UTC day)."""

    store = models.ForeignKey(
        "inventory.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)
    bot_views = models.PositiveIntegerField(default=0)
    visitors = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "product", "day"],
                name="analytics_product_day_unique",
            )
        ]
        indexes = [
            # A store's (every store's) rows of some days, with the product and its views:
            # ranking a range reads these indexes alone, never the table rows. Without the
            # second, PostgreSQL scans the whole table for every store's edge days.
            models.Index(
                fields=["store", "day", "product", "views"], name="product_day_store_views"
            ),
            models.Index(fields=["day", "store", "product", "views"], name="product_day_day_views"),
            # Exact sums of a few products over a range, for every store at once.
            models.Index(fields=["product", "day"], name="product_day_product"),
        ]

    def __str__(self) -> str:
        return f"{self.day} product {self.product_id}: {self.views}"


class StoreDay(models.Model):
    """One store's day: traffic, the shop funnel, alerts and restocks."""

    store = models.ForeignKey("inventory.Store", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)
    bot_views = models.PositiveIntegerField(default=0)
    visitors = models.PositiveIntegerField(default=0)
    cart_sessions = models.PositiveIntegerField(default=0)
    checkout_sessions = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    subscriptions = models.PositiveIntegerField(default=0)
    restocks = models.PositiveIntegerField(default=0)
    search_misses = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "day"], name="analytics_store_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} store {self.store_id}"


class AlertChannelDay(models.Model):
    """Alerts of one store's watched items created on one day, by channel and how far
    each got (a read alert also counts as delivered and sent)."""

    store = models.ForeignKey("inventory.Store", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    channel = models.CharField(max_length=16)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    read = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "day", "channel"], name="analytics_alert_channel_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} store {self.store_id} {self.channel}"


class SearchMissDay(models.Model):
    """How often one normalised query found nothing at one store on one day."""

    store = models.ForeignKey(
        "inventory.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    query = models.CharField(max_length=100)
    searches = models.PositiveIntegerField(default=0)

    class Meta:
        # The query and its count in the index: a range's misses are summed from it alone.
        indexes = [
            models.Index(
                fields=["store", "day", "query", "searches"], name="search_miss_day_store_q"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.query}: {self.searches}"


class ReportKind(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class ReportStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # due, not built yet
    BUILT = "built", "Built"  # figures and charts kept, emails not all queued yet
    SENT = "sent", "Sent"  # every recipient's email is in the outbox


class Report(models.Model):
    """One store's (or, with no store, the platform's) report over `first_day`..`last_day`
    (the store's local days, as the roll-ups), unique per scope, kind and period: the
    scheduler creates it once and any worker holding its lease builds and sends it."""

    store = models.ForeignKey(
        "inventory.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=ReportKind.choices)
    first_day = models.DateField()
    last_day = models.DateField()
    status = models.CharField(
        max_length=8, choices=ReportStatus.choices, default=ReportStatus.PENDING
    )
    data = models.JSONField(default=dict, blank=True)
    # PNG charts by name, base64: the email carries them inline, the staff page serves them.
    charts = models.JSONField(default=dict, blank=True)
    # A worker's claim while it builds or sends; a claim whose time ran out (the worker
    # died) is taken over by the next dispatcher run.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    recipients = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    built_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_day", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "kind", "first_day"],
                condition=models.Q(store__isnull=False),
                name="analytics_report_store_period_unique",
            ),
            models.UniqueConstraint(
                fields=["kind", "first_day"],
                condition=models.Q(store__isnull=True),
                name="analytics_report_platform_period_unique",
            ),
        ]
        indexes = [models.Index(fields=["status", "lease_until"], name="analytics_report_due")]

    def __str__(self) -> str:
        scope = f"store {self.store_id}" if self.store_id else "platform"
        return f"{self.kind} report {scope} {self.first_day}"


class ReportFrequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    OFF = "off", "Off"


class ReportPreference(models.Model):
    """How often one person gets one store's report (no store: the platform report);
    without a row, daily."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_preferences"
    )
    store = models.ForeignKey(
        "inventory.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    frequency = models.CharField(
        max_length=8, choices=ReportFrequency.choices, default=ReportFrequency.DAILY
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store"],
                condition=models.Q(store__isnull=False),
                name="analytics_report_pref_store_unique",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(store__isnull=True),
                name="analytics_report_pref_platform_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} store {self.store_id}: {self.frequency}"


class Span(models.TextChoices):
    """How long a stretch a roll-up row sums: one day, a Monday-to-Sunday week or a calendar
    month (rows of a week or month are named by its first day)."""

    DAY = "day", "day"
    WEEK = "week", "week"
    MONTH = "month", "month"


class ProductSpan(models.Model):
    """`ProductDay` summed over one whole week or month, per store (or none) and product,
    rebuilt by the roll-up whenever one of its days is: a range reads its whole weeks and
    months here and only its edge days from `ProductDay`, with the same totals."""

    store = models.ForeignKey(
        "inventory.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    span = models.CharField(max_length=5, choices=Span.choices)
    first_day = models.DateField()
    views = models.PositiveIntegerField(default=0)
    bot_views = models.PositiveIntegerField(default=0)
    visitors = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "product", "span", "first_day"],
                name="analytics_product_span_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["span", "first_day", "store", "product", "views"],
                name="product_span_store_views",
            ),
            models.Index(fields=["product", "span", "first_day"], name="product_span_product"),
        ]

    def __str__(self) -> str:
        return f"{self.span} of {self.first_day} product {self.product_id}: {self.views}"


class TopProductDay(models.Model):
    """One of the most viewed products of a store (or, with no store, of every store
    together) on one day, week or month (`span`, named by its first `day`): what lets the
    dashboard rank products over months without summing every product's days."""

    store = models.ForeignKey(
        "inventory.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    span = models.CharField(max_length=5, choices=Span.choices, default=Span.DAY)
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["store", "span", "day"], name="top_product_span_store")]

    def __str__(self) -> str:
        return f"{self.span} of {self.day} product {self.product_id}: {self.views}"


class TopProductCutoff(models.Model):
    """The most views any product outside a day's (week's, month's) `TopProductDay` rows
    had (0 when they hold every viewed product): the bound that proves a ranking over a
    range exact. The row with no store marks the lists of that span as kept."""

    store = models.ForeignKey(
        "inventory.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    span = models.CharField(max_length=5, choices=Span.choices, default=Span.DAY)
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["span", "day", "store"], name="top_product_cutoff_span")]

    def __str__(self) -> str:
        return f"{self.span} of {self.day} store {self.store_id}: {self.views}"
