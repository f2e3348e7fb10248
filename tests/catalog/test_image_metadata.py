"""Stored image originals keep no EXIF or other metadata; a turned photo is stored upright."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shelfwatch.catalog.models import ImageBlob, Product
from tests.catalog.images_factory import encode, scene, use_media_root

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825


@pytest.fixture
def media_root(settings, tmp_path):
    settings.THROTTLE_ENABLED = False
    return use_media_root(settings, tmp_path)


@pytest.fixture
def product(db):
    return Product.objects.create(name="Amul Butter 500 g", brand="Amul", status="verified")


def upload(caller, product, data: bytes, name: str = "photo.jpg") -> ImageBlob:
    body = {"file": SimpleUploadedFile(name, data, "application/octet-stream")}
    response = caller.client.post(
        f"/api/v1/products/{product.pk}/images", body, headers=caller.headers
    )
    assert response.status_code == 201, response.content
    return ImageBlob.objects.get(sha256=response.json()["sha256"])


def stored(media_root, blob: ImageBlob) -> bytes:
    return (media_root / blob.original).read_bytes()


def marked_scene(size: tuple[int, int]) -> Image.Image:
    """A picture with a pure red block in its top-left corner, to see where it ends up."""
    image = scene(5, size)
    image.paste((255, 0, 0), (0, 0, 40, 40))
    return image


def is_red(pixel) -> bool:
    red, green, blue = pixel[:3]
    return red > 200 and green < 60 and blue < 60


def test_a_sideways_gps_tagged_jpeg_is_stored_upright_without_exif(callers, media_root, product):
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show the picture rotated 90 degrees clockwise
    exif[0x010F] = "PocketCam"
    exif[GPS_IFD] = {1: "N", 2: (18.0, 31.0, 12.0), 3: "E", 4: (73.0, 51.0, 24.0)}
    data = encode(marked_scene((300, 200)), "JPEG", quality=95, exif=exif)
    assert b"PocketCam" in data and Image.open(io.BytesIO(data)).getexif()  # the upload has it

    blob = upload(callers["staff_a"], product, data)

    original = stored(media_root, blob)
    assert b"Exif\x00\x00" not in original and b"PocketCam" not in original
    with Image.open(io.BytesIO(original)) as image:
        assert not image.getexif()
        assert image.size == (200, 300) == (blob.width, blob.height)
        upright = image.convert("RGB")
        # Turned clockwise, the top-left corner is now the top-right one.
        assert is_red(upright.getpixel((200 - 10, 10)))
        assert not is_red(upright.getpixel((10, 10)))
    assert blob.size == len(original)


def test_an_upright_jpeg_loses_its_exif_but_not_a_bit_of_its_image(callers, media_root, product):
    exif = Image.Exif()
    exif[0x010F] = "PocketCam"
    exif[GPS_IFD] = {1: "N", 2: (18.0, 31.0, 12.0)}
    picture = marked_scene((320, 240))
    data = encode(picture, "JPEG", quality=90, exif=exif, comment=b"shot at home")

    blob = upload(callers["staff_a"], product, data)

    original = stored(media_root, blob)
    assert b"PocketCam" not in original and b"shot at home" not in original
    with Image.open(io.BytesIO(original)) as clean, Image.open(io.BytesIO(data)) as sent:
        assert not clean.getexif()
        assert clean.tobytes() == sent.tobytes()  # the same pixels: nothing re-encoded


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_lose_their_exif(callers, media_root, product, fmt):
    exif = Image.Exif()
    exif[0x010F] = "PocketCam"
    exif[GPS_IFD] = {1: "N", 2: (18.0, 31.0, 12.0)}
    options = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(marked_scene((160, 120)), fmt, exif=exif, **options)
    assert b"PocketCam" in data

    blob = upload(callers["staff_a"], product, data, name=f"photo.{fmt.lower()}")

    original = stored(media_root, blob)
    assert b"PocketCam" not in original
    with Image.open(io.BytesIO(original)) as clean, Image.open(io.BytesIO(data)) as sent:
        assert not clean.getexif()
        assert clean.convert("RGB").tobytes() == sent.convert("RGB").tobytes()


def test_the_same_photo_with_other_metadata_is_one_image(callers, media_root, product):
    picture = marked_scene((200, 150))
    first = Image.Exif()
    first[0x010F] = "PocketCam"
    second = Image.Exif()
    second[0x010F] = "OtherCam"
    a = upload(callers["staff_a"], product, encode(picture, "JPEG", quality=90, exif=first))
    b = upload(callers["staff_a"], product, encode(picture, "JPEG", quality=90, exif=second))
    assert a.pk == b.pk and ImageBlob.objects.count() == 1
