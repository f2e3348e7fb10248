"""`/api/v1/stores/{id}/imports`: upload a spreadsheet, preview it, follow the job, read
each row's outcome, download the errors, cancel.

Every route resolves the store through `get_store_for` (staff and owners of that store,
admins), so another tenant's store or job id is a 404.

`/api/v1/catalog/lookup/{barcode}` (`lookup_router`): a barcode the catalog lacks, looked
up at Open Food Facts. `/api/v1/catalog/imports` (`catalog_router`, platform admins): an
Open Food Facts dump imported into the shared catalog, followed and cancelled.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from ninja import File, Form, Path, Router, Status, UploadedFile

from shelfwatch.accounts.authentication import admin_auth, api_auth, principal_of
from shelfwatch.accounts.permissions import require_store_staff
from shelfwatch.catalog.selectors import visible_products
from shelfwatch.errors import Conflict
from shelfwatch.http.cursors import decode_cursor, id_page
from shelfwatch.imports.lifecycle import cancel_job
from shelfwatch.imports.mapping import InvalidMapping
from shelfwatch.imports.models import ImportJob, RowStatus
from shelfwatch.imports.notices import errors_url
from shelfwatch.imports.openfoodfacts.lookup import lookup_barcode
from shelfwatch.imports.openfoodfacts.uploads import start_dump_upload
from shelfwatch.imports.schemas import (
    CatalogImportOptions,
    CatalogJobOut,
    CatalogJobPage,
    ImportOptions,
    JobOut,
    JobPage,
    LookupOut,
    PreviewOut,
    RowPage,
)
from shelfwatch.imports.selectors import (
    catalog_jobs,
    error_lines,
    get_catalog_job,
    get_job,
    job_rows,
    store_jobs,
)
from shelfwatch.imports.uploads import preview_file, start_import
from shelfwatch.inventory.selectors import get_store_for

router = Router(tags=["imports"], auth=api_auth)
lookup_router = Router(tags=["catalog"], auth=api_auth)
catalog_router = Router(tags=["catalog"], auth=admin_auth)


def job_out(job: ImportJob) -> dict:
    return {
        **{f.attname: getattr(job, f.attname) for f in ImportJob._meta.concrete_fields},
        "errors_url": errors_url(job),
    }


def _mapping(raw: str) -> dict[str, str] | None:
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidMapping(
            'mapping is a JSON object such as {"Item Name": "name", "Notes": ""}',
            code="invalid_mapping",
        )
    return value


@router.post("/{store_id}/imports", response={202: JobOut})
def upload(
    request: HttpRequest, store_id: int, file: File[UploadedFile], options: Form[ImportOptions]
):
    """Upload a CSV file to import into the store's inventory; it runs in the background.

    The same file again is refused (409 `duplicate_file`) unless `allow_repeat` is true.
    """
    principal = principal_of(request)
    store = get_store_for(principal, store_id)
    job = start_import(
        store=store,
        principal=principal,
        upload=file.file,
        size=file.size,
        original_name=file.name or "",
        mode=options.mode,
        mapping=_mapping(options.mapping),
        allow_repeat=options.allow_repeat,
    )
    return Status(202, job_out(job))


@router.post("/{store_id}/imports/preview", response=PreviewOut)
def preview(
    request: HttpRequest, store_id: int, file: File[UploadedFile], options: Form[ImportOptions]
):
    """The first rows as the import would read them, with the detected encoding, delimiter
    and column mapping; nothing is stored."""
    get_store_for(principal_of(request), store_id)
    return preview_file(upload=file.file, size=file.size, mapping=_mapping(options.mapping))


@router.get("/{store_id}/imports", response=JobPage)
def list_jobs(request: HttpRequest, store_id: int, cursor: str | None = None, limit: int = 50):
    """The store's imports, newest first."""
    jobs = store_jobs(get_store_for(principal_of(request), store_id))
    return _newest_first(jobs, cursor, limit, job_out)


def _newest_first(
    jobs: QuerySet[ImportJob], cursor: str | None, limit: int, out: Callable[[ImportJob], dict]
) -> dict:
    """One page of `jobs`, newest first, each as `out` gives it, and the next page's cursor."""
    if cursor:
        (before,) = decode_cursor(cursor, int)
        jobs = jobs.filter(pk__lt=before)
    limit = min(max(limit, 1), 200)
    page, next_cursor = id_page(list(jobs.order_by("-pk")[: limit + 1]), limit)
    return {"items": [out(job) for job in page], "next_cursor": next_cursor}


@router.get("/{store_id}/imports/{job_id}", response=JobOut)
def read_job(request: HttpRequest, store_id: int, job_id: int):
    """The job's status and counts, as its progress events carry them."""
    return job_out(get_job(get_store_for(principal_of(request), store_id), job_id))


@router.post("/{store_id}/imports/{job_id}/cancel", response=JobOut)
def cancel(request: HttpRequest, store_id: int, job_id: int):
    """Stop the job: the batches already committed stay, nothing more is written; 409
    `import_ended` when it has already ended."""
    job = get_job(get_store_for(principal_of(request), store_id), job_id)
    if not cancel_job(job=job):
        raise Conflict(
            f"the import has already ended ({job.status})",
            code="import_ended",
            extra={"current_status": job.status},
        )
    return job_out(job)


@router.get("/{store_id}/imports/{job_id}/rows", response=RowPage)
def rows(
    request: HttpRequest,
    store_id: int,
    job_id: int,
    status: RowStatus | None = None,
    cursor: str | None = None,
    limit: int = 100,
):
    """Each row's outcome in file order; `status` keeps one kind (failed, skipped...)."""
    job = get_job(get_store_for(principal_of(request), store_id), job_id)
    found = job_rows(job, status=status)
    if cursor:
        (after,) = decode_cursor(cursor, int)
        found = found.filter(pk__gt=after)
    limit = min(max(limit, 1), 500)
    page, next_cursor = id_page(list(found.order_by("pk")[: limit + 1]), limit)
    return {"items": page, "next_cursor": next_cursor}


@router.get("/{store_id}/imports/{job_id}/errors.csv")
def errors_csv(request: HttpRequest, store_id: int, job_id: int):
    """The failed and skipped rows as they were uploaded, plus their line and an `error`
    column: fix them and upload this file again."""
    job = get_job(get_store_for(principal_of(request), store_id), job_id)
    response = StreamingHttpResponse(error_lines(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


_UPSTREAM_PROBLEM = {
    "description": "Open Food Facts did not answer usably, or lookups are not configured",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


@lookup_router.post(
    "/lookup/{barcode}",
    response={200: LookupOut, 201: LookupOut},
    openapi_extra={"responses": {"502": _UPSTREAM_PROBLEM}},
)
def lookup(request: HttpRequest, barcode: str = Path(..., max_length=32)):
    """The catalog's product for a barcode; when only Open Food Facts knows it, it is
    created from their record, pending review (201).

    404 `unknown_barcode` when nobody knows it (nothing is created); 429
    `openfoodfacts_rate_limited` or `openfoodfacts_throttled` with Retry-After; 502
    `openfoodfacts_unavailable` or `openfoodfacts_not_configured`.
    """
    principal = require_store_staff(principal_of(request))
    result = lookup_barcode(principal=principal, barcode=barcode)
    product = result.product
    if not visible_products(principal).filter(pk=product.pk).exists():
        # Like creating a product with a taken barcode: say who holds it, show nothing more.
        raise Conflict(
            f"barcode {product.barcode} already belongs to product {product.pk}",
            code="duplicate_barcode",
            extra={"existing_product_id": product.pk},
        )
    body = {
        "barcode": product.barcode,
        "created": result.created,
        "source": "openfoodfacts" if result.created else "catalog",
        "product": product,
    }
    return Status(201 if result.created else 200, body)


# --- the shared catalog: Open Food Facts dumps ---------------------------------------------


def catalog_job_out(job: ImportJob) -> dict:
    return {
        **{f.attname: getattr(job, f.attname) for f in ImportJob._meta.concrete_fields},
        "countries": list(job.options.get("countries", [])),
        "categories": list(job.options.get("categories", [])),
    }


def _tags(raw: str) -> list[str]:
    return [tag.strip() for tag in raw.split(",") if tag.strip()]


@catalog_router.post("/imports", response={202: CatalogJobOut})
def upload_dump(
    request: HttpRequest, file: File[UploadedFile], options: Form[CatalogImportOptions]
):
    """Import an Open Food Facts dump (their JSONL dump or tab-separated CSV export,
    gzipped or not) into the shared catalog, keeping the records of the given countries
    and categories; by barcode, so running it again updates and never duplicates."""
    job = start_dump_upload(
        principal=principal_of(request),
        upload=file,
        size=file.size,
        original_name=file.name or "",
        countries=_tags(options.countries),
        categories=_tags(options.categories),
    )
    return Status(202, catalog_job_out(job))


@catalog_router.get("/imports", response=CatalogJobPage)
def list_catalog_jobs(request: HttpRequest, cursor: str | None = None, limit: int = 50):
    """The catalog's imports, newest first."""
    return _newest_first(catalog_jobs(), cursor, limit, catalog_job_out)


@catalog_router.get("/imports/{job_id}", response=CatalogJobOut)
def read_catalog_job(request: HttpRequest, job_id: int):
    """The catalog import's status and counts."""
    return catalog_job_out(get_catalog_job(job_id))


@catalog_router.post("/imports/{job_id}/cancel", response=CatalogJobOut)
def cancel_catalog_job(request: HttpRequest, job_id: int):
    """Stop the import before its next batch; what landed stays. 409 `import_ended` once
    it has ended."""
    job = get_catalog_job(job_id)
    if not cancel_job(job=job):
        raise Conflict(
            f"the import has already ended ({job.status})",
            code="import_ended",
            extra={"current_status": job.status},
        )
    return catalog_job_out(job)
