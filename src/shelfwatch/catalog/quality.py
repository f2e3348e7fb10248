"""The quality score of a product: 0-100 from what is filled in and valid.

The formula (documented in docs/catalog.md) is a sum of weighted checks, each all or
nothing, so a reviewer can read exactly what a product is missing:

    valid barcode 20, image 20, category (a leaf) 15, brand 10, net quantity 10,
    regional name 10, description of 20+ characters 10, name of 3-120 characters 5

Only data stored on the product counts; it is recomputed whenever the product, its images
or its regional names change.
"""

from __future__ import annotations

from dataclasses import dataclass

from shelfwatch.catalog.barcodes import is_valid_barcode
from shelfwatch.catalog.models import Product

CHECKS: tuple[tuple[str, int], ...] = (
    ("valid_barcode", 20),
    ("image", 20),
    ("category", 15),
    ("brand", 10),
    ("net_quantity", 10),
    ("regional_name", 10),
    ("description", 10),
    ("name", 5),
)
assert sum(points for _, points in CHECKS) == 100


@dataclass(frozen=True)
class QualityReport:
    score: int
    missing: tuple[str, ...]


def assess(product: Product) -> QualityReport:
    """Score `product` as stored (its images and regional names are queried)."""
    return assess_known(
        product,
        has_image=product.pk is not None and product.images.exists(),
        has_regional_name=product.pk is not None and product.regional_names.exists(),
        category_is_leaf=(
            product.category_id is not None and not product.category.children.exists()
        ),
    )


def score_new(product: Product, *, has_regional_name: bool) -> int:
    """The score of a product about to be inserted: no images yet, and a category (if any)
    already checked to be a leaf. No query."""
    return assess_known(
        product,
        has_image=False,
        has_regional_name=has_regional_name,
        category_is_leaf=product.category_id is not None,
    ).score


def assess_known(
    product: Product, *, has_image: bool, has_regional_name: bool, category_is_leaf: bool
) -> QualityReport:
    """Score `product` with the facts that need queries given, so a bulk write can score a
    batch from what it already read."""
    passed = {
        "valid_barcode": bool(product.barcode) and is_valid_barcode(product.barcode),
        "image": has_image,
        "category": product.category_id is not None and category_is_leaf,
        "brand": bool(product.brand.strip()),
        "net_quantity": product.net_quantity is not None and bool(product.net_unit),
        "regional_name": has_regional_name,
        "description": len(product.description.strip()) >= 20,
        "name": 3 <= len(product.name.strip()) <= 120,
    }
    score = sum(points for check, points in CHECKS if passed[check])
    missing = tuple(check for check, _ in CHECKS if not passed[check])
    return QualityReport(score=score, missing=missing)


def refresh_quality_score(product: Product) -> int:
    """Recompute and store the score; returns it."""
    score = assess(product).score
    if score != product.quality_score:
        product.quality_score = score
        Product.objects.filter(pk=product.pk).update(quality_score=score)
    return score
