"""Django admin for the catalog, with the review queue and bulk approve/reject.

Edits made here go through the same services as the API, so the barcode is normalised,
the search text and quality score follow, and the review decisions emit their events.
"""

from __future__ import annotations

import threading

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.html import format_html, format_html_join

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog import review
from shelfwatch.catalog.barcodes import InvalidBarcode, normalize_barcode
from shelfwatch.catalog.matching import candidates_for
from shelfwatch.catalog.models import (
    Category,
    ImageBlob,
    Product,
    ProductImage,
    RegionalName,
    ReviewQueue,
    VerificationStatus,
)
from shelfwatch.catalog.products import build_search_text
from shelfwatch.catalog.quality import refresh_quality_score
from shelfwatch.errors import DomainError

# The admin looking at the review queue, for the candidate lookups of its rows (one admin
# instance serves every thread, so not an attribute of it).
_viewer = threading.local()


def _principal(request: HttpRequest) -> Principal:
    return Principal(user=request.user, method="session")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "path"]
    search_fields = ["name", "slug"]
    list_select_related = ["parent"]


class RegionalNameInline(admin.TabularInline):
    model = RegionalName
    extra = 1


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    raw_id_fields = ["blob"]
    readonly_fields = ["uploaded_by", "created_at"]


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = "__all__"  # noqa: DJ007 (the admin lists its own fieldsets)

    def clean_barcode(self) -> str | None:
        raw = self.cleaned_data.get("barcode")
        if not raw:
            return None
        try:
            return normalize_barcode(raw)
        except InvalidBarcode as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "brand", "barcode", "status", "quality_score", "updated_at"]
    list_filter = ["status", "category"]
    search_fields = ["name", "brand", "barcode", "regional_names__name"]
    readonly_fields = ["quality_score", "merged_into", "reviewed_by", "reviewed_at"]
    raw_id_fields = ["created_by", "category"]
    inlines = [RegionalNameInline, ProductImageInline]
    actions = ["approve_selected", "reject_selected"]

    form = ProductForm

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        product = form.instance
        Product.objects.filter(pk=product.pk).update(search_text=build_search_text(product))
        refresh_quality_score(product)

    @admin.action(description="Approve selected products")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        done = 0
        for product in queryset.filter(merged_into__isnull=True):
            review.approve_product(product=product, principal=_principal(request))
            done += 1
        self.message_user(request, f"Approved {done} product(s).", messages.SUCCESS)

    @admin.action(description="Reject selected products (reason: rejected in bulk review)")
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        done = 0
        for product in queryset.filter(merged_into__isnull=True):
            try:
                review.reject_product(
                    product=product,
                    principal=_principal(request),
                    reason="rejected in bulk review",
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{product}: {exc.detail}", messages.ERROR)
        self.message_user(request, f"Rejected {done} product(s).", messages.SUCCESS)


@admin.register(ReviewQueue)
class ReviewQueueAdmin(ProductAdmin):
    """Pending products, most used first, each with its best candidates and their reasons;
    "merge into" folds the pending product into a candidate from the list itself."""

    list_display = ["name", "brand", "barcode", "store_count", "quality_score", "candidates"]
    list_filter = []
    # Each row looks up its candidates (about 15 ms at 200,000 products), so pages are short.
    list_per_page = 20

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        # Most used first: a product many stores stock is worth reviewing soonest.
        return (
            super()
            .get_queryset(request)
            .filter(status=VerificationStatus.PENDING, merged_into__isnull=True)
            .annotate(store_count=Count("stock_items__store", distinct=True))
            .prefetch_related("regional_names")
            .order_by("-store_count", "created_at")
        )

    @admin.display(description="stores", ordering="store_count")
    def store_count(self, obj: Product) -> int:
        return obj.store_count

    @admin.display(description="best candidates")
    def candidates(self, obj: Product) -> str:
        found = candidates_for(obj, principal=getattr(_viewer, "principal", None))
        if not found:
            return "none"
        # The buttons submit the change list's own form (which carries the CSRF token);
        # changelist_view performs the merge.
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                '<li>#{} {} ({}) · {}% · {} <button type="submit" name="merge_into" '
                'value="{}:{}">Merge into #{}</button></li>',
                (
                    (
                        c.product_id,
                        c.name,
                        c.brand or "no brand",
                        round(c.score * 100),
                        "; ".join(c.reasons),
                        obj.pk,
                        c.product_id,
                        c.product_id,
                    )
                    for c in found
                ),
            ),
        )

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if request.method == "POST" and "merge_into" in request.POST:
            return self._merge(request)
        _viewer.principal = _principal(request)
        try:
            return super().changelist_view(request, extra_context)
        finally:
            _viewer.principal = None

    def _merge(self, request: HttpRequest) -> HttpResponseRedirect:
        if not self.has_change_permission(request):
            self.message_user(request, "You may not merge products.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        try:
            duplicate_id, survivor_id = (int(v) for v in request.POST["merge_into"].split(":"))
        except ValueError:
            self.message_user(request, "Not a merge of two products.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        duplicate = Product.objects.filter(pk=duplicate_id).first()
        survivor = Product.objects.filter(pk=survivor_id).first()
        if duplicate is None or survivor is None:
            self.message_user(request, "One of these products is gone.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        try:
            review.merge_products(
                duplicate=duplicate, survivor=survivor, principal=_principal(request)
            )
        except DomainError as exc:
            self.message_user(request, f"{duplicate}: {exc.detail}", messages.ERROR)
        else:
            self.message_user(
                request,
                f"Merged #{duplicate.pk} {duplicate.name} into #{survivor.pk} {survivor.name}.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(request.get_full_path())


@admin.register(ImageBlob)
class ImageBlobAdmin(admin.ModelAdmin):
    list_display = ["sha256", "format", "width", "height", "size", "created_at"]
    readonly_fields = [f.name for f in ImageBlob._meta.fields]
    search_fields = ["sha256"]
