"""Request and response bodies of the catalog API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from shelfwatch.catalog.models import Category, ImageBlob, Product, RegionalName
from shelfwatch.http.bounds import BoundedSchema, column

RegionalNames = dict[column(RegionalName, "language"), list[column(RegionalName, "name")]]


class ProductIn(BoundedSchema):
    name: column(Product, "name")
    brand: column(Product, "brand") = ""
    category_id: column(Product, "category") | None = None
    barcode: column(Product, "barcode", max_length=64) | None = None
    net_quantity: column(Product, "net_quantity") | None = None
    net_unit: column(Product, "net_unit", max_length=16) = ""
    description: column(Product, "description") = ""
    attributes: dict[str, Any] = Field(default_factory=dict)
    regional_names: RegionalNames = Field(
        default_factory=dict, examples=[{"hi-IN": ["अमूल मक्खन"], "ta-IN": ["அமுல் வெண்ணெய்"]}]
    )
    confirm_new: bool = Field(
        False, description="Create even though the matcher found a likely duplicate."
    )


class ProductPatch(BoundedSchema):
    name: column(Product, "name") | None = None
    brand: column(Product, "brand") | None = None
    category_id: column(Product, "category") | None = None
    barcode: column(Product, "barcode", max_length=64) | None = None
    net_quantity: column(Product, "net_quantity") | None = None
    net_unit: column(Product, "net_unit", max_length=16) | None = None
    description: column(Product, "description") | None = None
    attributes: dict[str, Any] | None = None
    regional_names: RegionalNames | None = None


class CategoryRef(Schema):
    id: int
    name: str
    path: str


class ImageUrls(Schema):
    original: str | None
    thumbnail: str | None
    medium: str | None


class ProductImageOut(Schema):
    sha256: str
    width: int
    height: int
    urls: ImageUrls


class ProductOut(Schema):
    id: int
    name: str
    brand: str
    category: CategoryRef | None
    barcode: str | None
    net_quantity: Decimal | None
    net_unit: str
    description: str
    attributes: dict[str, Any]
    regional_names: dict[str, list[str]]
    images: list[ProductImageOut]
    status: str
    review_notes: str
    quality_score: int
    merged_into: int | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class ProductSummary(Schema):
    id: int
    name: str
    brand: str
    barcode: str | None
    net_quantity: Decimal | None
    net_unit: str
    category_id: int | None
    status: str
    quality_score: int


class ProductPage(Schema):
    items: list[ProductSummary]
    next_cursor: str | None
    corrected_query: str | None = Field(
        None,
        description=(
            "Set when words of `q` matched no product and were corrected: the words the "
            'results are for ("showing results for ..."). Null when `q` was searched as '
            "given. Send the same `q` with `next_cursor` for the next page."
        ),
        examples=["amul masala"],
    )


class MatchIn(BoundedSchema):
    name: column(Product, "name")
    brand: column(Product, "brand") = ""
    net_quantity: column(Product, "net_quantity") | None = None
    net_unit: column(Product, "net_unit", max_length=16) = ""
    regional_names: RegionalNames = Field(default_factory=dict)
    barcode: column(Product, "barcode", max_length=64) | None = None
    image_sha256: column(ImageBlob, "sha256") | None = Field(
        None, description="A picture stored first with POST /api/v1/catalog/images."
    )
    limit: int = Field(10, ge=1, le=50)


class ReasonCodeOut(Schema):
    """A reason as a stable code (catalog/match_reasons.py) and the values written in it."""

    code: str
    values: list[str]


class CandidateOut(Schema):
    product_id: int
    name: str
    brand: str
    status: str
    score: float
    reasons: list[str]
    reason_codes: list[ReasonCodeOut]


class MatchOut(Schema):
    candidates: list[CandidateOut]
    likely_duplicate: bool


class ReviewItemOut(Schema):
    id: int
    name: str
    brand: str
    barcode: str | None
    quality_score: int
    store_count: int
    created_by: str | None
    created_at: datetime


class ApproveIn(BoundedSchema):
    notes: column(Product, "review_notes") = ""


class RejectIn(BoundedSchema):
    reason: column(Product, "review_notes")


class MergeIn(BoundedSchema):
    into: column(Product, "merged_into") = Field(description="The id of the product that survives.")


class CategoryIn(BoundedSchema):
    name: column(Category, "name")
    slug: column(Category, "slug")
    parent_id: column(Category, "parent") | None = None


class CategoryOut(Schema):
    id: int
    name: str
    slug: str
    parent_id: int | None
    path: str


class ScannedCodeOut(Schema):
    text: str
    format: str
    gtin: str | None = Field(description="The normalised GTIN, when the code is one.")


class ScanOut(Schema):
    codes: list[ScannedCodeOut]
    products: list[ProductSummary] = Field(description="Catalog products with those codes.")
