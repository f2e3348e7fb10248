"""Thumbnail and medium renditions of a stored image, made once in the background.

Each rendition is a WebP turned upright by the original's EXIF orientation and carrying
no EXIF of its own (camera, time and GPS stay private), stored next to the original as
`images/ab/cd/<sha256>-thumbnail.webp`. Making them again is harmless: existing files are
reused and the blob row is only filled in, so a run that crashed half-way simply finishes.
"""

from __future__ import annotations

import io

from django.core.files.storage import default_storage
from PIL import Image

from shelfwatch.catalog.image_files import ALLOWED_FORMATS, flatten, upright_copy
from shelfwatch.catalog.images import blob_prefix, put_file
from shelfwatch.catalog.models import ImageBlob

# Name -> the box the rendition fits in; it is never enlarged beyond the original.
RENDITIONS = {"thumbnail": (200, 200), "medium": (800, 800)}
WEBP_QUALITY = 82


def rendition_name(sha256: str, kind: str) -> str:
    """The storage name of the `kind` rendition of the image `sha256`, next to the original."""
    return f"{blob_prefix(sha256)}-{kind}.webp"


def _encode(image: Image.Image, box: tuple[int, int], icc_profile: bytes | None) -> bytes:
    copy = image.copy()
    copy.thumbnail(box, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # Only the colour profile travels; EXIF and other metadata are left behind.
    options = {"icc_profile": icc_profile} if icc_profile else {}
    copy.save(out, "WEBP", quality=WEBP_QUALITY, method=4, **options)
    return out.getvalue()


def _rendition_base(image: Image.Image) -> Image.Image:
    upright = upright_copy(image)
    if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
        return upright.convert("RGBA")  # WebP keeps transparency
    return flatten(upright).convert("RGB")


def make_renditions(sha256: str) -> dict[str, str]:
    """Make the missing renditions of blob `sha256`; {kind: storage name} of all of them.

    An unknown blob gives {} (it was never committed, or was removed).
    """
    blob = ImageBlob.objects.filter(pk=sha256).first()
    if blob is None:
        return {}
    if blob.renditions_ready:
        return {"thumbnail": blob.thumbnail, "medium": blob.medium}
    with default_storage.open(blob.original, "rb") as handle:
        data = handle.read()
    with Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
        largest = max(RENDITIONS.values())
        image.draft("RGB", largest)  # JPEG: decode at the smallest scale still big enough
        image.load()
        icc_profile = image.info.get("icc_profile")
        base = _rendition_base(image)
        names = {}
        for kind, box in RENDITIONS.items():
            name = rendition_name(sha256, kind)
            put_file(name, _encode(base, box, icc_profile))
            names[kind] = name
    ImageBlob.objects.filter(pk=sha256).update(**names)
    return names
