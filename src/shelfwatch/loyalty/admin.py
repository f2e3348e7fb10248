"""Django admin: program settings per store, accounts with their computed balance, and the
ledger, which is read-only (corrections are adjustments, made through the API)."""

from django.contrib import admin

from shelfwatch.loyalty.models import Account, Entry, Program
from shelfwatch.loyalty.selectors import accounts_with_balance


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = [
        "store",
        "enabled",
        "earn_points",
        "earn_per_amount",
        "point_value",
        "max_redeem_percent",
        "expiry_months",
        "updated_at",
    ]
    list_filter = ["enabled"]
    search_fields = ["store__name", "store__slug"]
    list_select_related = ["store"]
    raw_id_fields = ["store"]


class EntryInline(admin.TabularInline):
    model = Entry
    fk_name = "account"
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "points", "balance_after", "remaining", "order_id", "reason"]
    readonly_fields = fields
    ordering = ["-id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["user", "store", "balance", "created_at"]
    list_filter = ["store"]
    search_fields = ["user__email", "store__name"]
    list_select_related = ["user", "store"]
    inlines = [EntryInline]

    def get_queryset(self, request):
        return accounts_with_balance().select_related("user", "store")

    @admin.display(description="balance (sum of the ledger)", ordering="balance")
    def balance(self, account: Account) -> int:
        return account.balance


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "kind", "points", "balance_after", "order_id"]
    list_filter = ["kind", "account__store"]
    search_fields = ["account__user__email", "reason", "order_id"]
    list_select_related = ["account__user", "account__store"]
    raw_id_fields = ["account", "lot", "actor"]
