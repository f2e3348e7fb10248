"""Checking image bytes before anything is stored, stripping their metadata, and the hash.

Only JPEG, PNG and WebP are taken. Size, dimensions and format are checked from the bytes
and the image header before a single pixel is decoded, so a decompression bomb costs a
header parse. Used by uploads (`images.py`) and by the photo barcode reader.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from shelfwatch.errors import Invalid, TooLarge

# Pillow's format name -> ours (stored in ImageBlob.format) and the file extension.
ALLOWED_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
MASK64 = (1 << 64) - 1
# The DIB header sizes a BMP can have, so any text that starts with "BM" is not taken for one.
BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})

# Pillow's own guard as a second line: nothing above our limit is decoded even if a code
# path skipped `inspect_image` (it warns above this and refuses above twice this).
Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS


class ImageRejected(Invalid):
    """An upload refused; `code` says why (nothing was stored)."""

    code = "image_invalid"


class ImageTooLarge(TooLarge, ImageRejected):
    """An upload refused for its size alone (TooLarge first: that is its status)."""

    code = "image_too_large"


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
        raise ImageTooLarge(f"the image is larger than {limit} bytes")
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


# --- metadata ---------------------------------------------------------------------------------

# JPEG segments kept as they are: JFIF (APP0), ICC colour profiles (APP2 "ICC_PROFILE") and
# Adobe's colour transform (APP14), which decoders need to read the pixels right. Every
# other APPn (EXIF and XMP in APP1, IPTC in APP13, maker notes...) and comments go.
_JPEG_KEPT_APPS = {0xE0, 0xEE}
_JPEG_SOS, _JPEG_COM = 0xDA, 0xFE
# PNG chunks that are only text, time or EXIF.
_PNG_DROPPED = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
_WEBP_DROPPED = {b"EXIF", b"XMP "}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def orientation_of(data: bytes) -> int:
    """The EXIF orientation tag of an image (1, upright, when absent or unreadable)."""
    try:
        with Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
            value = image.getexif().get(0x0112, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def without_metadata(data: bytes, fmt: str) -> bytes:
    """`data` with EXIF (GPS position, camera, serial numbers), XMP, IPTC, text and
    comments removed, turned upright first when its EXIF orientation says so.

    Upright pictures lose only metadata: their image data is kept byte for byte. A turned
    picture is decoded, rotated and encoded again (JPEG at quality 95, its colour profile
    kept), as its orientation lives in the EXIF that goes.
    """
    if orientation_of(data) != 1:
        return _upright_reencoded(data, fmt)
    if fmt == "jpeg":
        return _jpeg_without_metadata(data)
    if fmt == "png":
        return _png_without_metadata(data)
    return _webp_without_metadata(data)


def _upright_reencoded(data: bytes, fmt: str) -> bytes:
    with Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
        icc = image.info.get("icc_profile")
        upright = ImageOps.exif_transpose(image)
        options: dict[str, object] = {"icc_profile": icc} if icc else {}
        if fmt in ("jpeg", "webp"):
            options["quality"] = 95
        out = io.BytesIO()
        # No exif= argument: Pillow writes none unless given one.
        upright.save(out, {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt], **options)
    return out.getvalue()


def _jpeg_without_metadata(data: bytes) -> bytes:
    out = bytearray(data[:2])  # SOI
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break  # not a marker where one belongs: keep the rest as it is
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _JPEG_SOS:
            break  # entropy-coded data follows: copied whole below
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        end = pos + 2 + length
        segment = data[pos:end]
        is_app = 0xE0 <= marker <= 0xEF
        keep = not (is_app or marker == _JPEG_COM) or marker in _JPEG_KEPT_APPS
        if marker == 0xE2 and segment[4:16] == b"ICC_PROFILE\x00":
            keep = True
        if keep:
            out += segment
        pos = end
    out += data[pos:]
    return bytes(out)


def _png_without_metadata(data: bytes) -> bytes:
    out = bytearray(data[:8])  # signature
    pos = 8
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length  # length, type, data, CRC
        if kind not in _PNG_DROPPED:
            out += data[pos:end]
        pos = end
        if kind == b"IEND":
            break
    return bytes(out)


def _webp_without_metadata(data: bytes) -> bytes:
    chunks = bytearray()
    pos = 12  # "RIFF", size, "WEBP"
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        end = pos + 8 + length + (length & 1)  # chunks are padded to even sizes
        chunk = bytearray(data[pos:end])
        if kind == b"VP8X" and len(chunk) > 8:
            chunk[8] &= ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF  # the flags saying they follow
        if kind not in _WEBP_DROPPED:
            chunks += chunk
        pos = end
    return b"RIFF" + struct.pack("<I", len(chunks) + 4) + b"WEBP" + bytes(chunks)


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
    """The 64-bit hash as 16 lowercase hex digits, the stored signed value read as unsigned."""
    return f"{phash & MASK64:016x}"
