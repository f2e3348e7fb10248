"""Admin for subscriptions, and for contacts with their subscriptions."""

from __future__ import annotations

from django.contrib import admin

from shelfwatch.alerts.models import Subscription, VerificationCode
from shelfwatch.notify.contacts import start_contact, stop_contact
from shelfwatch.notify.models import Contact


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    raw_id_fields = ("item",)
    fields = (
        "item",
        "kind",
        "target_price",
        "min_drop_percent",
        "cooldown",
        "is_active",
        "last_notified_at",
    )
    readonly_fields = ("last_notified_at",)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Notify's address book with each contact's subscriptions. Stopping and starting go
    through the actions, the same functions a STOP message or a manage page uses."""

    list_display = ("address", "channel", "user", "verified_at", "is_active", "created_at")
    list_filter = ("channel", "is_active")
    search_fields = ("address", "user__email")
    raw_id_fields = ("user",)
    readonly_fields = ("verified_at", "is_active", "opted_out_at", "link_version", "created_at")
    inlines = [SubscriptionInline]
    actions = ["stop_contacts", "start_contacts"]

    @admin.action(description="Stop: send nothing more to the selected contacts")
    def stop_contacts(self, request, queryset) -> None:
        for contact in queryset:
            stop_contact(contact=contact)
        self.message_user(request, f"Stopped {len(queryset)} contact(s).")

    @admin.action(description="Start: the selected contacts receive messages again")
    def start_contacts(self, request, queryset) -> None:
        for contact in queryset:
            start_contact(contact=contact)
        self.message_user(request, f"Started {len(queryset)} contact(s).")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("contact", "item", "kind", "is_active", "last_notified_at", "last_episode")
    list_filter = ("kind", "is_active")
    search_fields = ("contact__address", "item__name")
    raw_id_fields = ("contact", "item")
    readonly_fields = ("last_notified_at", "quiet_until", "last_episode", "created_at")


@admin.register(VerificationCode)
class VerificationCodeAdmin(admin.ModelAdmin):
    list_display = ("contact", "created_at", "expires_at", "attempts", "used_at", "requested_ip")
    readonly_fields = [f.name for f in VerificationCode._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
