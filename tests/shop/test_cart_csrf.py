"""A signed-out shopper's cart belongs to their session cookie, which a browser also sends
with a form another site posts here: the cart API's writes need the CSRF token whenever
that cookie comes along, and bearer-token clients never do."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from shelfwatch.accounts.tokens import issue_access_token
from shelfwatch.shop.models import CartLine

pytestmark = pytest.mark.django_db


def add(client: Client, item, quantity: int = 1, **headers):
    body = {"store_id": item.store_id, "product_id": item.product_id, "quantity": quantity}
    return client.post(
        "/api/v1/cart/lines", data=json.dumps(body), content_type="application/json", **headers
    )


@pytest.fixture
def visitor(bread) -> Client:
    """A signed-out browser that has a cart (one loaf) and the page's csrftoken cookie."""
    browser = Client(enforce_csrf_checks=True)
    assert browser.get("/products/").status_code == 200
    token = browser.cookies["csrftoken"].value
    assert add(browser, bread, 1, HTTP_X_CSRFTOKEN=token).status_code == 201
    assert "sessionid" in browser.cookies
    return browser


def lines() -> list[tuple[int, int]]:
    return list(CartLine.objects.values_list("product_id", "quantity").order_by("pk"))


def test_an_anonymous_cart_write_without_the_token_is_refused_and_changes_nothing(
    visitor, bread, cake
):
    before = lines()
    response = add(visitor, cake, 2)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "csrf_failed"
    line_id = visitor.get("/api/v1/cart").json()["stores"][0]["lines"][0]["id"]
    changed = visitor.patch(
        f"/api/v1/cart/lines/{line_id}", data={"quantity": 5}, content_type="application/json"
    )
    assert changed.status_code == 403 and changed.json()["code"] == "csrf_failed"
    removed = visitor.delete(f"/api/v1/cart/lines/{line_id}")
    assert removed.status_code == 403 and removed.json()["code"] == "csrf_failed"
    assert lines() == before == [(bread.product_id, 1)]


def test_a_wrong_token_is_refused_too(visitor, cake):
    response = add(visitor, cake, 1, HTTP_X_CSRFTOKEN="x" * 32)
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert len(lines()) == 1


def test_an_anonymous_cart_write_with_the_token_works(visitor, bread, cake):
    token = visitor.cookies["csrftoken"].value
    assert add(visitor, cake, 2, HTTP_X_CSRFTOKEN=token).status_code == 201
    assert sorted(lines()) == sorted([(bread.product_id, 1), (cake.product_id, 2)])
    stores = visitor.get("/api/v1/cart").json()["stores"]
    assert sorted(line["quantity"] for line in stores[0]["lines"]) == [1, 2]


def test_a_bearer_client_needs_no_csrf_token_even_with_a_stray_session_cookie(
    make_user, bread, cake
):
    user = make_user("script@example.com")
    api_client = Client(
        enforce_csrf_checks=True,
        HTTP_AUTHORIZATION="Bearer " + issue_access_token(user=user)[0],
    )
    assert add(api_client, bread, 3).status_code == 201
    api_client.cookies["sessionid"] = "not-a-real-session"
    assert add(api_client, cake, 4).status_code == 201
    mine = CartLine.objects.filter(cart__user=user).values_list("product_id", "quantity")
    assert sorted(mine) == sorted([(bread.product_id, 3), (cake.product_id, 4)])


def test_a_cookieless_anonymous_script_still_starts_a_cart(bread):
    script = Client(enforce_csrf_checks=True)
    assert add(script, bread, 1).status_code == 201
    assert lines() == [(bread.product_id, 1)]
