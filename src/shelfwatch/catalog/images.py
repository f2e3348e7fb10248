"""Product images: validated uploads stored once under their SHA-256, with a perceptual hash.

The bytes are checked first (`image_files.py`), then go to Django's default storage (files
or an S3 bucket) under a name derived from their hash, so the same picture uploaded twice
is stored once; the thumbnail and medium renditions are made by a background task (see
`renditions.py`).
"""

from __future__ import annotations

import hashlib
import logging
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connections, transaction
from django.db.models import IntegerField, Max, QuerySet
from django.db.models.expressions import RawSQL

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.image_files import (
    EXTENSIONS,
    MASK64,
    inspect_image,
    read_limited,
    without_metadata,
)
from shelfwatch.catalog.models import ImageBlob, Product, ProductImage, VerificationStatus
from shelfwatch.catalog.quality import refresh_quality_score
from shelfwatch.errors import Conflict, NotFound
from shelfwatch.events.publishing import emit

logger = logging.getLogger("shelfwatch.catalog.images")

MAX_IMAGES_PER_PRODUCT = 20
# Two pictures this many bits apart (of 64) are the same photo resized or recompressed.
NEAR_IDENTICAL_DISTANCE = 4


# --- storage --------------------------------------------------------------------------------


def blob_prefix(sha256: str) -> str:
    """`images/ab/cd/<sha256>`: two directory levels keep any one directory small."""
    return f"images/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def put_file(name: str, data: bytes) -> None:
    """Store `data` under exactly `name`, once; safe when another process does the same.

    The content is fixed by the name, so an existing file of the right size is ours; one of
    another size is what a crash mid-write left behind and is replaced.
    """
    storage = default_storage
    if storage.exists(name):
        if storage.size(name) == len(data):
            return
        logger.warning("replacing partial file %s", name)
        storage.delete(name)
    saved = storage.save(name, ContentFile(data))
    if saved != name:
        # Another process wrote the same bytes under `name` in the meantime: keep that one.
        storage.delete(saved)


def store_image(*, data: bytes | IO[bytes]) -> ImageBlob:
    """Validate an upload and store it once by content; the blob, new or existing.

    Raises ImageRejected (nothing stored) for anything but a sane JPEG, PNG or WebP. A new
    blob gets its renditions from a task enqueued once the transaction commits.
    """
    raw = read_limited(data)
    sha256 = hashlib.sha256(raw).hexdigest()
    # Stored originals carry no metadata, so bytes equal to one are already clean.
    blob = ImageBlob.objects.filter(pk=sha256).first()
    if blob is None:
        info = inspect_image(raw)
        # The original is kept without EXIF (GPS position, camera) and other metadata, and
        # addressed by what is kept: the same photo with other metadata is one blob.
        raw = without_metadata(raw, info.format)
        sha256 = hashlib.sha256(raw).hexdigest()
        blob = ImageBlob.objects.filter(pk=sha256).first()
    if blob is None:
        # File first, row second: a row never names a missing file, and a file whose row
        # was rolled back is simply reused by the next upload of the same bytes.
        name = f"{blob_prefix(sha256)}.{EXTENSIONS[info.format]}"
        put_file(name, raw)
        blob, _ = ImageBlob.objects.get_or_create(
            sha256=sha256,
            defaults={
                "format": info.format,
                "width": info.width,
                "height": info.height,
                "size": len(raw),
                "phash": info.phash,
                "original": name,
            },
        )
    if not blob.renditions_ready:
        # Also for an existing blob: re-uploading heals renditions whose task was lost.
        transaction.on_commit(lambda: _enqueue_renditions(sha256))
    return blob


def _enqueue_renditions(sha256: str) -> None:
    from shelfwatch.catalog.tasks import make_renditions

    make_renditions.enqueue(sha256)


def image_urls(blob: ImageBlob) -> dict[str, str | None]:
    """Public URLs of the original and its renditions (None until a rendition exists)."""
    url = default_storage.url
    return {
        "original": url(blob.original),
        "thumbnail": url(blob.thumbnail) if blob.thumbnail else None,
        "medium": url(blob.medium) if blob.medium else None,
    }


def image_out(blob: ImageBlob) -> dict[str, object]:
    """The API's short description of a stored picture."""
    return {
        "sha256": blob.sha256,
        "width": blob.width,
        "height": blob.height,
        "urls": image_urls(blob),
    }


# --- near-duplicates ------------------------------------------------------------------------


def similar_blobs(
    phash: int, *, max_distance: int = 6, limit: int = 20
) -> list[tuple[ImageBlob, int]]:
    """Blobs whose hash is within `max_distance` bits of `phash`, nearest first.

    No index prunes Hamming distance, so this is one scan of the hash column: in SQL on
    PostgreSQL (`bit_count`, ~15 ms for 100,000 blobs), else fetched and compared in
    Python (`int.bit_count`, ~45 ms for 100,000 blobs on SQLite).
    """
    if connections[ImageBlob.objects.db].vendor == "postgresql":
        distance = RawSQL(
            "bit_count((phash # (%s)::bigint)::bit(64))", (phash,), output_field=IntegerField()
        )
        found = (
            ImageBlob.objects.annotate(distance=distance)
            .filter(distance__lte=max_distance)
            .order_by("distance", "sha256")[:limit]
        )
        return [(blob, blob.distance) for blob in found]
    near: dict[int, int] = {}
    for value in ImageBlob.objects.values_list("phash", flat=True).order_by():
        distance = ((value ^ phash) & MASK64).bit_count()
        if distance <= max_distance:
            near[value] = distance
    if not near:
        return []
    # Each hash belongs to at least one blob, so the `limit` nearest hashes (and any tied
    # with the last of them, for a stable order) are enough.
    cutoff = sorted(near.values())[: max(limit, 1)][-1]
    blobs = ImageBlob.objects.filter(phash__in=[v for v, d in near.items() if d <= cutoff])
    ranked = sorted(((blob, near[blob.phash]) for blob in blobs), key=lambda p: (p[1], p[0].pk))
    return ranked[:limit]


def products_with_similar_images(
    phash: int,
    products: QuerySet[Product],
    *,
    max_distance: int = 6,
    exclude_product_id: int | None = None,
) -> list[tuple[int, int]]:
    """(product id, distance) for products in `products` showing a picture near `phash`."""
    distances = {blob.pk: d for blob, d in similar_blobs(phash, max_distance=max_distance)}
    if not distances:
        return []
    rows = ProductImage.objects.filter(
        blob_id__in=list(distances),
        product__in=products.filter(merged_into__isnull=True).values("pk"),
    ).values_list("product_id", "blob_id")
    best: dict[int, int] = {}
    for product_id, blob_id in rows:
        if product_id != exclude_product_id:
            best[product_id] = min(best.get(product_id, 64), distances[blob_id])
    return sorted(best.items(), key=lambda item: (item[1], item[0]))


# --- products -------------------------------------------------------------------------------


def _topics(product: Product, principal: Principal) -> list[str]:
    # A pending product is only the uploader's business until it is verified.
    if product.status == VerificationStatus.VERIFIED:
        return [f"product:{product.pk}"]
    return [f"user:{principal.user.pk}"]


def ensure_accepts_images(product: Product) -> None:
    """Raise 409 if `product` cannot take another image (merged away, or full)."""
    if product.is_merged:
        raise Conflict("this product was merged into another", code="product_merged")
    if ProductImage.objects.filter(product=product).count() >= MAX_IMAGES_PER_PRODUCT:
        raise Conflict(
            f"a product shows at most {MAX_IMAGES_PER_PRODUCT} images", code="too_many_images"
        )


def attach_image(*, product: Product, blob: ImageBlob, principal: Principal) -> ProductImage:
    """Show `blob` on `product`, after its other images; attaching it again changes nothing."""
    with transaction.atomic():
        # Row lock (PostgreSQL) so concurrent uploads to one product get distinct positions.
        Product.objects.select_for_update().filter(pk=product.pk).first()
        existing = ProductImage.objects.filter(product=product, blob=blob).first()
        if existing is not None:
            return existing
        ensure_accepts_images(product)
        last = ProductImage.objects.filter(product=product).aggregate(last=Max("position"))
        last = last["last"]
        try:
            with transaction.atomic():
                image = ProductImage.objects.create(
                    product=product,
                    blob=blob,
                    position=0 if last is None else last + 1,
                    uploaded_by=principal.user,
                )
        except IntegrityError:
            return ProductImage.objects.get(product=product, blob=blob)
        refresh_quality_score(product)
        emit(
            type="catalog.image_added",
            payload={"product_id": product.pk, "sha256": blob.pk, "position": image.position},
            topics=_topics(product, principal),
        )
    return image


def detach_image(*, product: Product, sha256: str, principal: Principal) -> None:
    """Stop showing an image on `product`; the blob stays, other products may share it."""
    with transaction.atomic():
        deleted, _ = ProductImage.objects.filter(product=product, blob_id=sha256).delete()
        if not deleted:
            raise NotFound("this product has no such image", code="image_not_found")
        refresh_quality_score(product)
        emit(
            type="catalog.image_removed",
            payload={"product_id": product.pk, "sha256": sha256},
            topics=_topics(product, principal),
        )
