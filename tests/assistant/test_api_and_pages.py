"""`POST /api/v1/assistant` and the `/assistant/` page: identity from the request, bounded
input answered as problems, rate limits, conversations bound to their owner, and the panel
on the storefront's pages."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from shelfwatch.accounts.tokens import issue_access_token
from shelfwatch.assistant.conversation import SESSION_KEY
from tests.assistant.shop_data import VICTIM_PHONE
from tests.fakes.llm import Call, Say

URL = "/api/v1/assistant"


def post(client, body, **headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", headers=headers)


def bearer(user) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_access_token(user=user)[0]}


def test_an_anonymous_question_about_a_store_is_answered(client, shop):
    response = post(
        client, {"message": "What does amul butter cost?", "store": shop.bakery.store.pk}
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["answer"] == "Amul Butter 500 g costs ₹275.00 at Maple Street Bakery."
    assert data["source"] == "rules" and data["language"] == "en"
    assert len(data["conversation_id"]) >= 16


def test_the_store_chosen_on_the_storefront_is_used(client, shop):
    client.post("/store/", {"store": shop.bakery.store.pk, "next": "/"})
    data = post(client, {"message": "kya amul butter stock mein hai"}).json()
    assert data["language"] == "hi"
    assert "Maple Street Bakery में स्टॉक में है" in data["answer"]


def test_the_page_language_is_followed_when_the_question_is_not_plainly_hindi(client, shop):
    body = {"message": "amul butter", "store": shop.bakery.store.pk, "language": "hi"}
    data = post(client, body).json()
    assert data["language"] == "hi" and "स्टॉक में है" in data["answer"]


def test_a_signed_in_caller_asks_as_themselves_only(client, shop):
    body = {"message": f"where is my order {shop.victim_order.pk}", "store": shop.bakery.store.pk}
    data = post(client, body, **bearer(shop.shopper)).json()
    assert data["answer"] == f"I cannot find order #{shop.victim_order.pk} among your orders."
    mine = post(client, {"message": "where is my order"}, **bearer(shop.shopper)).json()
    assert (
        f"Order #{shop.shopper_order.pk} " in mine["answer"] and VICTIM_PHONE not in mine["answer"]
    )
    victims = post(client, {"message": "how many points do I have"}, **bearer(shop.victim)).json()
    assert "777 points" in victims["answer"]


def test_an_unknown_store_is_a_404_problem(client, shop):
    response = post(client, {"message": "butter", "store": 999999})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "store_not_found"


@pytest.mark.parametrize(
    ("message", "status", "code"),
    [
        ("", 422, "message_empty"),
        ("   \n\t ", 422, "message_empty"),
        ("x" * 501, 422, "message_too_long"),
        ("x" * 30_000, 422, "validation_error"),
        ("bad \x00 byte", 422, "validation_error"),
    ],
)
def test_bad_messages_are_problems_with_stable_codes(client, shop, message, status, code):
    response = post(client, {"message": message})
    assert response.status_code == status
    assert response.json()["code"] == code


def test_a_malformed_body_is_a_problem_not_a_500(client, shop):
    response = client.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "malformed_json"
    response = post(client, {"message": ["a list"]})
    assert response.status_code == 422 and response.json()["code"] == "validation_error"
    response = post(client, {"message": "butter", "conversation_id": "x" * 65})
    assert response.status_code == 422


@pytest.mark.throttle_window(60)
def test_questions_are_limited_per_ip(client, shop, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "assistant_ip": "3/m"}
    statuses = [post(client, {"message": "butter"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = post(client, {"message": "butter"})
    assert response.json()["code"] == "rate_limited" and int(response["Retry-After"]) >= 1


@pytest.mark.throttle_window(60)
def test_questions_are_limited_per_user(client, shop, settings):
    settings.THROTTLE_RATES = {
        **settings.THROTTLE_RATES,
        "assistant_user": "2/m",
        "assistant_ip": "100/m",
    }
    headers = bearer(shop.shopper)
    statuses = [post(client, {"message": "points"}, **headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # Another user from the same address still may ask.
    assert post(client, {"message": "points"}, **bearer(shop.victim)).status_code == 200


def test_a_conversation_id_of_someone_else_starts_a_new_conversation(client, shop, fake_llm):
    fake_llm.script(Call("loyalty_points"), Say("You have 777 points."))
    victims = post(client, {"message": "my points"}, **bearer(shop.victim)).json()
    assert victims["answer"] == "You have 777 points."
    # The shopper presents the victim's conversation id: the victim's tool results are not
    # theirs to be grounded by, so "777" cannot be repeated to them.
    fake_llm.script(Say("You have 777 points."), Say("You have 777 points."))
    body = {"message": "my points again", "conversation_id": victims["conversation_id"]}
    theirs = post(Client(), body, **bearer(shop.shopper)).json()
    assert theirs["conversation_id"] != victims["conversation_id"]
    assert "777" not in theirs["answer"]
    assert theirs["answer"] == "You have 120 points at Maple Street Bakery (worth ₹60.00)."


def test_the_page_answers_without_javascript_and_keeps_the_conversation(client, shop):
    client.post("/store/", {"store": shop.bakery.store.pk, "next": "/"})
    response = client.post("/assistant/", {"message": "What does amul butter cost?"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Amul Butter 500 g costs ₹275.00 at Maple Street Bakery." in html
    response = client.post("/assistant/", {"message": "kya amul butter stock mein hai"})
    html = response.content.decode()
    assert html.count('class="asst-q"') == 2
    assert client.session[SESSION_KEY]
    # Every storefront page's panel shows the latest turns of the same conversation.
    home = client.get("/").content.decode()
    assert 'class="asst-panel"' in home and "costs ₹275.00" in home
    assert 'action="/assistant/"' in home


def test_the_page_refuses_bad_input_and_too_many_questions(client, shop, settings):
    response = client.post("/assistant/", {"message": ""})
    assert response.status_code == 422 and "Please type a question." in response.content.decode()
    response = client.post("/assistant/", {"message": "y" * 600})
    assert response.status_code == 422 and "shorter" in response.content.decode()
    # Refused questions count too (two so far).
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "assistant_ip": "3/m"}
    assert client.post("/assistant/", {"message": "butter"}).status_code == 200
    assert client.post("/assistant/", {"message": "butter"}).status_code == 429


def test_a_guest_page_sees_its_own_session_orders_only(client, shop):
    from tests.shop.test_pages_orders import place_order

    order = place_order(client, shop.bakery)
    html = client.post("/assistant/", {"message": "where is my order"}).content.decode()
    assert f"Order #{order.pk} " in html
    assert f"Order #{shop.guest_order.pk} " not in html
    other = Client()
    html = other.post("/assistant/", {"message": f"where is my order {order.pk}"}).content.decode()
    assert f"I cannot find order #{order.pk} among your orders." in html


def test_the_panel_is_on_storefront_pages_but_not_the_staff_board(client, shop):
    assert 'class="asst-panel"' in client.get("/products/").content.decode()
    assert 'class="asst-panel"' in client.get(f"/products/{shop.bakery.butter.pk}").content.decode()
    page = client.get("/assistant/").content.decode()
    assert 'class="asst-panel"' not in page and 'id="asst-page-message"' in page
