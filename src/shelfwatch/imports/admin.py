from django.contrib import admin

from shelfwatch.imports.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Import jobs with their counts; rows are read through the API (there can be millions)."""

    list_display = (
        "id",
        "source",
        "store",
        "original_name",
        "status",
        "mode",
        "processed",
        "failed",
    )
    list_filter = ("status", "source", "mode")
    search_fields = ("original_name", "sha256")
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request) -> bool:
        # A job starts from an upload (API or `shelfwatch import`) or `shelfwatch import-off`,
        # never from a blank form.
        return False
