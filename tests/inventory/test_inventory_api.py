"""Store inventory through the API: stocking, movements, counts and tenant boundaries."""

from __future__ import annotations

import io

import pytest

from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.inventory.models import StockItem, StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(db):
    return Product.objects.create(
        name="Britannia Good Day 200 g", brand="Britannia", status=VerificationStatus.VERIFIED
    )


def stock(caller, store, product, **fields):
    body = {"product_id": product.pk, "quantity": 10, "selling_price": "30.00", **fields}
    return caller.post(f"/api/v1/stores/{store.pk}/inventory", body)


def test_staff_stock_a_product_and_move_it(callers, store_a, product):
    staff = callers["staff_a"]
    created = stock(staff, store_a, product, reorder_level=4, location="Aisle 3")
    assert created.status_code == 201, created.json()
    item = created.json()
    assert (item["quantity"], item["currency"], item["location"]) == (10, "INR", "Aisle 3")
    base = f"/api/v1/stores/{store_a.pk}/inventory/{item['id']}"
    sale = staff.post(f"{base}/movements", {"delta": -7, "reason": "sale", "reference": "bill 9"})
    assert sale.status_code == 201
    assert sale.json()["quantity_after"] == 3
    low = staff.get(f"/api/v1/stores/{store_a.pk}/inventory?low=true").json()["items"]
    assert [i["id"] for i in low] == [item["id"]]
    counted = staff.post(f"{base}/count", {"quantity": 5})
    assert counted.json()["quantity"] == 5
    ledger = staff.get(f"{base}/movements").json()["items"]
    assert [(m["delta"], m["reason"]) for m in ledger] == [
        (2, "adjustment"),
        (-7, "sale"),
        (10, "restock"),
    ]
    found = staff.get(f"/api/v1/stores/{store_a.pk}/inventory?q=good+day").json()["items"]
    assert [i["product"]["name"] for i in found] == ["Britannia Good Day 200 g"]


def test_overselling_is_refused_and_changes_nothing(callers, store_a, product):
    item = stock(callers["staff_a"], store_a, product).json()
    url = f"/api/v1/stores/{store_a.pk}/inventory/{item['id']}/movements"
    response = callers["staff_a"].post(url, {"delta": -11, "reason": "sale"})
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["available"] == 10
    assert StockItem.objects.get().quantity == 10
    assert StockMovement.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"selling_price": "-1"}, "negative_price"),
        ({"cost_price": "-0.01"}, "negative_price"),
        ({"quantity": -3}, "negative_quantity"),
        ({"selling_price": "1.234"}, "invalid_price"),
    ],
)
def test_bad_stock_input_has_its_own_code(callers, store_a, product, fields, code):
    response = stock(callers["staff_a"], store_a, product, **fields)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert not StockItem.objects.exists()


def test_emptied_reorder_level_is_refused_not_a_server_error(callers, store_a, product):
    item = stock(callers["staff_a"], store_a, product, reorder_level=4).json()
    url = f"/api/v1/stores/{store_a.pk}/inventory/{item['id']}"
    response = callers["staff_a"].patch(url, {"reorder_level": None})
    assert response.status_code == 422
    assert response.json()["code"] == "reorder_level_required"
    assert StockItem.objects.get(pk=item["id"]).reorder_level == 4


def test_unknown_reason_and_zero_moves_are_refused(callers, store_a, product):
    item = stock(callers["staff_a"], store_a, product).json()
    url = f"/api/v1/stores/{store_a.pk}/inventory/{item['id']}/movements"
    assert callers["staff_a"].post(url, {"delta": 1, "reason": "gift"}).json()["code"] == (
        "unknown_reason"
    )
    assert callers["staff_a"].post(url, {"delta": 0, "reason": "sale"}).json()["code"] == (
        "zero_movement"
    )


def test_other_tenants_stores_and_items_are_404(callers, store_a, store_b, product):
    item_a = stock(callers["staff_a"], store_a, product).json()
    item_b = stock(callers["owner_b"], store_b, product).json()
    staff = callers["staff_a"]
    assert [s["id"] for s in staff.get("/api/v1/stores").json()] == [store_a.pk]
    for path in (
        f"/api/v1/stores/{store_b.pk}",
        f"/api/v1/stores/{store_b.pk}/inventory",
        f"/api/v1/stores/{store_b.pk}/inventory/{item_b['id']}",
        # Store A's path with store B's item: the item is looked up inside store A.
        f"/api/v1/stores/{store_a.pk}/inventory/{item_b['id']}",
        f"/api/v1/stores/{store_a.pk}/inventory/{item_b['id']}/movements",
    ):
        response = staff.get(path)
        assert response.status_code == 404, path
    take = staff.post(
        f"/api/v1/stores/{store_a.pk}/inventory/{item_b['id']}/movements",
        {"delta": -1, "reason": "sale"},
    )
    assert take.status_code == 404
    assert StockItem.objects.get(pk=item_b["id"]).quantity == 10
    assert stock(staff, store_b, product).status_code == 404
    assert callers["customer"].get(f"/api/v1/stores/{store_a.pk}").status_code == 404
    assert callers["admin"].get(f"/api/v1/stores/{store_b.pk}/inventory").status_code == 200
    assert item_a["id"] != item_b["id"]


def test_a_store_stocks_a_product_once(callers, store_a, product):
    stock(callers["staff_a"], store_a, product)
    again = stock(callers["staff_a"], store_a, product)
    assert again.status_code == 409 and again.json()["code"] == "stock_item_exists"


def test_price_change_is_announced_on_the_public_product_topic(callers, store_a, product):
    from shelfwatch.events.models import Event

    item = stock(callers["staff_a"], store_a, product).json()
    url = f"/api/v1/stores/{store_a.pk}/inventory/{item['id']}"
    edited = callers["staff_a"].patch(url, {"selling_price": "25.50"})
    assert edited.json()["selling_price"] == "25.50"
    event = Event.objects.get(type="stock.price_changed")
    assert event.payload["old_price"] == "30.00" and event.payload["price"] == "25.50"
    assert f"product:{product.pk}" in event.topics


def test_a_store_keeps_its_own_shelf_photo_of_an_item(
    client, callers, store_a, product, settings, tmp_path
):
    from tests.catalog.images_factory import jpeg, use_media_root

    use_media_root(settings, tmp_path)
    item = stock(callers["staff_a"], store_a, product).json()
    url = f"/api/v1/stores/{store_a.pk}/inventory/{item['id']}/images"
    upload = io.BytesIO(jpeg(3))
    upload.name = "shelf.jpg"
    response = client.post(url, {"file": upload}, headers=callers["staff_a"].headers)
    assert response.status_code == 201, response.json()
    images = response.json()["custom_images"]
    assert len(images) == 1 and images[0]["urls"]["original"].startswith("/media/")
    gone = callers["staff_a"].delete(f"{url}/{images[0]['sha256']}")
    assert gone.status_code == 204
    assert callers["staff_a"].get(url.removesuffix("/images")).json()["custom_images"] == []


def test_a_store_keeps_its_own_sku_for_an_item(callers, store_a, product):
    staff = callers["staff_a"]
    item = stock(staff, store_a, product, sku=" GD-200 ").json()
    assert item["sku"] == "GD-200"
    url = f"/api/v1/stores/{store_a.pk}/inventory/{item['id']}"
    assert staff.patch(url, {"sku": "GD-201"}).json()["sku"] == "GD-201"
    too_long = staff.patch(url, {"sku": "x" * 65})
    assert too_long.status_code == 422
