"""Product images over the API: upload, list, remove; and storing a photo before matching.

Paths are relative to `/api/v1/`. Uploads are multipart with one `file` field; a refused
image answers problem+json with its own `code` (`image_too_large`, `image_not_an_image`,
`image_format_not_allowed`, `image_dimensions_too_large`, `image_corrupt`).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import File, Router, Schema, Status, UploadedFile

from shelfwatch.accounts.authentication import (
    api_auth,
    optional_auth,
    principal_of,
    store_staff_auth,
)
from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog import images
from shelfwatch.catalog.image_files import phash_hex
from shelfwatch.catalog.models import ImageBlob, Product, VerificationStatus
from shelfwatch.catalog.schemas import ImageUrls
from shelfwatch.catalog.selectors import get_product_for, visible_products
from shelfwatch.http.problems import Forbidden, NotFound

images_router = Router(tags=["catalog images"])

# How near a stored picture must be to count as a candidate for "the same product".
SIMILAR_DISTANCE = 6


editor_auth = store_staff_auth


class ImageOut(Schema):
    sha256: str
    width: int
    height: int
    format: str
    size: int
    phash: str
    urls: ImageUrls
    duplicate_of: list[int]


class SimilarProductOut(Schema):
    product_id: int
    distance: int


class StoredImageOut(ImageOut):
    similar: list[SimilarProductOut]


class ProductImageItemOut(Schema):
    sha256: str
    position: int
    width: int
    height: int
    format: str
    phash: str
    urls: ImageUrls


def _blob_out(blob: ImageBlob, *, duplicate_of: list[int]) -> dict:
    return {
        "sha256": blob.sha256,
        "width": blob.width,
        "height": blob.height,
        "format": blob.format,
        "size": blob.size,
        "phash": phash_hex(blob.phash),
        "urls": images.image_urls(blob),
        "duplicate_of": duplicate_of,
    }


def _similar(principal: Principal, blob: ImageBlob, *, exclude: int | None = None):
    return images.products_with_similar_images(
        blob.phash,
        visible_products(principal),
        max_distance=SIMILAR_DISTANCE,
        exclude_product_id=exclude,
    )


def _near_identical(similar: list[tuple[int, int]]) -> list[int]:
    return [pk for pk, distance in similar if distance <= images.NEAR_IDENTICAL_DISTANCE]


@images_router.post(
    "/products/{int:product_id}/images",
    auth=editor_auth,
    response={201: ImageOut},
    summary="Add an image to a product",
)
def add_product_image(request: HttpRequest, product_id: int, file: File[UploadedFile]):
    """Upload a JPEG, PNG or WebP and show it on the product, after its other images.

    Store staff and admins, on products they can see. Uploading a picture the product
    already shows changes nothing. `duplicate_of` lists other products showing a
    near-identical picture; thumbnail and medium URLs are null until they are made.
    """
    principal = principal_of(request)
    product = get_product_for(principal, product_id)
    images.ensure_accepts_images(product)
    blob = images.store_image(data=file)
    images.attach_image(product=product, blob=blob, principal=principal)
    duplicates = _near_identical(_similar(principal, blob, exclude=product.pk))
    return Status(201, _blob_out(blob, duplicate_of=duplicates))


@images_router.get(
    "/products/{int:product_id}/images",
    auth=optional_auth,
    response=list[ProductImageItemOut],
    summary="A product's images",
)
def list_product_images(request: HttpRequest, product_id: int):
    """The product's images in display order (anyone, for a verified product)."""
    product = get_product_for(principal_of(request), product_id)
    return [
        {
            "sha256": image.blob.sha256,
            "position": image.position,
            "width": image.blob.width,
            "height": image.blob.height,
            "format": image.blob.format,
            "phash": phash_hex(image.blob.phash),
            "urls": images.image_urls(image.blob),
        }
        for image in product.images.select_related("blob")
    ]


def _may_remove_images(principal: Principal, product: Product) -> bool:
    if principal.is_admin:
        return True
    # The creator may fix their own product only until a reviewer has verified it.
    return product.created_by_id == principal.user.pk and (
        product.status == VerificationStatus.PENDING
    )


@images_router.delete(
    "/products/{int:product_id}/images/{sha256}",
    auth=api_auth,
    response={204: None},
    summary="Remove an image from a product",
)
def remove_product_image(request: HttpRequest, product_id: int, sha256: str):
    """Stop showing an image on the product (admins, or its creator while it is pending).

    The stored picture stays: other products may show it too.
    """
    principal = principal_of(request)
    product = get_product_for(principal, product_id)
    if not _may_remove_images(principal, product):
        raise Forbidden(
            "only admins, or the product's creator while it is pending, remove images",
            code="image_remove_forbidden",
        )
    if len(sha256) != 64:
        raise NotFound("this product has no such image", code="image_not_found")
    images.detach_image(product=product, sha256=sha256.lower(), principal=principal)
    return Status(204, None)


@images_router.post(
    "/catalog/images",
    auth=editor_auth,
    response={201: StoredImageOut},
    summary="Store a photo before choosing its product",
)
def store_catalog_image(request: HttpRequest, file: File[UploadedFile]):
    """Store a picture without showing it anywhere yet: photo first, then match.

    `similar` lists products you can see that show a picture within a few bits of this
    one, nearest first; pass the `sha256` on to `POST /api/v1/catalog/match`.
    """
    principal = principal_of(request)
    blob = images.store_image(data=file)
    similar = _similar(principal, blob)
    body = _blob_out(blob, duplicate_of=_near_identical(similar))
    body["similar"] = [{"product_id": pk, "distance": d} for pk, d in similar]
    return Status(201, body)
