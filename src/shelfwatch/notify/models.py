"""The notification outbox: one row per message to send, created by alerts, orders, reports.

A row is unique by `idempotency_key` (per event x subscription x channel, or per business
action), so whatever creates notifications may retry without ever creating one twice.
Delivery claims pending rows, sends them and moves them along `status`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    APPRISE = "apprise", "Apprise"


class Contact(models.Model):
    """One address on one channel: a WhatsApp number (E.164), an email, a webhook or an
    Apprise URL. Unique per (channel, address); a signed-in user may have several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="contacts",
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    address = models.CharField(max_length=500)
    verified_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Off after STOP or unsubscribe-all: nothing is sent."
    )
    timezone = models.CharField(max_length=64, default="Asia/Kolkata")
    language = models.CharField(
        max_length=8, default="en", help_text="Language of the messages: en or hi."
    )
    # The last message the person sent us: WhatsApp allows free-form replies for 24 hours.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    # For webhook contacts: the key our signatures are made with (shown once).
    signing_secret = models.CharField(max_length=64, blank=True)
    # Bumped to invalidate every link sent so far (manage and unsubscribe links).
    link_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The address book began in the alerts app: the table keeps its name.
        db_table = "alerts_contact"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "address"], name="alerts_contact_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}"

    @property
    def is_verified(self) -> bool:
        """True once the contact has proved it owns the address."""
        return self.verified_at is not None


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class NotificationKind(models.TextChoices):
    # An alert about a watched item: may be digested, gets an inbox copy and buttons.
    ALERT = "alert", "Alert"
    # Everything else a person asked for or needs: codes, links, order mail.
    MESSAGE = "message", "Message"


class Notification(models.Model):
    """One message to one contact through one channel, with everything needed to render it
    captured when it was enqueued (`template` and `context`)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    template = models.CharField(max_length=60)  # e.g. "watch.back_in_stock", "verify_code"
    kind = models.CharField(
        max_length=12, choices=NotificationKind.choices, default=NotificationKind.MESSAGE
    )
    context = models.JSONField(default=dict, blank=True)
    event = models.ForeignKey(
        "events.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subscription = models.ForeignKey(
        "alerts.Subscription",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    urgent = models.BooleanField(default=False, help_text="Sent even in quiet hours.")
    # A digest sends several notifications as one message: the others point at it.
    digest_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="digested"
    )
    status = models.CharField(
        max_length=12, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker's claim: while `lease_until` is ahead, nobody else sends this row; a worker
    # that died leaves a lease that expires, and the row is claimed again.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=40, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notify_due"),
            models.Index(fields=["contact", "-created_at"], name="notify_contact_time"),
            models.Index(fields=["provider_message_id"], name="notify_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.template} to {self.contact_id} ({self.status})"


class AttemptOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted by the provider"
    TRANSIENT = "transient", "Failed, will retry"
    PERMANENT = "permanent", "Failed for good"


class DeliveryAttempt(models.Model):
    """One failed try at sending a notification, as the provider answered it.

    An accepted try is recorded on the notification itself (`sent_at`, the provider's
    message id, the attempt count), so a fan-out writes one row per message, not two.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=12, choices=AttemptOutcome.choices)
    provider_code = models.CharField(max_length=40, blank=True)  # HTTP status, Graph code...
    detail = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.outcome} at {self.at:%H:%M:%S}"


class InboxItem(models.Model):
    """A signed-in user's copy of a notification, listed in the app and read there."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="inbox_items")
    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="inbox_item"
    )
    title = models.CharField(max_length=200)
    body = models.TextField()
    url = models.CharField(max_length=1000, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="notify_inbox_user")]

    def __str__(self) -> str:
        return self.title


class Pace(models.Model):
    """The next free send slot of one rate-limited key (without Redis)."""

    key = models.CharField(max_length=200, unique=True)
    next_free = models.FloatField(default=0.0)  # unix seconds

    def __str__(self) -> str:
        return self.key


class WhatsAppProfile(models.Model):
    """What WhatsApp told us about one contact: the `wa_id` Meta answers a send with (it can
    differ from the dialled number) and a marketing opt-out."""

    contact = models.OneToOneField(
        Contact, on_delete=models.CASCADE, related_name="whatsapp_profile"
    )
    wa_id = models.CharField(max_length=32, blank=True, db_index=True)
    marketing_stopped_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.wa_id or '-'}"


class ChannelPause(models.Model):
    """A pause of a sending number or a whole channel, as the provider imposed it.

    Without Redis this row is the shared pause every process reads; with Redis the pause
    lives there and this row is its record for the admin. One row per key, reused by the
    next pause; `operator_notified_at` is set once per pause (one email, not one a message).
    """

    key = models.CharField(max_length=200, unique=True)  # "whatsapp" or "whatsapp:<number id>"
    until = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)
    code = models.CharField(max_length=40, blank=True)
    detail = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    operator_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-until"]

    def __str__(self) -> str:
        return f"{self.key} paused until {self.until:%Y-%m-%d %H:%M:%S} ({self.code})"

    @property
    def active(self) -> bool:
        """True until the pause's end time has passed."""
        return self.until > timezone.now()


class EarlyStatus(models.Model):
    """A status webhook that named a message id no notification carries yet: its acceptance
    may still be on its way to the database. Applied once it lands, dropped after a day."""

    provider_message_id = models.CharField(max_length=200, db_index=True)
    status = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.provider_message_id} {self.status.get('status', '')}"
