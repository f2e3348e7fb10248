"""The notification outbox: one row per message to send, created by alerts, orders, reports.

A row is unique by `idempotency_key` (per event x subscription x channel, or per business
action), so whatever creates notifications may retry without ever creating one twice.
Delivery claims pending rows, sends them and moves them along `status`.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    APPRISE = "apprise", "Apprise"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Notification(models.Model):
    """One message to one contact through one channel."""

    contact = models.ForeignKey(
        "alerts.Contact", on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    template = models.CharField(max_length=60)  # e.g. "back_in_stock", "verify_code"
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
    status = models.CharField(
        max_length=12, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notify_due"),
            models.Index(fields=["contact", "-created_at"], name="notify_contact_time"),
        ]

    def __str__(self) -> str:
        return f"{self.template} to {self.contact_id} ({self.status})"
