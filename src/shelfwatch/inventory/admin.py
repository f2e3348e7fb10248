"""Django admin for stores, stock items and the (read-only) movement ledger.

Quantities are read-only here: a count or a restock goes through the API or the store
dashboard, which book it in the ledger.
"""

from django.contrib import admin

from shelfwatch.inventory.models import StockItem, StockMovement, Store


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "city", "region", "currency", "is_active", "created_at"]
    search_fields = ["name", "slug", "city"]
    list_filter = ["is_active", "region", "currency"]
    prepopulated_fields = {"slug": ["name"]}


class MovementInline(admin.TabularInline):
    model = StockMovement
    extra = 0
    can_delete = False
    fields = ["created_at", "delta", "quantity_after", "reason", "reference", "actor"]
    readonly_fields = fields
    ordering = ["-id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StockItem)
class StockItemAdmin(admin.ModelAdmin):
    list_display = ["product", "store", "quantity", "selling_price", "reorder_level", "updated_at"]
    list_filter = ["store"]
    search_fields = ["product__name", "product__brand", "product__barcode"]
    list_select_related = ["product", "store"]
    raw_id_fields = ["product"]
    readonly_fields = ["quantity", "created_at", "updated_at"]
    filter_horizontal = ["custom_images"]
    inlines = [MovementInline]


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = ["created_at", "item", "delta", "quantity_after", "reason", "reference"]
    list_filter = ["reason"]
    search_fields = ["reference", "item__product__name"]
    list_select_related = ["item__product", "item__store"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
