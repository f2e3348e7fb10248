"""Photos from the store dashboard: a product photo goes on the catalog product, a shelf
photo stays with the store's item, a file that is not a photo is refused in words, another
store's item is a 404; and the dashboard speaks the staff's language."""

from __future__ import annotations

import json
import re

import pytest

from shelfwatch.catalog.models import Product, ProductImage, VerificationStatus
from shelfwatch.inventory.models import StockItem
from shelfwatch.ops.demo_pictures import draw_picture
from tests.catalog.images_factory import use_media_root

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(store_a, settings, tmp_path):
    use_media_root(settings, tmp_path)
    butter = Product.objects.create(name="Amul Butter 500 g", status=VerificationStatus.VERIFIED)
    return StockItem.objects.create(store=store_a, product=butter, quantity=12)


def upload(client, item, data: bytes, kind="product", name="photo.webp"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        f"/stores/{item.store_id}/items/{item.pk}/photo",
        {"kind": kind, "photo": SimpleUploadedFile(name, data, "image/webp")},
        follow=True,
    )


def test_staff_add_product_and_shelf_photos_from_the_dashboard(
    client, callers, item, django_capture_on_commit_callbacks
):
    client.force_login(callers["users"]["staff_a"])
    page = client.get(f"/stores/{item.store_id}/").content.decode()
    assert re.search(
        r'<input type="file" name="photo" accept="image/\*" capture="environment"', page
    )

    # The renditions are made once the upload commits (immediately here).
    with django_capture_on_commit_callbacks(execute=True):
        added = upload(client, item, draw_picture(shape="pack", colour="#f2c230", label="Butter"))
    assert added.redirect_chain[-1][0] == f"/stores/{item.store_id}/"
    assert "Photo added to Amul Butter 500 g." in added.content.decode()
    assert ProductImage.objects.filter(product=item.product).count() == 1
    # The dashboard row shows the new picture once its thumbnail is made.
    page = client.get(f"/stores/{item.store_id}/").content.decode()
    assert re.search(r'<img class="thumb" src="/media/\S+-thumbnail\.webp"', page)

    upload(client, item, draw_picture(shape="jar", colour="#c0392b", label="Shelf"), kind="shelf")
    assert item.custom_images.count() == 1
    assert ProductImage.objects.filter(product=item.product).count() == 1


def test_a_file_that_is_not_a_photo_is_refused_in_words(client, callers, item):
    client.force_login(callers["users"]["staff_a"])
    refused = upload(client, item, b"%PDF-1.4 not a picture", name="menu.pdf")
    assert "That file is not a photo: choose a JPEG, PNG or WebP." in refused.content.decode()
    assert not ProductImage.objects.exists()


def test_another_stores_item_is_a_404(client, callers, item):
    client.force_login(callers["users"]["owner_b"])
    response = client.post(f"/stores/{item.store_id}/items/{item.pk}/photo", {"kind": "shelf"})
    assert response.status_code == 404


def test_the_dashboard_speaks_hindi_down_to_its_scripts_words(client, callers, item):
    client.force_login(callers["users"]["staff_a"])
    client.cookies["django_language"] = "hi"
    page = client.get(f"/stores/{item.store_id}/").content.decode()
    assert "Low stock only" not in page and "Add a product" not in page
    words = json.loads(
        re.search(
            r'<script id="dashboard-words" type="application/json">(.*?)</script>', page, re.S
        ).group(1)
    )
    assert words["negative_price"] and not re.search(r"[A-Za-z]{4,}", words["negative_price"])
    assert "%(code)s" in words["found"]
