"""Product images: validated uploads stored once under their SHA-256, with a perceptual hash.

Only JPEG, PNG and WebP are taken. Size, dimensions and format are checked from the bytes
and the image header before a single pixel is decoded, so a decompression bomb costs a
header parse. The bytes go to Django's default storage (files or an S3 bucket) under a
name derived from their hash, so the same picture uploaded twice is stored once; the
thumbnail and medium renditions are made by a background task (see `renditions.py`).
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connections, transaction
from django.db.models import IntegerField, Max, QuerySet
from django.db.models.expressions import RawSQL
from PIL import Image, ImageOps, UnidentifiedImageError

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import ImageBlob, Product, ProductImage, VerificationStatus
from shelfwatch.catalog.quality import refresh_quality_score
from shelfwatch.config.problems import ApiError, Conflict, NotFound
from shelfwatch.events.publishing import emit

logger = logging.getLogger("shelfwatch.catalog.images")

# Pillow's format name -> ours (stored in ImageBlob.format) and the file extension.
ALLOWED_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
MAX_IMAGES_PER_PRODUCT = 20
MASK64 = (1 << 64) - 1
# Two pictures this many bits apart (of 64) are the same photo resized or recompressed.
NEAR_IDENTICAL_DISTANCE = 4
# The DIB header sizes a BMP can have, so any text that starts with "BM" is not taken for one.
BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})

# Pillow's own guard as a second line: nothing above our limit is decoded even if a code
# path skipped `inspect_image` (it warns above this and refuses above twice this).
Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS


class ImageRejected(ApiError):
    """An upload refused; `code` says why (nothing was stored)."""

    status = 422
    code = "image_invalid"


@dataclass(frozen=True)
class ImageInfo:
    """What an accepted upload is: format, upright dimensions, perceptual hash."""

    format: str
    width: int
    height: int
    phash: int


# --- validation -----------------------------------------------------------------------------


def read_limited(source: bytes | IO[bytes]) -> bytes:
    """The upload's bytes, refused with 413 `image_too_large` above IMAGE_MAX_BYTES."""
    limit = settings.IMAGE_MAX_BYTES
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(getattr(source, "size", None), int) and source.size > limit:
        data = None  # an upload's declared size: no need to read it
    else:
        if hasattr(source, "seek"):
            source.seek(0)
        # One byte past the limit is enough to know it is too large.
        data = source.read(limit + 1)
    if data is None or len(data) > limit:
        raise ImageRejected(
            f"the image is larger than {limit} bytes", code="image_too_large", status=413
        )
    if not data:
        raise ImageRejected("the file is empty", code="image_not_an_image")
    return data


def _refused_format(data: bytes) -> str | None:
    """The name of a known image format we do not take, from its signature.

    Sniffed rather than opened with every Pillow plugin, so refusing a GIF or a TIFF never
    runs those parsers, and SVG (which Pillow cannot read) is named too.
    """
    head = data[:1024]
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in BMP_HEADER_SIZES:
        return "BMP"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ICO"
    if head[:4] == b"8BPS":
        return "PSD"
    if head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"avif"}:
        return "HEIF/AVIF"
    if head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or head[:4] == b"\xffO\xffQ":
        return "JPEG 2000"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "SVG"
    return None


def _check_dimensions(width: int, height: int) -> None:
    max_side, max_pixels = settings.IMAGE_MAX_SIDE, settings.IMAGE_MAX_PIXELS
    if width > max_side or height > max_side or width * height > max_pixels:
        raise ImageRejected(
            f"the image is {width}x{height} pixels; at most {max_side} a side and "
            f"{max_pixels} in all",
            code="image_dimensions_too_large",
        )


def open_checked(data: bytes) -> Image.Image:
    """Open (header only) one of the allowed formats, mapping Pillow's refusals to ours."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except Image.DecompressionBombError:
        raise ImageRejected(
            f"the image has more than {settings.IMAGE_MAX_PIXELS} pixels",
            code="image_dimensions_too_large",
        ) from None
    except UnidentifiedImageError:
        raise ImageRejected(
            "the file is not a JPEG, PNG or WebP image", code="image_not_an_image"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRejected("the image header is damaged", code="image_corrupt") from None
    _check_dimensions(*image.size)
    return image


def inspect_image(data: bytes) -> ImageInfo:
    """Validate `data` as an allowed, sane, complete image and describe it; raise otherwise."""
    refused = _refused_format(data)
    if refused:
        raise ImageRejected(
            f"{refused} images are not accepted; send JPEG, PNG or WebP",
            code="image_format_not_allowed",
        )
    with open_checked(data) as probe:
        try:
            probe.verify()  # structure and checksums, without decoding pixels
        except Exception:
            raise ImageRejected("the image data is damaged", code="image_corrupt") from None
    with open_checked(data) as image:
        fmt = ALLOWED_FORMATS[image.format]
        width, height = image.size
        # JPEG only: decode at a reduced scale, plenty for a 9x8 hash and much faster.
        image.draft("RGB", (64, 64))
        try:
            image.load()  # a truncated file fails here
        except Exception:
            raise ImageRejected(
                "the image data is truncated or damaged", code="image_corrupt"
            ) from None
        upright = upright_copy(image)
        if upright.size != image.size:  # turned a quarter by its EXIF orientation
            width, height = height, width
        return ImageInfo(format=fmt, width=width, height=height, phash=perceptual_hash(upright))


def upright_copy(image: Image.Image) -> Image.Image:
    """`image` turned as its EXIF orientation says; as it is when that tag is unreadable."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a damaged EXIF block is no reason to refuse the picture
        return image


# --- perceptual hash ------------------------------------------------------------------------


def flatten(image: Image.Image) -> Image.Image:
    """RGB or L with any transparency composited on white, so hashes and renditions agree."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


def perceptual_hash(image: Image.Image) -> int:
    """The 64-bit difference hash (dHash) of `image`, as a signed int for a BIGINT column.

    Grayscale, shrunk to 9x8; bit set where a pixel is brighter than its left neighbour,
    row by row, the first pair in the highest bit. Resizing and recompressing move a few
    bits at most; a different picture differs in about half.
    """
    small = flatten(image).convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = small.tobytes()
    bits = 0
    for row in range(0, 72, 9):
        for col in range(row, row + 8):
            bits = (bits << 1) | (pixels[col + 1] > pixels[col])
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def hamming(a: int, b: int) -> int:
    """How many of the 64 bits two hashes (signed or not) differ in."""
    return ((a ^ b) & MASK64).bit_count()


def phash_hex(phash: int) -> str:
    return f"{phash & MASK64:016x}"


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
    blob = ImageBlob.objects.filter(pk=sha256).first()
    if blob is None:
        info = inspect_image(raw)
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
