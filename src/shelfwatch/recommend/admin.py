"""The precomputed lists in the admin, to look at: the nightly refresh rewrites them."""

from django.contrib import admin

from shelfwatch.recommend.models import AlsoViewed, Similar, Together


class RelatedListAdmin(admin.ModelAdmin):
    list_display = ("product", "rank", "other", "score")
    list_select_related = ("product", "other")
    raw_id_fields = ("product", "other")
    search_fields = ("product__name",)
    ordering = ("product_id", "rank")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


admin.site.register(Together, RelatedListAdmin)
admin.site.register(Similar, RelatedListAdmin)
admin.site.register(AlsoViewed, RelatedListAdmin)
