"""Admin for the notification outbox."""

from __future__ import annotations

from django.contrib import admin

from shelfwatch.notify.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = (
        "template",
        "contact",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", "channel", "template")
    search_fields = ("contact__address", "idempotency_key", "provider_message_id")
    raw_id_fields = ("contact", "event", "subscription")
    readonly_fields = ("idempotency_key", "created_at", "updated_at", "sent_at")
