"""The recommendations API: a product's lists (public, as the product is) and the
signed-in shopper's own."""

from __future__ import annotations

import pytest

from shelfwatch.recommend.refresh import refresh_all
from tests.conftest import Caller


@pytest.fixture
def history(grocery):
    for _ in range(3):
        grocery.order(["bread", "jam", "rusk"])
        grocery.order(["bread", "butter"])
        grocery.order(["turmeric", "chilli"])
    refresh_all()
    return grocery


def bearer(user) -> dict[str, str]:
    from shelfwatch.accounts.tokens import issue_access_token

    return {"Authorization": "Bearer " + issue_access_token(user=user)[0]}


def test_a_products_recommendations_carry_the_stores_price_and_stock_first(client, history):
    g = history

    response = Caller(client).get(
        f"/api/v1/products/{g['bread'].pk}/recommendations?store={g.here.pk}"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["product"] == g["bread"].pk and body["store"] == g.here.pk
    together = body["together"]
    assert [p["id"] for p in together] == [g["jam"].pk, g["butter"].pk]
    assert together[0] == {
        "id": g["jam"].pk,
        "name": "Kissan Mixed Fruit Jam 500 g",
        "brand": "Kissan",
        "regional_names": {},
        "price": "50.00",
        "currency": "INR",
        "in_stock_here": True,
        "reason": "together",
    }
    # Butter is out of stock here: listed after, without this store's price.
    assert together[1]["in_stock_here"] is False and together[1]["price"] is None
    assert all(p["reason"] == "similar" for p in body["similar"])


def test_without_a_store_nothing_is_priced(client, history):
    g = history

    body = Caller(client).get(f"/api/v1/products/{g['turmeric'].pk}/recommendations").json()

    assert body["store"] is None
    assert {p["id"] for p in body["similar"]} == {g["haldi"].pk, g["chilli"].pk}
    haldi = next(p for p in body["similar"] if p["id"] == g["haldi"].pk)
    assert haldi["regional_names"] == {"hi-IN": ["हल्दी पाउडर"]}
    assert all(p["price"] is None and p["currency"] is None for p in body["similar"])


def test_a_product_the_caller_may_not_see_is_not_found(client, history):
    response = Caller(client).get(f"/api/v1/products/{history['pending'].pk}/recommendations")

    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"


@pytest.mark.parametrize("store", ["closed", "999999", "0", "-1", "abc", "99999999999999999999999"])
def test_a_bad_store_is_a_clear_error(client, history, store):
    store_id = history.closed.pk if store == "closed" else store

    response = Caller(client).get(
        f"/api/v1/products/{history['bread'].pk}/recommendations?store={store_id}"
    )

    assert response.status_code in (404, 422)
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] in ("store_not_found", "validation_error")


def test_for_me_needs_a_signed_in_caller(client, history):
    response = Caller(client).get("/api/v1/recommendations/for-me")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_for_me_lists_the_callers_rebuys_and_their_partners(client, history, make_user):
    g = history
    shopper = make_user("regular@example.com")
    g.order(["turmeric"], user=shopper, days_ago=2)
    g.order(["turmeric", "curd"], user=shopper, days_ago=9)

    response = Caller(client, bearer(shopper)).get(
        f"/api/v1/recommendations/for-me?store={g.here.pk}"
    )

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(p["id"], p["reason"]) for p in items] == [
        (g["turmeric"].pk, "bought_before"),
        (g["curd"].pk, "bought_before"),
        (g["chilli"].pk, "together"),
    ]
    stranger = make_user("stranger@example.com")
    assert Caller(client, bearer(stranger)).get("/api/v1/recommendations/for-me").json() == {
        "store": None,
        "items": [],
    }


@pytest.mark.parametrize("product_id", ["0", str(2**63), "1" + "0" * 30])
def test_an_impossible_product_id_is_a_clear_error(client, grocery, product_id):
    response = Caller(client).get(f"/api/v1/products/{product_id}/recommendations")

    assert response.status_code in (404, 422)
    assert response["Content-Type"] == "application/problem+json"
