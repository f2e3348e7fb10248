"""Request and response bodies of the imports API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from shelfwatch.catalog.schemas import ProductSummary
from shelfwatch.http.bounds import BoundedSchema


class ImportOptions(BoundedSchema):
    """The form fields sent beside the file."""

    mode: str = Field("both", max_length=6)
    # JSON object {column: field}; "" as a field ignores the column.
    mapping: str = Field("", max_length=20_000)
    allow_repeat: bool = False


class _JobProgress(Schema):
    """What every import job reports, whatever it reads."""

    id: int
    status: str
    original_name: str
    size: int
    total_rows: int | None
    processed: int
    successful: int
    failed: int
    skipped: int
    duplicates_found: int
    error_code: str
    error: str
    uploaded_by_id: int | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class JobOut(_JobProgress):
    store_id: int
    mode: str
    sha256: str
    encoding: str
    delimiter: str
    mapping: dict[str, str]
    errors_url: str


class CatalogImportOptions(BoundedSchema):
    """The form fields sent beside a dump: comma-separated Open Food Facts tags."""

    countries: str = Field("", max_length=2000, description="e.g. en:india,en:nepal")
    categories: str = Field("", max_length=2000, description="e.g. en:breakfast-cereals")


class CatalogJobOut(_JobProgress):
    source: str
    countries: list[str]
    categories: list[str]
    filtered_out: int


class CatalogJobPage(Schema):
    items: list[CatalogJobOut]
    next_cursor: str | None


class JobPage(Schema):
    items: list[JobOut]
    next_cursor: str | None


class RowOut(Schema):
    line: int
    status: str
    column: str
    code: str
    message: str
    product_id: int | None
    item_id: int | None
    candidates: list[dict[str, Any]]
    values: list[str]


class RowPage(Schema):
    items: list[RowOut]
    next_cursor: str | None


class PreviewRow(Schema):
    line: int
    values: list[str]
    fields: dict[str, str | None] | None = None
    error: dict[str, str] | None


class PreviewOut(Schema):
    encoding: str
    delimiter: str
    header: list[str]
    mapping: dict[str, str]
    guessed_mapping: dict[str, str]
    rows: list[PreviewRow]


class LookupOut(Schema):
    barcode: str = Field(description="The barcode in the catalog's stored form.")
    created: bool = Field(description="True when this lookup created the product.")
    source: str = Field(description="`catalog` (already known) or `openfoodfacts`.")
    product: ProductSummary
