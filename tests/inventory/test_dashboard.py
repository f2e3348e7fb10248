"""The store dashboard page and the photo barcode scanner behind it."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.inventory.models import StockItem
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(store_a, store_b):
    butter = Product.objects.create(
        name="Amul Butter 500 g", barcode="8901262010016", status=VerificationStatus.VERIFIED
    )
    bread = Product.objects.create(name="Pav Bread 250 g", status=VerificationStatus.VERIFIED)
    StockItem.objects.create(store=store_a, product=butter, quantity=12, reorder_level=4)
    StockItem.objects.create(store=store_a, product=bread, quantity=2, reorder_level=5)
    StockItem.objects.create(store=store_b, product=bread, quantity=30)
    return butter, bread


def sign_in(client, user) -> None:
    assert client.login(email=user.email, password=PASSWORD)


def test_staff_land_on_their_store_and_see_its_inventory(client, callers, store_a, stocked):
    sign_in(client, callers["users"]["staff_a"])
    landing = client.get("/stores/")
    assert landing.status_code == 302 and landing["Location"] == f"/stores/{store_a.pk}/"
    page = client.get(f"/stores/{store_a.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Amul Butter 500 g" in html and "Pav Bread 250 g" in html
    low = client.get(f"/stores/{store_a.pk}/?low=1").content.decode()
    assert "Pav Bread" in low and "Amul Butter" not in low
    found = client.get(f"/stores/{store_a.pk}/?q=890126").content.decode()
    assert "Amul Butter" in found and "Pav Bread" not in found


def test_other_stores_dashboards_are_404_and_anonymous_must_log_in(
    client, callers, store_b, stocked
):
    sign_in(client, callers["users"]["staff_a"])
    assert client.get(f"/stores/{store_b.pk}/").status_code == 404
    client.logout()
    response = client.get(f"/stores/{store_b.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_customers_have_no_stores(client, callers):
    sign_in(client, callers["users"]["customer"])
    page = client.get("/stores/")
    assert page.status_code == 200
    assert b"You do not work in any store yet" in page.content


def barcode_photo(code: str) -> bytes:
    """A JPEG photo-like picture of an EAN-13 barcode: scaled up, grey, recompressed."""
    symbol = zxingcpp.create_barcode(code, zxingcpp.BarcodeFormat.EAN13)
    pixels = symbol.to_image(scale=3, add_quiet_zones=True)
    height, width = pixels.shape[:2]
    image = Image.frombytes("L", (width, height), memoryview(pixels).tobytes())
    canvas = Image.new("RGB", (width * 3, height * 4), (235, 232, 225))
    canvas.paste(image.convert("RGB").resize((width * 2, height * 2)), (width // 2, height))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def test_a_photo_of_a_barcode_finds_the_product(client, callers, stocked):
    butter, _ = stocked
    headers = callers["staff_a"].headers
    upload = io.BytesIO(barcode_photo("8901262010016"))
    upload.name = "shelf.jpg"
    response = client.post("/api/v1/catalog/scan", {"file": upload}, headers=headers)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["codes"] == [{"text": "8901262010016", "format": "EAN-13", "gtin": "8901262010016"}]
    assert [p["id"] for p in body["products"]] == [butter.pk]


def test_a_photo_that_is_not_an_image_is_refused(client, callers):
    upload = io.BytesIO(b"this is not a picture")
    upload.name = "notes.jpg"
    response = client.post(
        "/api/v1/catalog/scan", {"file": upload}, headers=callers["staff_a"].headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "image_not_an_image"
