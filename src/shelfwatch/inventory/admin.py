from django.contrib import admin

from shelfwatch.inventory.models import Store


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "city", "is_active", "created_at"]
    search_fields = ["name", "slug", "city"]
    prepopulated_fields = {"slug": ["name"]}
