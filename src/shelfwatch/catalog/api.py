"""`/api/v1/products` and `/api/v1/catalog/`: search, read, create, match, review."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from shelfwatch.accounts.authentication import admin_auth, api_auth, optional_auth, principal_of
from shelfwatch.accounts.permissions import require_principal, require_store_staff
from shelfwatch.catalog import products as product_service
from shelfwatch.catalog import review
from shelfwatch.catalog.images import image_out
from shelfwatch.catalog.matching import find_candidates, likely_duplicates
from shelfwatch.catalog.models import Category, Product, VerificationStatus
from shelfwatch.catalog.product_page import ProductDetail, product_detail
from shelfwatch.catalog.schemas import (
    ApproveIn,
    CategoryIn,
    CategoryOut,
    MatchIn,
    MatchOut,
    MergeIn,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    ProductSummary,
    RejectIn,
    ReviewItemOut,
    ScanOut,
)
from shelfwatch.catalog.search import search_products
from shelfwatch.catalog.search_rows import search_body
from shelfwatch.catalog.selectors import (
    filter_products,
    get_product_for,
    review_queue,
    visible_products,
)
from shelfwatch.http.bounds import BoundedSchema, Id
from shelfwatch.http.problems import Conflict, Forbidden, NotFound

products_router = Router(tags=["catalog"])
catalog_router = Router(tags=["catalog"])


def product_out(product: Product, detail: ProductDetail | None = None) -> dict:
    """The ProductOut body; `detail` (one statement's read) replaces the prefetched rows."""
    if detail is not None:
        regional = detail.regional_names
        blobs = detail.images
    else:
        regional = {}
        for entry in product.regional_names.all():
            regional.setdefault(entry.language, []).append(entry.name)
        blobs = [image.blob for image in product.images.all()]
    return {
        "id": product.pk,
        "name": product.name,
        "brand": product.brand,
        "category": product.category,
        "barcode": product.barcode,
        "net_quantity": product.net_quantity,
        "net_unit": product.net_unit,
        "description": product.description,
        "attributes": product.attributes,
        "regional_names": regional,
        "images": [image_out(blob) for blob in blobs],
        "status": product.status,
        "review_notes": product.review_notes,
        "quality_score": product.quality_score,
        "merged_into": product.merged_into_id,
        "created_by": product.created_by_id,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks for
    GET revalidation) or is `*`."""
    if not if_none_match:
        return False
    tags = parse_etags(if_none_match)
    bare = etag.removeprefix("W/")
    return "*" in tags or any(tag.removeprefix("W/") == bare for tag in tags)


JSON = "application/json; charset=utf-8"
SUMMARY_FIELDS = tuple(
    "category" if name == "category_id" else name for name in ProductSummary.model_fields
)


class ProductFilters(BoundedSchema):
    q: str | None = None
    category: Id | None = None
    brand: str | None = None
    in_stock_at: Id | None = None
    status: VerificationStatus | None = None
    cursor: str | None = None
    limit: int = 20


@products_router.get("", response=ProductPage, auth=optional_auth)
def search(request: HttpRequest, filters: Query[ProductFilters]):
    """Search by name, brand, regional names (any script) or barcode prefix; misspelt
    words are corrected when they match nothing (see `corrected_query`)."""
    principal = principal_of(request)
    limit = min(max(filters.limit, 1), 100)
    narrowed = filters.category is not None or filters.in_stock_at is not None
    if not (narrowed or filters.brand or filters.status):
        # The common shape in one compiled statement, encoded once (search_rows.py).
        body = search_body(principal, q=filters.q, cursor=filters.cursor, limit=limit)
        if body is not None:
            return HttpResponse(body, content_type=JSON)
    products = filter_products(
        # Only the columns a summary shows: the rest (description, attributes, the search
        # text) would be fetched and converted for every row of the page.
        visible_products(principal).only(*SUMMARY_FIELDS),
        category_id=filters.category,
        brand=filters.brand,
        in_stock_at=filters.in_stock_at,
        status=filters.status,
    )
    page = search_products(products, q=filters.q, cursor=filters.cursor, limit=limit)
    if filters.q and not page.products and not filters.cursor:
        request.search_miss = filters.q  # counted by request middleware (analytics)
    return {
        "items": page.products,
        "next_cursor": page.next_cursor,
        "corrected_query": page.corrected_query,
    }


@products_router.post("", response={201: ProductOut}, auth=api_auth)
def create(request: HttpRequest, payload: ProductIn):
    principal = require_store_staff(principal_of(request))
    product = product_service.create_product(principal=principal, **payload.dict())
    return Status(201, product_out(get_product_for(principal, product.pk)))


# Named so request middleware (analytics) can tell a product read by its URL name.
@products_router.get(
    "/{product_id}", response=ProductOut, auth=optional_auth, url_name="catalog-product"
)
def read(request: HttpRequest, response: HttpResponse, product_id: int):
    """One product; a client holding its current ETag gets a 304 with no body."""
    detail = product_detail(principal_of(request), product_id)
    if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), detail.etag):
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = detail.etag
        return not_modified
    response["ETag"] = detail.etag
    return product_out(detail.product, detail)


@products_router.patch("/{product_id}", response=ProductOut, auth=api_auth)
def edit(request: HttpRequest, product_id: int, payload: ProductPatch):
    """Admins edit any product; its creator edits it while it is pending review."""
    principal = require_principal(principal_of(request))
    product = get_product_for(principal, product_id)
    own_pending = (
        product.created_by_id == principal.user.pk and product.status == VerificationStatus.PENDING
    )
    if not (principal.is_admin or own_pending):
        raise Forbidden("only admins edit reviewed products", code="product_locked")
    changes = payload.dict(exclude_unset=True)
    product_service.update_product(principal=principal, product=product, changes=changes)
    return product_out(get_product_for(principal, product_id))


@catalog_router.post("/match", response=MatchOut, auth=api_auth)
def match(request: HttpRequest, payload: MatchIn):
    """Products the catalog already has that look like the one described, best first."""
    principal = require_store_staff(principal_of(request))
    regional = product_service.clean_regional_names(payload.regional_names)
    candidates = find_candidates(
        principal=principal,
        name=payload.name,
        brand=payload.brand,
        net_quantity=payload.net_quantity,
        net_unit=payload.net_unit,
        regional_names=[name for names in regional.values() for name in names],
        barcode=payload.barcode,
        image_sha256=payload.image_sha256,
        limit=payload.limit,
    )
    return {
        "candidates": [c.as_dict() for c in candidates],
        "likely_duplicate": bool(likely_duplicates(candidates)),
    }


@catalog_router.get("/categories", response=list[CategoryOut], auth=optional_auth)
def categories(request: HttpRequest):
    return Category.objects.order_by("path")


@catalog_router.post("/categories", response={201: CategoryOut}, auth=admin_auth)
def create_category(request: HttpRequest, payload: CategoryIn):
    parent = None
    if payload.parent_id is not None:
        parent = Category.objects.filter(pk=payload.parent_id).first()
        if parent is None:
            raise NotFound("no such parent category", code="category_not_found")
        if parent.products.exists():
            raise Conflict(
                "that category holds products; products sit in leaves only",
                code="category_has_products",
            )
    try:
        with transaction.atomic():
            category = Category.objects.create(name=payload.name, slug=payload.slug, parent=parent)
    except IntegrityError:
        raise Conflict("a sibling has that slug", code="category_exists") from None
    return Status(201, category)


@catalog_router.get("/review", response=list[ReviewItemOut], auth=admin_auth)
def review_list(request: HttpRequest, status: VerificationStatus = VerificationStatus.PENDING):
    """The review queue, products used by the most stores first."""
    return [
        {
            "id": p.pk,
            "name": p.name,
            "brand": p.brand,
            "barcode": p.barcode,
            "quality_score": p.quality_score,
            "store_count": p.store_count,
            "created_by": p.created_by.email if p.created_by else None,
            "created_at": p.created_at,
        }
        for p in review_queue(status=status)[:200]
    ]


def _reviewable(product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise NotFound("product not found", code="product_not_found")
    return product


@catalog_router.post("/review/{product_id}/approve", response=ProductOut, auth=admin_auth)
def approve(request: HttpRequest, product_id: int, payload: ApproveIn):
    principal = principal_of(request)
    product = review.approve_product(
        product=_reviewable(product_id), principal=principal, notes=payload.notes
    )
    return product_out(get_product_for(principal, product.pk))


@catalog_router.post("/review/{product_id}/reject", response=ProductOut, auth=admin_auth)
def reject(request: HttpRequest, product_id: int, payload: RejectIn):
    principal = principal_of(request)
    product = review.reject_product(
        product=_reviewable(product_id), principal=principal, reason=payload.reason
    )
    return product_out(get_product_for(principal, product.pk))


@catalog_router.post("/review/{product_id}/merge", response=ProductOut, auth=admin_auth)
def merge(request: HttpRequest, product_id: int, payload: MergeIn):
    """Fold this product into `into`: its stock, images and names move there."""
    principal = principal_of(request)
    duplicate = _reviewable(product_id)
    survivor = _reviewable(payload.into)
    review.merge_products(duplicate=duplicate, survivor=survivor, principal=principal)
    return product_out(get_product_for(principal, survivor.pk))


@catalog_router.post("/scan", response=ScanOut, auth=api_auth)
def scan(request: HttpRequest, file: File[UploadedFile]):
    """Read the barcodes in a photo (for phones without a live scanner) and look them up."""
    from shelfwatch.catalog.scanning import decode_barcodes

    principal = require_store_staff(principal_of(request))
    codes = decode_barcodes(file)
    gtins = [code.gtin for code in codes if code.gtin]
    found = visible_products(principal).filter(barcode__in=gtins, merged_into__isnull=True)
    return {
        "codes": [{"text": c.text, "format": c.format, "gtin": c.gtin} for c in codes],
        "products": list(found),
    }
