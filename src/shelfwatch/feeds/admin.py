"""Admin for data feeds: datasets with their snapshot and refresh status, and a refresh action."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from shelfwatch.errors import DomainError
from shelfwatch.feeds.datasets import clean_source, delete_dataset
from shelfwatch.feeds.models import Dataset, RefreshRun, Snapshot
from shelfwatch.feeds.refresh import TRIGGERED, is_refreshing, request_refresh


class DatasetForm(forms.ModelForm):
    class Meta:
        model = Dataset
        fields = (
            "name",
            "description",
            "source_kind",
            "source_config",
            "owner",
            "refresh_every",
            "is_active",
            "next_refresh_at",
        )

    def clean(self):
        data = super().clean()
        owner, kind = data.get("owner"), data.get("source_kind")
        if owner is not None and kind:
            try:
                data["source_config"] = clean_source(
                    kind=kind, config=data.get("source_config") or {}, owner=owner
                )
            except DomainError as exc:
                self.add_error("source_config", exc.detail)
        return data


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    form = DatasetForm
    list_display = (
        "name",
        "source_kind",
        "owner",
        "records",
        "snapshot_age",
        "last_result",
        "refreshing",
        "next_refresh_at",
    )
    list_filter = ("source_kind", "is_active")
    search_fields = ("name", "description")
    list_select_related = ("owner", "current_snapshot")
    readonly_fields = ("current_snapshot", "lease_until", "created_at", "recent_runs")
    actions = ["refresh_now"]

    @admin.display(description="records")
    def records(self, obj: Dataset):
        return obj.current_snapshot.record_count if obj.current_snapshot else "-"

    @admin.display(description="snapshot age")
    def snapshot_age(self, obj: Dataset):
        if obj.current_snapshot is None:
            return "no snapshot"
        seconds = int((timezone.now() - obj.current_snapshot.finished_at).total_seconds())
        return f"{seconds // 3600}h {seconds % 3600 // 60}m" if seconds >= 60 else f"{seconds}s"

    @admin.display(description="last refresh")
    def last_result(self, obj: Dataset):
        run = obj.runs.exclude(finished_at=None).order_by("-finished_at").first()
        if run is None:
            return "-"
        return run.status if not run.error_code else f"{run.status}: {run.error_code}"

    @admin.display(description="recent refreshes")
    def recent_runs(self, obj: Dataset):
        # The last ten only: a dataset refreshed hourly gathers thousands of runs.
        runs = obj.runs.order_by("-queued_at", "-id")[:10] if obj.pk else []
        return (
            format_html_join(
                mark_safe("<br>"),
                "{} {} ({} records) {}",
                (
                    (
                        run.queued_at.strftime("%Y-%m-%d %H:%M:%S"),
                        run.status,
                        run.records,
                        run.error_code,
                    )
                    for run in runs
                ),
            )
            or "-"
        )

    @admin.display(description="running", boolean=True)
    def refreshing(self, obj: Dataset):
        return is_refreshing(obj)

    def has_delete_permission(self, request, obj: Dataset | None = None) -> bool:
        # A running refresh would write into a dataset that no longer exists.
        if obj is not None and is_refreshing(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj: Dataset) -> None:
        delete_dataset(dataset=obj)

    def delete_queryset(self, request, queryset) -> None:
        for dataset in queryset:
            try:
                delete_dataset(dataset=dataset)
            except DomainError as exc:
                self.message_user(request, f"{dataset.name}: {exc.detail}", messages.WARNING)

    @admin.action(description="Refresh now")
    def refresh_now(self, request, queryset):
        for dataset in queryset:
            result = request_refresh(dataset=dataset, trigger=RefreshRun.Trigger.ADMIN)
            level = messages.SUCCESS if result.status == TRIGGERED else messages.WARNING
            self.message_user(request, f"{dataset.name}: {result.status}", level)


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ("dataset", "record_count", "raw_bytes", "stored_bytes", "etag", "finished_at")
    list_filter = ("dataset",)
    readonly_fields = [field.name for field in Snapshot._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
