"""Django admin: the daily figures and the built reports, read-only (the roll-up and the
report workers write them). Salts and raw visits are not shown: with a salt, an address
and a browser could be tested against ids."""

from django.contrib import admin

from shelfwatch.analytics.models import ProductDay, Report, SearchMissDay, StoreDay


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StoreDay)
class StoreDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "store", "views", "visitors", "orders", "revenue", "restocks"]
    list_filter = ["day"]
    list_select_related = ["store"]
    date_hierarchy = "day"


@admin.register(ProductDay)
class ProductDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "store", "product", "views", "bot_views", "visitors"]
    list_select_related = ["store", "product"]
    date_hierarchy = "day"


@admin.register(SearchMissDay)
class SearchMissDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "store", "query", "searches"]
    list_select_related = ["store"]
    search_fields = ["query"]
    date_hierarchy = "day"


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["first_day", "kind", "store", "status", "recipients", "attempts", "sent_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["store"]
    date_hierarchy = "first_day"
    exclude = ["charts"]
