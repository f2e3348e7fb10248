"""Django admin for shop settings, carts, orders (with their history), flash sales and
reservations.

Users who are not superusers see and edit only the rows of stores they are members of.
Order statuses move through `shop.orders.change_status`, so the admin's actions write the
history, emit the events and return stock exactly as the API does.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from shelfwatch.errors import DomainError
from shelfwatch.inventory.models import Store
from shelfwatch.shop import flash_sales
from shelfwatch.shop.models import (
    Cart,
    CartLine,
    FlashSale,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    Reservation,
    ShopSettings,
)
from shelfwatch.shop.orders import change_status


def _member_stores(request: HttpRequest) -> QuerySet[Store]:
    return Store.objects.filter(memberships__user=request.user, is_active=True)


class StoreScopedAdmin(admin.ModelAdmin):
    """Limits rows to the member's stores (`store_path` leads from the row to its store)."""

    store_path = "store"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        return rows.filter(**{f"{self.store_path}__in": _member_stores(request)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "store" and not request.user.is_superuser:
            kwargs["queryset"] = _member_stores(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ShopSettings)
class ShopSettingsAdmin(StoreScopedAdmin):
    list_display = ["store", "tax_rate_percent", "delivery_fee", "reservation_hold_minutes"]


class CartLineInline(admin.TabularInline):
    model = CartLine
    extra = 0
    fields = ["store", "product", "quantity", "unit_price", "reservation", "added_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "session_key", "updated_at"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "session_key", "created_at", "updated_at"]
    inlines = [CartLineInline]

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["product_name", "quantity", "unit_price", "line_total", "flash_sale"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class HistoryInline(admin.TabularInline):
    model = OrderStatusChange
    extra = 0
    fields = ["at", "previous_status", "status", "actor", "reason"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def _move_action(status: str):
    def action(modeladmin, request, queryset):
        moved, refused = 0, []
        for order in queryset:
            try:
                change_status(order=order, status=status, actor=request.user, reason="admin")
                moved += 1
            except DomainError as exc:
                refused.append(f"#{order.pk}: {exc.detail}")
        if moved:
            modeladmin.message_user(request, f"{moved} order(s) now {status}.")
        if refused:
            modeladmin.message_user(request, "; ".join(refused), level=messages.WARNING)

    action.__name__ = f"mark_{status}"
    action.short_description = f"Mark selected orders {OrderStatus(status).label.lower()}"
    return action


@admin.register(Order)
class OrderAdmin(StoreScopedAdmin):
    list_display = ["id", "store", "user", "status", "fulfilment", "total", "payment_status"]
    list_filter = ["status", "fulfilment", "payment_status", "store"]
    search_fields = ["id", "user__email"]
    list_select_related = ["store", "user"]
    readonly_fields = [field.name for field in Order._meta.fields if field.name not in {"note"}]
    inlines = [OrderLineInline, HistoryInline]
    actions = [_move_action(status) for status in OrderStatus.values if status != "pending"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FlashSale)
class FlashSaleAdmin(StoreScopedAdmin):
    # The model's constraints (window, allotment >= held + sold) are checked by the form.
    list_display = [
        "__str__",
        "store",
        "product",
        "sale_price",
        "quantity_allotted",
        "sold",
        "held",
        "starts_at",
        "ends_at",
    ]
    list_filter = ["store"]
    raw_id_fields = ["product"]
    readonly_fields = ["held", "sold", "created_at"]


@admin.register(Reservation)
class ReservationAdmin(StoreScopedAdmin):
    store_path = "sale__store"
    list_display = ["id", "sale", "user", "quantity", "status", "expires_at"]
    list_filter = ["status"]
    readonly_fields = ["sale", "user", "quantity", "status", "expires_at", "order", "created_at"]
    actions = ["release_selected"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Release selected active holds")
    def release_selected(self, request, queryset):
        released = sum(flash_sales.release(reservation) for reservation in queryset)
        self.message_user(request, f"{released} hold(s) released.")
