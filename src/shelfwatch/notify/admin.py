"""Admin for the notification outbox: status, attempts, retry, and template previews."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone

from shelfwatch.notify import pauses
from shelfwatch.notify.models import (
    ChannelPause,
    DeliveryAttempt,
    InboxItem,
    Notification,
    NotificationStatus,
    Pace,
    WhatsAppProfile,
)
from shelfwatch.notify.previews import previews


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("at", "outcome", "provider_code", "detail", "provider_message_id", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = (
        "template",
        "contact",
        "channel",
        "status",
        "attempts",
        "last_error_code",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", "channel", "template")
    search_fields = ("contact__address", "idempotency_key", "provider_message_id")
    raw_id_fields = ("contact", "event", "subscription", "digest_of")
    readonly_fields = (
        "idempotency_key",
        "created_at",
        "updated_at",
        "sent_at",
        "lease_owner",
        "lease_until",
    )
    inlines = [AttemptInline]
    actions = ["retry"]

    @admin.action(description="Retry the selected failed or cancelled notifications")
    def retry(self, request, queryset) -> None:
        from shelfwatch.notify.tasks import kick_delivery

        count = queryset.filter(
            status__in=[NotificationStatus.FAILED, NotificationStatus.CANCELLED]
        ).update(status=NotificationStatus.PENDING, next_attempt_at=timezone.now(), attempts=0)
        kick_delivery()
        self.message_user(request, f"{count} notification(s) will be sent again.", messages.SUCCESS)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [path("previews/", preview, name="notify_previews"), *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        from django.template.response import TemplateResponse

        context = {
            **self.admin_site.each_context(request),
            "previews": previews(),
            "title": "Message previews",
        }
        return TemplateResponse(request, "notify/previews.html", context)


@admin.register(InboxItem)
class InboxItemAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "read_at", "created_at")
    raw_id_fields = ("user", "notification")


@admin.register(Pace)
class PaceAdmin(admin.ModelAdmin):
    list_display = ("key", "next_free")


@admin.register(ChannelPause)
class ChannelPauseAdmin(admin.ModelAdmin):
    """Pauses of a sending number or channel: why, until when, whether the operator knows."""

    list_display = (
        "key",
        "in_force",
        "until",
        "code",
        "reason",
        "started_at",
        "operator_notified_at",
    )
    readonly_fields = (
        "key",
        "until",
        "code",
        "reason",
        "detail",
        "started_at",
        "updated_at",
        "operator_notified_at",
    )
    actions = ["lift"]

    @admin.display(boolean=True, description="in force")
    def in_force(self, obj: ChannelPause) -> bool:
        return obj.active

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Lift the selected pauses now (the cause is fixed)")
    def lift(self, request: HttpRequest, queryset) -> None:
        from shelfwatch.notify.tasks import kick_delivery

        keys = list(queryset.values_list("key", flat=True))
        for key in keys:
            pauses.lift(key)
        kick_delivery()
        self.message_user(request, f"Lifted: {', '.join(keys)}.", messages.SUCCESS)


@admin.register(WhatsAppProfile)
class WhatsAppProfileAdmin(admin.ModelAdmin):
    list_display = ("contact", "wa_id", "marketing_stopped_at", "updated_at")
    search_fields = ("wa_id", "contact__address")
    raw_id_fields = ("contact",)
