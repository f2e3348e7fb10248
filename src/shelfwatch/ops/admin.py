"""Read-only admin views of the scheduler state, for operators checking what runs when."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from shelfwatch.ops.models import PeriodicJobState, SchedulerLease


class ReadOnlyAdmin(admin.ModelAdmin):
    # The scheduler owns these rows; edits from the admin would race with it.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PeriodicJobState)
class PeriodicJobStateAdmin(ReadOnlyAdmin):
    list_display = ["name", "next_run_at", "last_enqueued_at", "runs", "last_result_id"]


@admin.register(SchedulerLease)
class SchedulerLeaseAdmin(ReadOnlyAdmin):
    list_display = ["name", "holder", "expires_at", "acquired_at"]
