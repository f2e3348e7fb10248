"""Reads of the catalog, scoped to what the caller may see.

Public callers and customers see verified products; store staff also see pending products
they created or that one of their stores stocks; admins see everything. A product merged
into another is hidden from lists (its id still answers, pointing to the survivor).
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import Category, Product, VerificationStatus
from shelfwatch.errors import NotFound


def _stock_items() -> QuerySet:
    # Stores stock catalog products, not the other way round: the rows are reached through
    # the reverse relation, so the catalog needs no import of the inventory app.
    return Product._meta.get_field("stock_items").related_model.objects.all()


def visible_products(principal: Principal | None) -> QuerySet[Product]:
    """Every product `principal` may read, merged ones included (for redirects)."""
    products = Product.objects.all()
    if principal is not None and principal.is_admin:
        return products
    visible = Q(status=VerificationStatus.VERIFIED)
    if principal is not None:
        visible |= Q(created_by=principal.user) & ~Q(status=VerificationStatus.REJECTED)
        store_ids = list(principal.store_roles)
        if store_ids:
            stocked = _stock_items().filter(product=OuterRef("pk"), store_id__in=store_ids)
            visible |= Exists(stocked) & Q(status=VerificationStatus.PENDING)
    return products.filter(visible)


def visibility_key(principal: Principal | None) -> tuple:
    """Equal for two callers exactly when `visible_products` builds the same statement for
    them (the same SQL and parameters): the key of statements compiled once per caller kind."""
    if principal is None:
        return ()
    if principal.is_admin:
        return ("admin",)
    return (principal.user.pk, tuple(sorted(principal.store_roles)))


def get_product_for(principal: Principal | None, product_id: int) -> Product:
    """The product if the caller may see it, else a 404 that does not confirm it exists."""
    product = (
        visible_products(principal)
        .select_related("category")
        .prefetch_related("regional_names", "images__blob")
        .filter(pk=product_id)
        .first()
    )
    if product is None:
        raise NotFound("product not found", code="product_not_found")
    return product


def filter_products(
    products: QuerySet[Product],
    *,
    category_id: int | None = None,
    brand: str | None = None,
    in_stock_at: int | None = None,
    status: str | None = None,
) -> QuerySet[Product]:
    """Narrow a product queryset by the search filters; unknown categories match nothing."""
    products = products.filter(merged_into__isnull=True)
    if category_id is not None:
        category = Category.objects.filter(pk=category_id).first()
        if category is None:
            return products.none()
        products = products.filter(category__path__startswith=category.path)
    if brand:
        products = products.filter(brand__iexact=brand.strip())
    if in_stock_at is not None:
        products = products.filter(
            Exists(
                _stock_items().filter(product=OuterRef("pk"), store_id=in_stock_at, quantity__gt=0)
            )
        )
    if status:
        products = products.filter(status=status)
    return products


def review_queue(*, status: str = VerificationStatus.PENDING) -> QuerySet[Product]:
    """Products awaiting review, the ones most stores use first."""
    return (
        Product.objects.filter(status=status, merged_into__isnull=True)
        .annotate(store_count=Count("stock_items__store", distinct=True))
        .select_related("created_by", "category")
        .order_by("-store_count", "created_at", "id")
    )


def category_tree() -> list[Category]:
    """Every category in path order, so each comes right after its parent."""
    return list(Category.objects.order_by("path"))
