"""Reads of the catalog, scoped to what the caller may see.

Public callers and customers see verified products; store staff also see pending products
they created or that one of their stores stocks; admins see everything. A product merged
into another is hidden from lists (its id still answers, pointing to the survivor).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import (
    Category,
    ImageBlob,
    Product,
    ProductImage,
    RegionalName,
    VerificationStatus,
)
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


# The related rows of a product page as one JSON array each, built by the database inside
# the product's own SELECT: one round trip instead of one per relation.
_ROWS_JSON = {
    "postgresql": "(SELECT json_agg(json_build_array({cols}))::text {rest})",
    "sqlite": "(SELECT json_group_array(json_array({cols})) {rest})",
}


def _rows_json_sql(vendor: str) -> tuple[str, str]:
    """The names and images subqueries for `vendor`, correlated with the product table."""
    q = connection.ops.quote_name
    product = q(Product._meta.db_table)
    names = _ROWS_JSON[vendor].format(
        cols="n.language, n.name, n.id",
        rest=f"FROM {q(RegionalName._meta.db_table)} n WHERE n.product_id = {product}.id",
    )
    images = _ROWS_JSON[vendor].format(
        cols="b.sha256, b.width, b.height, b.original, b.thumbnail, b.medium, i.position, i.id",
        rest=(
            f"FROM {q(ProductImage._meta.db_table)} i JOIN {q(ImageBlob._meta.db_table)} b "
            f"ON b.sha256 = i.blob_id WHERE i.product_id = {product}.id"
        ),
    )
    return names, images


@dataclass(frozen=True)
class ProductDetail:
    """A product as its page shows it, read in one statement; its related rows are decoded
    only when asked for, so a revalidation (304) never builds them."""

    product: Product
    names_json: str
    images_json: str

    @cached_property
    def etag(self) -> str:
        """A weak validator: the row's update time plus a digest of what the page shows from
        other rows (names, pictures and their renditions, the category), which can change
        without touching the product row."""
        p = self.product
        category = p.category
        digest = hashlib.blake2b(digest_size=8)
        for part in (
            self.names_json,
            self.images_json,
            "" if category is None else f"{category.pk}|{category.name}|{category.path}",
        ):
            digest.update(part.encode())
            digest.update(b"\0")
        return f'W/"{p.pk}-{p.updated_at.timestamp():.6f}-{digest.hexdigest()}"'

    @property
    def regional_names(self) -> dict[str, list[str]]:
        """{language: [names]} in language, then insertion order."""
        regional: dict[str, list[str]] = {}
        for language, name, _ in sorted(json.loads(self.names_json), key=lambda r: (r[0], r[2])):
            regional.setdefault(language, []).append(name)
        return regional

    @property
    def images(self) -> list[ImageBlob]:
        """The pictures in display order, as unsaved blobs carrying what their URLs need."""
        rows = sorted(json.loads(self.images_json), key=lambda r: (r[6], r[7]))
        return [
            ImageBlob(
                sha256=sha,
                width=w,
                height=h,
                original=original,
                thumbnail=thumb or "",
                medium=mid or "",
            )
            for sha, w, h, original, thumb, mid, _, _ in rows
        ]


def product_detail(principal: Principal | None, product_id: int) -> ProductDetail:
    """The product page of `product_id` if the caller may see it (one statement), else a
    404 that does not confirm it exists."""
    names, images = _rows_json_sql(connection.vendor)
    product = (
        visible_products(principal)
        .select_related("category")
        .annotate(
            names_json=RawSQL(names, (), output_field=TextField()),  # noqa: S611 (literal SQL)
            images_json=RawSQL(images, (), output_field=TextField()),  # noqa: S611
        )
        .filter(pk=product_id)
        .first()
    )
    if product is None:
        raise NotFound("product not found", code="product_not_found")
    return ProductDetail(
        product=product,
        names_json=product.names_json or "[]",
        images_json=product.images_json or "[]",
    )


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
