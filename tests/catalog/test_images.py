"""Storing product images: validation, content addressing, hashes, renditions, products."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shelfwatch.catalog import images, renditions
from shelfwatch.catalog.image_files import ImageRejected, hamming, perceptual_hash, phash_hex
from shelfwatch.catalog.images import store_image
from shelfwatch.catalog.models import ImageBlob, Product, ProductImage
from shelfwatch.events.models import Event
from shelfwatch.http.problems import status_of
from tests.catalog.images_factory import (
    encode,
    jpeg,
    png,
    png_declaring,
    scene,
    stored_files,
    use_media_root,
    webp,
    with_exif_orientation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path):
    return use_media_root(settings, tmp_path)


def refused(data, code: str, status: int = 422) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        store_image(data=data)
    assert (caught.value.code, status_of(caught.value)) == (code, status)
    return caught.value


# --- accepted uploads -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "fmt", "ext"), [(jpeg, "jpeg", "jpg"), (png, "png", "png"), (webp, "webp", "webp")]
)
def test_jpeg_png_and_webp_are_stored_under_their_sha256(media_root, make, fmt, ext):
    data = make(seed=3, size=(320, 240))
    sha = hashlib.sha256(data).hexdigest()

    blob = store_image(data=data)

    assert (blob.sha256, blob.format, blob.width, blob.height) == (sha, fmt, 320, 240)
    assert blob.size == len(data)
    assert blob.original == f"images/{sha[:2]}/{sha[2:4]}/{sha}.{ext}"
    assert (media_root / blob.original).read_bytes() == data


def test_the_same_bytes_uploaded_twice_are_stored_once(media_root):
    data = jpeg(seed=4)
    first = store_image(data=data)
    second = store_image(data=SimpleUploadedFile("again.jpg", data, "image/jpeg"))

    assert second.pk == first.pk
    assert ImageBlob.objects.count() == 1
    assert stored_files(media_root) == [first.original]


def test_a_file_left_by_an_earlier_rolled_back_upload_is_reused(media_root):
    data = png(seed=5)
    blob = store_image(data=data)
    ImageBlob.objects.all().delete()  # the row is gone, the file stays

    again = store_image(data=data)

    assert again.original == blob.original
    assert stored_files(media_root) == [blob.original]


def test_a_partial_file_left_by_a_crash_is_replaced(media_root):
    data = png(seed=6)
    sha = hashlib.sha256(data).hexdigest()
    name = f"images/{sha[:2]}/{sha[2:4]}/{sha}.png"
    (media_root / name).parent.mkdir(parents=True)
    (media_root / name).write_bytes(data[:100])

    store_image(data=data)

    assert (media_root / name).read_bytes() == data
    assert stored_files(media_root) == [name]


def test_exif_orientation_gives_the_upright_dimensions(media_root):
    blob = store_image(data=with_exif_orientation(7, (300, 100), orientation=6))
    assert (blob.width, blob.height) == (100, 300)


def _sixteen_bit_png() -> bytes:
    gray = scene(8, (120, 90), mode="L")
    return encode(gray.convert("I").point(lambda value: value * 256).convert("I;16"), "PNG")


@pytest.mark.parametrize(
    "make",
    [
        lambda: encode(scene(8, (120, 90), mode="CMYK"), "JPEG"),
        lambda: encode(scene(8, (120, 90), mode="L"), "JPEG"),
        _sixteen_bit_png,
        lambda: encode(scene(8, (120, 90), mode="P"), "PNG", transparency=0),
        lambda: encode(scene(8, (120, 90), mode="LA"), "PNG"),
        lambda: encode(scene(8, (120, 90), mode="1"), "PNG"),
    ],
    ids=["cmyk-jpeg", "gray-jpeg", "16-bit-png", "palette-png", "gray-alpha-png", "1-bit-png"],
)
def test_unusual_colour_modes_are_taken_and_rendered(media_root, make):
    colour = scene(8, (120, 90))
    blob = store_image(data=make())
    assert (blob.width, blob.height) == (120, 90)
    assert hamming(blob.phash, perceptual_hash(colour)) <= 16  # a recognisable likeness
    names = renditions.make_renditions(blob.pk)
    with Image.open(media_root / names["thumbnail"]) as thumbnail:
        assert thumbnail.size == (120, 90)


# --- refused uploads: each its own code, and nothing changes ---------------------------------


@pytest.fixture
def nothing_changes(media_root):
    yield
    assert ImageBlob.objects.count() == 0
    assert stored_files(media_root) == []


def test_bytes_that_are_not_an_image(nothing_changes):
    refused(b"%PDF-1.7 definitely not a picture" * 10, "image_not_an_image")
    refused(b"", "image_not_an_image")


@pytest.mark.parametrize(
    "data",
    [
        encode(scene(1, (64, 64)), "GIF"),
        encode(scene(1, (64, 64)), "BMP"),
        encode(scene(1, (64, 64)), "TIFF"),
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>',
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    ],
    ids=["gif", "bmp", "tiff", "svg-xml", "svg"],
)
def test_other_image_formats_are_refused(nothing_changes, data):
    refused(data, "image_format_not_allowed")


def test_20000_by_20000_pixels_is_refused_without_decoding(nothing_changes, monkeypatch):
    bomb = png_declaring(20000, 20000)

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    refused(bomb, "image_dimensions_too_large")


# Pillow warns about 7000x7000 while opening the header; it is refused right after.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(("width", "height"), [(8001, 10), (10, 8001), (7000, 7000)])
def test_one_side_or_the_pixel_count_over_the_limit_is_refused(nothing_changes, width, height):
    refused(png_declaring(width, height), "image_dimensions_too_large")


def test_limits_come_from_settings(nothing_changes, settings):
    settings.IMAGE_MAX_SIDE = 100
    refused(png(size=(101, 50)), "image_dimensions_too_large")
    settings.IMAGE_MAX_SIDE, settings.IMAGE_MAX_PIXELS = 1000, 5000
    refused(png(size=(100, 51)), "image_dimensions_too_large")


def test_too_many_bytes_is_413(nothing_changes, settings):
    data = png(seed=2)
    settings.IMAGE_MAX_BYTES = len(data) - 1
    refused(data, "image_too_large", status=413)
    refused(SimpleUploadedFile("big.png", data, "image/png"), "image_too_large", status=413)


@pytest.mark.parametrize("make", [jpeg, png, webp], ids=["jpeg", "png", "webp"])
def test_a_truncated_image_is_corrupt(nothing_changes, make):
    data = make(seed=9)
    refused(data[: len(data) * 2 // 3], "image_corrupt")


def test_a_png_with_a_broken_checksum_is_corrupt(nothing_changes):
    data = bytearray(png(seed=9))
    data[len(data) // 2] ^= 0xFF  # inside the image data, whose chunk CRC no longer matches
    refused(bytes(data), "image_corrupt")


# --- perceptual hash ------------------------------------------------------------------------


def test_a_resized_recompressed_copy_hashes_within_a_few_bits():
    original = scene(11, (1200, 900))
    copy = Image.open(io.BytesIO(encode(original.resize((400, 300)), "JPEG", quality=60)))
    different = scene(12, (1200, 900))

    assert hamming(perceptual_hash(original), perceptual_hash(copy)) <= 3
    assert hamming(perceptual_hash(original), perceptual_hash(different)) >= 16


def test_the_hash_is_a_signed_64_bit_int_and_hamming_ignores_sign():
    hashes = [perceptual_hash(scene(seed, (90, 80))) for seed in range(40)]
    assert all(-(2**63) <= value < 2**63 for value in hashes)
    assert any(value < 0 for value in hashes)
    assert hamming(-1, 0) == 64
    assert hamming(-(2**63), 2**63 - 1) == 64
    assert phash_hex(-1) == "f" * 16


def test_transparency_is_hashed_as_on_white():
    rgba = scene(13, (200, 200), mode="RGBA")
    rgba.putalpha(Image.new("L", rgba.size, 0).point(lambda _: 0))  # fully transparent
    assert perceptual_hash(rgba) == perceptual_hash(Image.new("RGB", (200, 200), "white"))


def test_similar_blobs_finds_near_copies_nearest_first(media_root):
    original = scene(21, (800, 600))
    exact = store_image(data=encode(original, "PNG"))
    near = store_image(data=encode(original.resize((400, 300)), "JPEG", quality=70))
    far = store_image(data=jpeg(seed=22))

    found = images.similar_blobs(exact.phash, max_distance=6)

    assert [blob.pk for blob, _ in found][:1] == [exact.pk]
    assert near.pk in {blob.pk for blob, _ in found}
    assert far.pk not in {blob.pk for blob, _ in found}
    distances = [distance for _, distance in found]
    assert distances == sorted(distances) and distances[0] == 0
    assert len(images.similar_blobs(exact.phash, max_distance=6, limit=1)) == 1


# --- renditions -----------------------------------------------------------------------------


def test_renditions_are_made_after_commit(media_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        blob = store_image(data=jpeg(seed=31, size=(1600, 1200)))
    blob.refresh_from_db()

    assert blob.renditions_ready
    sizes = {}
    for kind in ("thumbnail", "medium"):
        name = getattr(blob, kind)
        assert name == f"images/{blob.pk[:2]}/{blob.pk[2:4]}/{blob.pk}-{kind}.webp"
        with Image.open(media_root / name) as rendition:
            assert rendition.format == "WEBP"
            sizes[kind] = rendition.size
    assert sizes == {"thumbnail": (200, 150), "medium": (800, 600)}
    urls = images.image_urls(blob)
    assert urls["thumbnail"] == f"/media/{blob.thumbnail}"
    assert urls["original"] == f"/media/{blob.original}"


def test_urls_are_null_until_renditions_exist(media_root):
    blob = store_image(data=png(seed=32))  # on_commit never runs in this test transaction
    assert images.image_urls(blob)["thumbnail"] is None
    assert images.image_urls(blob)["medium"] is None


def test_renditions_are_upright_and_carry_no_exif(media_root):
    blob = store_image(data=with_exif_orientation(33, (1200, 400), orientation=6))
    names = renditions.make_renditions(blob.pk)

    with Image.open(media_root / names["thumbnail"]) as thumbnail:
        assert thumbnail.size == (67, 200)
        assert not thumbnail.getexif()
    with Image.open(media_root / names["medium"]) as medium:
        assert medium.size == (267, 800)
        assert not medium.getexif()


def test_a_small_picture_is_not_enlarged_and_keeps_transparency(media_root):
    picture = scene(34, (120, 90), mode="RGBA")
    picture.putalpha(128)
    blob = store_image(data=encode(picture, "PNG"))
    names = renditions.make_renditions(blob.pk)
    with Image.open(media_root / names["medium"]) as medium:
        assert medium.size == (120, 90)
        assert medium.mode == "RGBA"


def test_making_renditions_again_is_harmless_and_finishes_a_crashed_run(media_root):
    blob = store_image(data=jpeg(seed=35, size=(900, 900)))
    first = renditions.make_renditions(blob.pk)
    thumbnail = media_root / first["thumbnail"]
    whole = thumbnail.read_bytes()
    # A crash after writing half the thumbnail, before the row was updated.
    thumbnail.write_bytes(whole[: len(whole) // 2])
    (media_root / first["medium"]).unlink()
    ImageBlob.objects.filter(pk=blob.pk).update(thumbnail="", medium="")

    again = renditions.make_renditions(blob.pk)

    assert again == first
    assert thumbnail.read_bytes() == whole
    assert (media_root / first["medium"]).exists()
    files = stored_files(media_root)
    assert renditions.make_renditions(blob.pk) == first
    assert stored_files(media_root) == files
    assert renditions.make_renditions("0" * 64) == {}


# --- products -------------------------------------------------------------------------------


@pytest.fixture
def staff_principal(callers):
    from shelfwatch.accounts.principal import Principal

    return Principal(user=callers["users"]["staff_a"], method="jwt")


def test_attach_puts_images_in_order_once_and_scores_the_product(media_root, staff_principal):
    product = Product.objects.create(name="Amul Butter 500 g", status="verified")
    first = store_image(data=jpeg(seed=41))
    second = store_image(data=jpeg(seed=42))

    a = images.attach_image(product=product, blob=first, principal=staff_principal)
    b = images.attach_image(product=product, blob=second, principal=staff_principal)
    again = images.attach_image(product=product, blob=first, principal=staff_principal)

    assert (a.position, b.position, again.pk) == (0, 1, a.pk)
    assert ProductImage.objects.filter(product=product).count() == 2
    product.refresh_from_db()
    assert product.quality_score >= 20
    events = Event.objects.filter(type="catalog.image_added").order_by("id")
    assert [e.topics for e in events] == [[f"product:{product.pk}"]] * 2
    assert events[0].payload == {"product_id": product.pk, "sha256": first.pk, "position": 0}


def test_images_of_a_pending_product_are_told_to_the_uploader_only(media_root, staff_principal):
    product = Product.objects.create(name="Pending Ghee", created_by=staff_principal.user)
    images.attach_image(
        product=product, blob=store_image(data=png(seed=43)), principal=staff_principal
    )
    event = Event.objects.get(type="catalog.image_added")
    assert event.topics == [f"user:{staff_principal.user.pk}"]


def test_detach_keeps_the_shared_blob(media_root, staff_principal):
    blob = store_image(data=png(seed=44))
    one = Product.objects.create(name="Tea 250 g", status="verified")
    two = Product.objects.create(name="Tea 250 g pack", status="verified")
    for product in (one, two):
        images.attach_image(product=product, blob=blob, principal=staff_principal)

    images.detach_image(product=one, sha256=blob.pk, principal=staff_principal)

    assert not one.images.exists() and two.images.exists()
    assert ImageBlob.objects.filter(pk=blob.pk).exists()
    assert (media_root / blob.original).exists()
    assert Event.objects.filter(type="catalog.image_removed").count() == 1
    with pytest.raises(images.NotFound):
        images.detach_image(product=one, sha256=blob.pk, principal=staff_principal)


def test_a_merged_or_full_product_takes_no_more_images(media_root, staff_principal, settings):
    survivor = Product.objects.create(name="Survivor", status="verified")
    merged = Product.objects.create(name="Merged", merged_into=survivor, status="rejected")
    blob = store_image(data=png(seed=45))
    with pytest.raises(images.Conflict) as caught:
        images.attach_image(product=merged, blob=blob, principal=staff_principal)
    assert caught.value.code == "product_merged"

    for seed in range(images.MAX_IMAGES_PER_PRODUCT):
        other = store_image(data=png(seed=100 + seed, size=(32, 32)))
        images.attach_image(product=survivor, blob=other, principal=staff_principal)
    with pytest.raises(images.Conflict) as caught:
        images.attach_image(product=survivor, blob=blob, principal=staff_principal)
    assert caught.value.code == "too_many_images"
