"""Pictures of products that came from Open Food Facts, fetched later from their image
server (a real HTTP fake on loopback) through the guarded client: stored like an upload,
never asked for twice once final, retried a few times after a passing failure, and never
fetched from a host off the list or a private address."""

from __future__ import annotations

import pytest

from shelfwatch.catalog.models import Product, ProductImage
from shelfwatch.imports.openfoodfacts.images import MAX_ATTEMPTS, fetch_waiting_images
from tests.catalog.images_factory import jpeg, use_media_root
from tests.fakes.openfoodfacts import OpenFoodFactsFake

pytestmark = pytest.mark.django_db

POWDER = "7622210288257"  # the product of the API answer kept in tests/data
FRONT = "762/221/028/8257/front_fr.4.400.jpg"


@pytest.fixture
def off(settings, tmp_path):
    use_media_root(settings, tmp_path)
    with OpenFoodFactsFake() as fake:
        settings.OFF_BASE_URL = fake.base_url
        settings.OFF_CONTACT_EMAIL = "catalog@example.com"
        settings.OFF_TIMEOUT = 2
        settings.OFF_IMAGE_HOSTS = frozenset({"127.0.0.1"})
        settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        yield fake


def product_with_image_url(url: str, creator, name: str = "Chocolate powder") -> Product:
    return Product.objects.create(
        name=name,
        barcode=POWDER if name == "Chocolate powder" else "",
        created_by=creator,
        attributes={"openfoodfacts": {"code": POWDER, "image_url": url}},
    )


def image_calls(fake: OpenFoodFactsFake) -> list:
    return [call for call in fake.calls() if call.path.startswith("/images/")]


def test_a_looked_up_products_picture_arrives_with_the_next_run(off, callers):
    record = off.products[POWDER]
    record["image_url"] = off.image_url(FRONT, jpeg(seed=3))
    looked_up = callers["staff_a"].post(f"/api/v1/catalog/lookup/{POWDER}")
    assert looked_up.status_code in (200, 201), looked_up.content
    product = Product.objects.get(barcode=POWDER)
    assert not ProductImage.objects.filter(product=product).exists()

    run = fetch_waiting_images()
    assert (run.fetched, run.failed) == (1, 0)
    image = ProductImage.objects.get(product=product)
    assert image.blob.width == 640 and image.uploaded_by_id == product.created_by_id
    (call,) = image_calls(off)
    assert call.header("User-Agent").endswith("(catalog@example.com)")
    # A product with its picture is not asked about again.
    fetch_waiting_images()
    assert len(image_calls(off)) == 1


def test_a_missing_or_broken_picture_is_not_asked_for_again(off, make_user):
    creator = make_user("curator@example.com")
    gone = product_with_image_url(f"{off.base_url}/images/products/none.jpg", creator)
    broken = product_with_image_url(
        off.image_url("page.jpg", b"<html>not a picture</html>"), creator, name="Tea"
    )
    run = fetch_waiting_images()
    assert (run.fetched, run.failed) == (0, 2)
    gone.refresh_from_db()
    broken.refresh_from_db()
    assert gone.attributes["image_fetch"]["reason"] == "http_404"
    assert broken.attributes["image_fetch"]["state"] == "done"
    fetch_waiting_images()
    assert len(image_calls(off)) == 2
    assert not ProductImage.objects.exists()

    # A later record naming another picture is tried afresh.
    attributes = dict(gone.attributes)
    attributes["openfoodfacts"] = {**attributes["openfoodfacts"]}
    attributes["openfoodfacts"]["image_url"] = off.image_url("new.jpg", jpeg(seed=5))
    Product.objects.filter(pk=gone.pk).update(attributes=attributes)
    assert fetch_waiting_images().fetched == 1
    assert ProductImage.objects.filter(product=gone).count() == 1


def test_a_passing_failure_is_tried_again_a_few_times_then_left(off, make_user):
    product = product_with_image_url(off.image_url(FRONT, jpeg()), make_user("c@example.com"))
    off.fail_next(None, 503, path=f"/images/products/{FRONT}")
    for attempt in range(1, MAX_ATTEMPTS):
        run = fetch_waiting_images()
        assert run.retry_later == 1, attempt
        product.refresh_from_db()
        assert product.attributes["image_fetch"]["attempts"] == attempt
    assert fetch_waiting_images().failed == 1
    fetch_waiting_images()
    assert len(image_calls(off)) == MAX_ATTEMPTS


def test_a_host_off_the_list_or_a_private_address_is_never_fetched(off, make_user, settings):
    creator = make_user("c@example.com")
    product_with_image_url(off.image_url(FRONT, jpeg()), creator)
    settings.OFF_IMAGE_HOSTS = frozenset({"images.openfoodfacts.org"})
    assert fetch_waiting_images().failed == 1
    assert image_calls(off) == []

    other = product_with_image_url(off.image_url("b.jpg", jpeg()), creator, name="Tea")
    settings.OFF_IMAGE_HOSTS = frozenset()  # any public host: loopback is still refused
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    assert fetch_waiting_images().failed == 1
    other.refresh_from_db()
    assert other.attributes["image_fetch"]["reason"] == "address_not_allowed"
    assert image_calls(off) == []


def test_without_a_contact_address_no_picture_is_fetched(off, make_user, settings):
    product_with_image_url(off.image_url(FRONT, jpeg()), make_user("c@example.com"))
    settings.OFF_CONTACT_EMAIL = ""
    assert fetch_waiting_images().fetched == 0
    assert image_calls(off) == []
