from django.contrib import admin

from shelfwatch.events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "topics", "created_at", "dispatched_at", "dispatch_attempts"]
    list_filter = ["type"]
    readonly_fields = [
        "type",
        "payload",
        "topics",
        "created_at",
        "dispatched_at",
        "dispatch_attempts",
    ]
