"""Pictures made in memory for the image tests: photos, copies, bombs and impostors."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw


def scene(seed: int, size: tuple[int, int] = (640, 480), mode: str = "RGB") -> Image.Image:
    """A picture with structure (so its hash means something), different for each seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    width, height = size
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(width // 2) + 10, y0 + rng.randrange(height // 2) + 10
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
    return image.convert(mode)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(seed: int = 1, size: tuple[int, int] = (640, 480), **options) -> bytes:
    return encode(scene(seed, size), "JPEG", quality=90, **options)


def png(seed: int = 1, size: tuple[int, int] = (640, 480)) -> bytes:
    return encode(scene(seed, size), "PNG")


def webp(seed: int = 1, size: tuple[int, int] = (640, 480)) -> bytes:
    return encode(scene(seed, size), "WEBP", quality=85)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims `width` x `height` pixels.

    The IHDR chunk (and its CRC) is patched, so only a decoder would notice the lie.
    """
    data = bytearray(encode(Image.new("RGB", (8, 8), "white"), "PNG"))
    # Signature (8 bytes), then IHDR: length (4), type (4), width and height (4 each)...
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def with_exif_orientation(seed: int, size: tuple[int, int], orientation: int) -> bytes:
    """A JPEG stored sideways with an EXIF orientation tag, a camera make and GPS data."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PocketCam"
    exif[0x8825] = {1: "N", 2: (18.0, 31.0, 12.0)}  # GPS IFD: a latitude
    return encode(scene(seed, size), "JPEG", quality=90, exif=exif)


def stored_files(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def use_media_root(settings, tmp_path: Path) -> Path:
    """Give a test an empty media directory of its own, and renditions made at once."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return root
