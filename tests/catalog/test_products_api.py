"""Creating, reading, editing and searching catalog products through the API."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from shelfwatch.catalog.models import Product, RegionalName
from shelfwatch.events.models import Event

pytestmark = pytest.mark.django_db

BUTTER = {
    "name": "Amul Butter 500 g",
    "brand": "Amul",
    "barcode": "8901262010016",
    "net_quantity": "500",
    "net_unit": "g",
    "description": "Pasteurised table butter, salted.",
    "regional_names": {"hi-IN": ["अमूल मक्खन"], "ta-IN": ["அமுல் வெண்ணெய்"]},
}


def test_staff_creates_a_pending_product_admin_a_verified_one(callers):
    response = callers["staff_a"].post("/api/v1/products", BUTTER)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["barcode"] == "8901262010016"
    assert body["regional_names"]["hi-IN"] == ["अमूल मक्खन"]
    assert body["created_by"] == callers["users"]["staff_a"].pk
    # barcode 20 + brand 10 + quantity 10 + regional 10 + description 10 + name 5
    assert body["quality_score"] == 65
    assert Event.objects.filter(type="catalog.product_created").count() == 1

    made = callers["admin"].post(
        "/api/v1/products", {"name": "Tata Salt 1 kg", "brand": "Tata", "confirm_new": True}
    )
    assert made.json()["status"] == "verified"


def test_customers_and_anonymous_callers_cannot_create(callers):
    assert callers["customer"].post("/api/v1/products", BUTTER).status_code == 403
    assert callers["anon"].post("/api/v1/products", BUTTER).status_code == 401
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"barcode": "8901262010017"}, "invalid_barcode"),
        ({"net_unit": "oz"}, "unknown_unit"),
        ({"net_quantity": "-5"}, "invalid_quantity"),
        ({"regional_names": {"hindi": ["मक्खन"]}}, "invalid_language_code"),
        ({"name": "  "}, "invalid_name"),
        ({"category_id": 98765}, "category_not_found"),
    ],
)
def test_bad_input_is_refused_with_its_own_code_and_changes_nothing(callers, change, code):
    response = callers["staff_a"].post("/api/v1/products", {**BUTTER, **change})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert not Product.objects.exists()
    assert not RegionalName.objects.exists()
    assert not Event.objects.exists()


def test_a_barcode_already_in_the_catalog_is_refused_with_the_holder(callers):
    first = callers["admin"].post("/api/v1/products", BUTTER).json()
    # The same code as a GTIN-14 with a leading zero is the same barcode.
    again = callers["staff_a"].post(
        "/api/v1/products", {**BUTTER, "name": "Butter", "barcode": "08901262010016"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_barcode"
    assert again.json()["existing_product_id"] == first["id"]
    assert Product.objects.count() == 1


def test_a_near_duplicate_needs_confirmation(callers):
    callers["admin"].post("/api/v1/products", BUTTER)
    lookalike = {"name": "AMUL butter 0.5kg", "brand": "amul"}
    refused = callers["staff_a"].post("/api/v1/products", lookalike)
    assert refused.status_code == 409
    assert refused.json()["code"] == "possible_duplicate"
    assert refused.json()["candidates"][0]["name"] == "Amul Butter 500 g"
    # Creating it anyway is allowed, and the answer says what that means.
    assert refused.json()["status_if_created"] == "pending"
    assert "hidden" in refused.json()["detail"] and "review" in refused.json()["detail"]
    assert Product.objects.count() == 1
    confirmed = callers["staff_a"].post("/api/v1/products", {**lookalike, "confirm_new": True})
    assert confirmed.status_code == 201
    # A different size is a different product: no confirmation needed.
    other_size = callers["staff_a"].post(
        "/api/v1/products", {"name": "Amul Butter 100 g", "brand": "Amul"}
    )
    assert other_size.status_code == 201, other_size.json()


def test_match_ranks_candidates_with_reasons(callers):
    callers["admin"].post("/api/v1/products", BUTTER)
    callers["admin"].post(
        "/api/v1/products", {"name": "Amul Taaza Milk 1 l", "brand": "Amul", "confirm_new": True}
    )
    response = callers["staff_a"].post(
        "/api/v1/catalog/match", {"name": "Amul Butter 500gm", "brand": "AMUL"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["likely_duplicate"] is True
    top = body["candidates"][0]
    assert top["name"] == "Amul Butter 500 g"
    assert top["score"] >= 0.5 and top["reasons"]
    by_barcode = (
        callers["staff_a"]
        .post("/api/v1/catalog/match", {"name": "something else", "barcode": "8901262010016"})
        .json()
    )
    assert by_barcode["candidates"][0]["reasons"] == ["same barcode"]
    by_hindi = (
        callers["staff_a"]
        .post("/api/v1/catalog/match", {"name": "अमूल मक्खन", "net_quantity": "500", "net_unit": "g"})
        .json()
    )
    assert by_hindi["candidates"] and by_hindi["candidates"][0]["name"] == "Amul Butter 500 g"


def test_search_by_name_brand_regional_script_and_barcode_prefix(callers):
    callers["admin"].post("/api/v1/products", BUTTER)
    callers["admin"].post(
        "/api/v1/products",
        {
            "name": "Aavin Milk 500 ml",
            "brand": "Aavin",
            "regional_names": {"ta-IN": ["ஆவின் பால்"]},
            "confirm_new": True,
        },
    )

    def names(query: str) -> list[str]:
        response = callers["anon"].get(f"/api/v1/products?q={quote(query)}")
        assert response.status_code == 200
        return [item["name"] for item in response.json()["items"]]

    assert names("butter") == ["Amul Butter 500 g"]
    assert names("amu") == ["Amul Butter 500 g"]  # word prefix
    assert names("मक्खन") == ["Amul Butter 500 g"]  # Devanagari
    assert names("பால்") == ["Aavin Milk 500 ml"]  # Tamil
    assert names("890126") == ["Amul Butter 500 g"]  # barcode prefix
    assert names("aavin milk") == ["Aavin Milk 500 ml"]
    assert names("cheese") == []


def test_public_search_shows_only_verified_products(callers):
    callers["staff_a"].post("/api/v1/products", BUTTER)
    assert callers["anon"].get("/api/v1/products?q=butter").json()["items"] == []
    assert callers["customer"].get("/api/v1/products?q=butter").json()["items"] == []
    own = callers["staff_a"].get("/api/v1/products?q=butter").json()["items"]
    assert [p["status"] for p in own] == ["pending"]
    assert callers["owner_b"].get("/api/v1/products?q=butter").json()["items"] == []
    product_id = own[0]["id"]
    assert callers["owner_b"].get(f"/api/v1/products/{product_id}").status_code == 404
    assert callers["admin"].get(f"/api/v1/products/{product_id}").status_code == 200


def test_search_pages_with_a_cursor_and_filters(callers):
    for n in range(7):
        callers["admin"].post(
            "/api/v1/products",
            {"name": f"Parle-G Biscuit pack {n}", "brand": "Parle", "confirm_new": True},
        )
    callers["admin"].post(
        "/api/v1/products", {"name": "Good Day Biscuit", "brand": "Britannia", "confirm_new": True}
    )
    seen: list[int] = []
    cursor = ""
    while True:
        url = "/api/v1/products?q=biscuit&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = callers["anon"].get(url).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 8
    britannia = callers["anon"].get("/api/v1/products?q=biscuit&brand=britannia").json()
    assert [p["name"] for p in britannia["items"]] == ["Good Day Biscuit"]
    bad = callers["anon"].get("/api/v1/products?cursor=not-a-cursor")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


def test_category_filter_covers_the_subtree(callers):
    dairy = callers["admin"].post("/api/v1/catalog/categories", {"name": "Dairy", "slug": "dairy"})
    dairy_id = dairy.json()["id"]
    butter = (
        callers["admin"]
        .post(
            "/api/v1/catalog/categories",
            {"name": "Butter", "slug": "butter", "parent_id": dairy_id},
        )
        .json()
    )
    product = callers["admin"].post("/api/v1/products", {**BUTTER, "category_id": butter["id"]})
    assert product.status_code == 201
    assert product.json()["quality_score"] == 80
    in_dairy = callers["anon"].get(f"/api/v1/products?category={dairy_id}").json()["items"]
    assert [p["name"] for p in in_dairy] == ["Amul Butter 500 g"]
    # Products sit in leaves: Dairy has a child, so it cannot hold a product.
    refused = callers["admin"].post(
        "/api/v1/products", {"name": "Ghee", "category_id": dairy_id, "confirm_new": True}
    )
    assert refused.json()["code"] == "category_not_leaf"


def test_creator_edits_while_pending_then_only_admins(callers):
    created = callers["staff_a"].post("/api/v1/products", BUTTER).json()
    url = f"/api/v1/products/{created['id']}"
    edited = callers["staff_a"].patch(url, {"regional_names": {"mr-IN": ["अमूल लोणी"]}})
    assert edited.status_code == 200
    assert edited.json()["regional_names"] == {"mr-IN": ["अमूल लोणी"]}
    assert (
        callers["staff_a"].get("/api/v1/products?q=" + quote("लोणी")).json()["items"][0]["id"]
        == (created["id"])
    )
    callers["admin"].post(f"/api/v1/catalog/review/{created['id']}/approve", {})
    locked = callers["staff_a"].patch(url, {"name": "Amul Butter"})
    assert locked.status_code == 403 and locked.json()["code"] == "product_locked"


def test_match_finds_a_stored_plural_from_a_singular(callers):
    callers["admin"].post(
        "/api/v1/products",
        {"name": "Parle Monaco Biscuits 200 g", "brand": "Parle", "confirm_new": True},
    )
    body = (
        callers["staff_a"]
        # Without the plural form, neither "monaco biscuit" nor "monaco" + "biscuit" would
        # find the stored "Biscuits" by whole-word lookup.
        .post("/api/v1/catalog/match", {"name": "Monaco biscuit 200g"})
        .json()
    )
    assert body["candidates"] and body["candidates"][0]["name"] == "Parle Monaco Biscuits 200 g"
