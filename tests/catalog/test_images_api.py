"""The image endpoints: who may upload, list and remove, and what a refusal looks like."""

from __future__ import annotations

import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shelfwatch.catalog.models import ImageBlob, Product, ProductImage
from tests.catalog.images_factory import (
    encode,
    jpeg,
    png,
    png_declaring,
    scene,
    stored_files,
    use_media_root,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path):
    settings.THROTTLE_ENABLED = False
    return use_media_root(settings, tmp_path)


@pytest.fixture
def verified(db):
    return Product.objects.create(name="Amul Butter 500 g", brand="Amul", status="verified")


def upload(caller, path: str, data: bytes, name: str = "photo.jpg"):
    body = {"file": SimpleUploadedFile(name, data, "application/octet-stream")}
    return caller.client.post(path, body, headers=caller.headers)


def images_path(product) -> str:
    return f"/api/v1/products/{product.pk}/images"


def test_staff_add_an_image_and_anyone_lists_it(callers, media_root, verified):
    response = upload(callers["staff_a"], images_path(verified), jpeg(seed=1, size=(1000, 800)))

    assert response.status_code == 201, response.content
    body = response.json()
    blob = ImageBlob.objects.get()
    assert body["sha256"] == blob.sha256
    assert (body["width"], body["height"], body["format"]) == (1000, 800, "jpeg")
    assert len(body["phash"]) == 16 and int(body["phash"], 16) >= 0
    assert body["duplicate_of"] == []
    assert body["urls"]["original"] == f"/media/{blob.original}"
    # Renditions come from a task run after commit, which this test transaction never does.
    assert body["urls"]["thumbnail"] is None

    listed = callers["anon"].get(images_path(verified))
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["sha256"] == blob.sha256 and item["position"] == 0


def test_renditions_follow_the_upload(
    callers, media_root, verified, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(callers["admin"], images_path(verified), jpeg(seed=2, size=(1600, 900)))
    assert response.status_code == 201
    [item] = callers["anon"].get(images_path(verified)).json()
    thumbnail = item["urls"]["thumbnail"]
    assert thumbnail.endswith("-thumbnail.webp")
    with Image.open(media_root / thumbnail.removeprefix("/media/")) as image:
        assert image.size == (200, 113)


def test_the_same_picture_twice_is_one_image(callers, media_root, verified):
    data = png(seed=3)
    for _ in range(2):
        assert upload(callers["staff_a"], images_path(verified), data).status_code == 201
    assert ProductImage.objects.filter(product=verified).count() == 1
    assert len(stored_files(media_root)) == 1


def test_a_near_identical_picture_on_another_product_is_reported(callers, media_root, verified):
    original = scene(4, (900, 700))
    assert (
        upload(callers["admin"], images_path(verified), encode(original, "PNG")).status_code == 201
    )
    other = Product.objects.create(name="Amul Butter 0.5 kg", status="verified")

    copy = encode(original.resize((450, 350)), "JPEG", quality=70)
    response = upload(callers["staff_a"], images_path(other), copy)

    assert response.status_code == 201
    assert response.json()["duplicate_of"] == [verified.pk]


def test_who_may_upload(callers, media_root, verified):
    data = jpeg(seed=5)
    assert upload(callers["anon"], images_path(verified), data).status_code == 401
    refused = upload(callers["customer"], images_path(verified), data)
    assert refused.status_code == 403
    assert refused.json()["code"] == "store_staff_required"
    # Another user's pending product is invisible to staff: 404, not 403.
    pending = Product.objects.create(name="Hidden", created_by=callers["users"]["owner_b"])
    hidden = upload(callers["staff_a"], images_path(pending), data)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "product_not_found")
    assert ImageBlob.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"just some text, no picture here", "image_not_an_image"),
        (encode(scene(6, (40, 40)), "GIF"), "image_format_not_allowed"),
        (png_declaring(20000, 20000), "image_dimensions_too_large"),
        (jpeg(seed=6)[:2000], "image_corrupt"),
    ],
    ids=["not-an-image", "gif", "20000x20000", "truncated"],
)
def test_a_refused_upload_is_problem_json_and_changes_nothing(
    callers, media_root, verified, data, code
):
    response = upload(callers["staff_a"], images_path(verified), data)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert ImageBlob.objects.count() == 0 and not verified.images.exists()
    assert stored_files(media_root) == []


def test_too_many_bytes_is_413(callers, media_root, verified, settings):
    data = png(seed=7)
    settings.IMAGE_MAX_BYTES = len(data) - 1
    response = upload(callers["staff_a"], images_path(verified), data)
    assert (response.status_code, response.json()["code"]) == (413, "image_too_large")


def test_who_may_remove(callers, media_root, verified):
    staff = callers["users"]["staff_a"]
    mine = Product.objects.create(name="My pending product", created_by=staff)
    for product in (verified, mine):
        assert upload(callers["admin"], images_path(product), png(seed=8)).status_code == 201
    sha = ImageBlob.objects.get().sha256

    on_verified = callers["staff_a"].delete(f"{images_path(verified)}/{sha}")
    assert (on_verified.status_code, on_verified.json()["code"]) == (403, "image_remove_forbidden")
    assert callers["staff_a"].delete(f"{images_path(mine)}/{sha}").status_code == 204
    assert callers["admin"].delete(f"{images_path(verified)}/{sha}").status_code == 204
    missing = callers["admin"].delete(f"{images_path(verified)}/{sha}")
    assert (missing.status_code, missing.json()["code"]) == (404, "image_not_found")
    assert ImageBlob.objects.filter(pk=sha).exists()  # the picture itself stays


def test_store_a_photo_first_then_see_similar_products(callers, media_root, verified):
    original = scene(9, (800, 800))
    upload(callers["admin"], images_path(verified), encode(original, "PNG"))

    response = upload(callers["staff_a"], "/api/v1/catalog/images", encode(original, "WEBP"))

    assert response.status_code == 201
    body = response.json()
    assert body["similar"] and body["similar"][0]["product_id"] == verified.pk
    assert body["similar"][0]["distance"] <= 4
    assert body["duplicate_of"] == [verified.pk]
    assert ImageBlob.objects.count() == 2  # stored, attached to nothing yet
    assert upload(callers["customer"], "/api/v1/catalog/images", png(seed=10)).status_code == 403


def test_media_are_served_by_the_app_when_asked_to(client, media_root, verified, callers, settings):
    upload(callers["admin"], images_path(verified), png(seed=11))
    blob = ImageBlob.objects.get()

    settings.SERVE_MEDIA = True
    response = client.get(f"/media/{blob.original}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (media_root / blob.original).read_bytes()
    assert "immutable" in response["Cache-Control"]
    assert client.get("/media/images/../../secret_key").status_code == 404  # outside MEDIA_ROOT

    settings.SERVE_MEDIA = False
    assert client.get(f"/media/{blob.original}").status_code == 404


def test_the_app_serves_pictures_but_never_a_stores_import_file(client, media_root, settings):
    from shelfwatch.imports.previews import ROOT, keep_preview

    token = keep_preview(store_id=1, user_id=1, upload=io.BytesIO(b"name,cost_price\nDal,41.50\n"))
    kept = f"{ROOT}/1/1/{token}.csv"
    assert (media_root / kept).exists()
    settings.SERVE_MEDIA = True
    # A supplier's costs and stock are the store's business, even to someone who has the path.
    assert client.get(f"/media/{kept}").status_code == 404
    # Nor by stepping out of the pictures' folder, written plainly or percent-encoded.
    for sneaked in (f"images/../{kept}", f"images/%2e%2e/{kept}", f"images/x/..%2f..%2f{kept}"):
        assert client.get(f"/media/{sneaked}").status_code == 404, sneaked


def test_an_upload_over_a_mebibyte_but_under_the_image_limit_is_taken(
    callers, media_root, verified
):
    rng = random.Random(12)
    noise = Image.frombytes("RGB", (700, 700), rng.randbytes(700 * 700 * 3))
    data = encode(noise, "PNG")
    assert 1024 * 1024 < len(data) < 10 * 1024 * 1024
    response = upload(callers["staff_a"], images_path(verified), data)
    assert response.status_code == 201, response.json()
