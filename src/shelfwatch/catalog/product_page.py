"""The API's product read in one statement, compiled once per caller's visibility.

A product page shows the product, its category, its regional names and its pictures. The
names and pictures come as one JSON array each, built by the database inside the
product's own SELECT, so a read is one round trip. Building and compiling that queryset
costs more CPU than running it, and its SQL depends only on what the caller may see, so
each connection keeps the compiled statement per visibility (with a marker where the
product id goes) and the converters of its columns.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import connection
from django.db.models import F, TextField
from django.db.models.expressions import RawSQL

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import Category, ImageBlob, Product, ProductImage, RegionalName
from shelfwatch.catalog.selectors import visibility_key, visible_products
from shelfwatch.errors import NotFound

_ROWS_JSON = {
    "postgresql": "(SELECT json_agg(json_build_array({cols}))::text {rest})",
    "sqlite": "(SELECT json_group_array(json_array({cols})) {rest})",
}
# No product has this id: it marks the id's place among the compiled statement's params.
_ID_MARK = -7_316_942_001_337
_PRODUCT_FIELDS = [field.attname for field in Product._meta.concrete_fields]
_EXTRA_COLUMNS = ("names_json", "images_json", "category_name", "category_path")
# Compiled statements kept per connection (so per thread); callers with stores of their
# own each have one, so the cache is emptied when it grows past this.
_MAX_KEPT = 512


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
class _Compiled:
    sql: str
    params: tuple
    compiler: Any
    converters: dict


def _compile(principal: Principal | None) -> _Compiled:
    names, images = _rows_json_sql(connection.vendor)
    rows = (
        visible_products(principal)
        .filter(pk=_ID_MARK)
        .annotate(
            names_json=RawSQL(names, (), output_field=TextField()),  # noqa: S611 (literal SQL)
            images_json=RawSQL(images, (), output_field=TextField()),  # noqa: S611
            category_name=F("category__name"),
            category_path=F("category__path"),
        )
        .order_by()
        .values_list(
            *_PRODUCT_FIELDS, "names_json", "images_json", "category_name", "category_path"
        )
    )
    compiler = rows.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    fields = [selected[0] for selected in compiler.select[: compiler.col_count]]
    return _Compiled(sql, tuple(params), compiler, compiler.get_converters(fields))


def _compiled(principal: Principal | None) -> _Compiled:
    key = visibility_key(principal)
    kept: dict[tuple, _Compiled] = connection.__dict__.setdefault("_shelfwatch_product_page", {})
    found = kept.get(key)
    if found is None:
        if len(kept) >= _MAX_KEPT:
            kept.clear()
        found = kept[key] = _compile(principal)
    return found


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
                width=width,
                height=height,
                original=original,
                thumbnail=thumbnail or "",
                medium=medium or "",
            )
            for sha, width, height, original, thumbnail, medium, _, _ in rows
        ]


def product_detail(principal: Principal | None, product_id: int) -> ProductDetail:
    """The product page of `product_id` if the caller may see it (one statement), else a
    404 that does not confirm it exists."""
    low, high = connection.ops.integer_field_range(Product._meta.pk.get_internal_type())
    if not low <= product_id <= high:
        # No row can have it (the ORM would match nothing; a driver refuses the number).
        raise NotFound("product not found", code="product_not_found")
    compiled = _compiled(principal)
    params = tuple(product_id if value == _ID_MARK else value for value in compiled.params)
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        row = cursor.fetchone()
    if row is None:
        raise NotFound("product not found", code="product_not_found")
    if compiled.converters:
        row = next(iter(compiled.compiler.apply_converters([row], compiled.converters)))
    count = len(_PRODUCT_FIELDS)
    product = Product.from_db(connection.alias, _PRODUCT_FIELDS, row[:count])
    names_json, images_json, category_name, category_path = row[count:]
    if product.category_id is not None:
        # Only what the page shows of it; the FK cache takes it as the loaded category.
        product.category = Category(id=product.category_id, name=category_name, path=category_path)
    return ProductDetail(
        product=product, names_json=names_json or "[]", images_json=images_json or "[]"
    )
