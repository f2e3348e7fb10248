"""Product images kept in an S3-compatible bucket (moto's server on 127.0.0.1).

What an operator relies on with MEDIA_S3_BUCKET: uploads and their renditions land in the
bucket, a picture is stored once whoever sends it, and the URLs the API hands out are
signed links that really fetch the picture from the bucket.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shelfwatch.catalog.images import image_urls
from shelfwatch.catalog.models import ImageBlob, Product
from tests.catalog.images_factory import jpeg, png

pytestmark = pytest.mark.django_db


@pytest.fixture
def verified(db, settings):
    settings.THROTTLE_ENABLED = False
    # Renditions are made as soon as the upload commits, by the task a worker would run.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return Product.objects.create(name="Amul Butter 500 g", brand="Amul", status="verified")


def upload(caller, product, data: bytes, name: str = "photo.jpg"):
    body = {"file": SimpleUploadedFile(name, data, "application/octet-stream")}
    return caller.client.post(f"/api/v1/products/{product.pk}/images", body, headers=caller.headers)


def test_an_upload_and_its_renditions_land_in_the_bucket(
    callers, s3_media, verified, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(callers["staff_a"], verified, jpeg(seed=11, size=(1600, 900)))

    assert response.status_code == 201, response.content
    blob = ImageBlob.objects.get()
    assert blob.renditions_ready
    assert s3_media.keys("images/") == sorted([blob.original, blob.thumbnail, blob.medium])
    with Image.open(io.BytesIO(s3_media.read(blob.thumbnail))) as thumbnail:
        assert thumbnail.format == "WEBP" and thumbnail.size == (200, 113)


def test_the_same_picture_from_two_people_is_one_object(callers, s3_media, verified):
    other = Product.objects.create(name="Amul Butter 100 g", brand="Amul", status="verified")
    data = png(seed=12)

    first = upload(callers["staff_a"], verified, data)
    second = upload(callers["admin"], other, data, name="again.png")

    assert first.status_code == second.status_code == 201
    assert first.json()["sha256"] == second.json()["sha256"]
    assert s3_media.keys("images/") == [ImageBlob.objects.get().original]


def test_image_urls_are_signed_links_that_download_the_picture(
    callers, s3_media, verified, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload(callers["staff_a"], verified, jpeg(seed=13, size=(900, 900)))
    blob = ImageBlob.objects.get()

    [listed] = callers["anon"].get(f"/api/v1/products/{verified.pk}/images").json()

    assert listed["urls"].keys() == image_urls(blob).keys()
    for kind, key in (
        ("original", blob.original),
        ("thumbnail", blob.thumbnail),
        ("medium", blob.medium),
    ):
        url = listed["urls"][kind]
        assert url.startswith(s3_media.endpoint.url + "/")
        query = parse_qs(urlsplit(url).query)
        assert "X-Amz-Signature" in query and query["X-Amz-Expires"] == ["600"]
        fetched = httpx.get(url, timeout=10)
        assert fetched.status_code == 200
        assert fetched.content == s3_media.read(key)


def test_an_unsigned_link_to_a_private_object_is_refused(callers, s3_media, verified):
    upload(callers["staff_a"], verified, jpeg(seed=14))
    url = image_urls(ImageBlob.objects.get())["original"]

    bare = httpx.get(url.split("?", 1)[0], timeout=10)

    # The signature is what opens a private bucket: without it the store says no.
    assert bare.status_code == 403
