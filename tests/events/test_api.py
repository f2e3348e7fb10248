"""The JSON endpoints under /api/v1/events/ (the stream itself lives in the ASGI app)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from shelfwatch.events.models import Event
from shelfwatch.events.publishing import emit

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/events/"


@pytest.fixture
def events(cast, recorded_tasks):
    with transaction.atomic():
        made = {
            "p1": emit(type="stock.changed", payload={"qty": 1}, topics=["product:1"]),
            "store": emit(
                type="stock.changed", payload={"qty": 2}, topics=[f"store:{cast.store.pk}"]
            ),
            "other": emit(
                type="stock.changed", payload={}, topics=[f"store:{cast.other_store.pk}"]
            ),
            "p2": emit(type="price.changed", payload={"price": "1.20"}, topics=["product:2"]),
            "mine": emit(type="order.placed", payload={}, topics=[f"user:{cast.customer.user.pk}"]),
        }
    return made


def get(caller, **params):
    return Client().get(URL, params, headers=caller.headers)


def ids(response) -> list[int]:
    return [event["id"] for event in response.json()["events"]]


def test_anonymous_lists_public_product_events(cast, events):
    response = get(cast.anonymous, topics="product:1,product:2")
    assert response.status_code == 200
    body = response.json()
    assert ids(response) == [events["p1"].pk, events["p2"].pk]
    first = body["events"][0]
    assert first["type"] == "stock.changed"
    assert first["topics"] == ["product:1"]
    assert first["payload"] == {"qty": 1}
    assert first["created_at"]
    assert body["next_after"] == events["p2"].pk
    assert body["has_more"] is False


def test_paging_with_after_and_limit(cast, events):
    first = get(cast.anonymous, topics="product:1,product:2", limit=1).json()
    assert [e["id"] for e in first["events"]] == [events["p1"].pk]
    assert first["has_more"] is True
    second = get(cast.anonymous, topics="product:1,product:2", after=first["next_after"]).json()
    assert [e["id"] for e in second["events"]] == [events["p2"].pk]
    empty = get(cast.anonymous, topics="product:1,product:2", after=second["next_after"]).json()
    assert empty == {"events": [], "next_after": second["next_after"], "has_more": False}


def test_staff_sees_own_store_not_the_other(cast, events):
    assert ids(get(cast.staff, topics=f"store:{cast.store.pk}")) == [events["store"].pk]
    denied = get(cast.staff, topics=f"store:{cast.other_store.pk}")
    assert denied.status_code == 403
    assert denied["Content-Type"] == "application/problem+json"
    assert denied.json()["code"] == "topic_forbidden"


def test_customer_sees_own_user_topic(cast, events):
    topic = f"user:{cast.customer.user.pk}"
    assert ids(get(cast.customer, topics=topic)) == [events["mine"].pk]
    assert get(cast.staff, topics=topic).status_code == 403
    assert get(cast.anonymous, topics=topic).status_code == 403


def test_admin_wildcard_sees_everything(cast, events):
    assert ids(get(cast.admin, topics="*")) == sorted(event.pk for event in events.values())


def test_bad_credentials_are_401_not_anonymous(cast, events):
    response = Client().get(
        URL, {"topics": "product:1"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_malformed_topic_is_400(cast):
    response = get(cast.anonymous, topics="product:abc")
    assert response.status_code == 400
    assert response.json()["code"] == "topic_invalid"
    assert get(cast.anonymous).status_code == 422  # topics missing


def test_misrouted_stream_request_gets_a_problem_at_once(cast):
    response = Client().get("/api/v1/events/stream", {"topics": "product:1"})
    assert response.status_code == 421
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "stream_misrouted"


def test_stream_is_documented_in_openapi():
    schema = Client().get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/events/stream"]["get"]
    assert "Last-Event-ID" in operation["description"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]


def test_ping_endpoint_is_for_admins(cast, recorded_tasks):
    client = Client()
    body = {"topic": "product:5", "message": "hello"}
    url = URL + "test"
    assert client.post(url, body, content_type="application/json").status_code == 401
    forbidden = client.post(url, body, content_type="application/json", headers=cast.staff.headers)
    assert forbidden.status_code == 403
    response = client.post(url, body, content_type="application/json", headers=cast.admin.headers)
    assert response.status_code == 202
    event = Event.objects.get(pk=response.json()["id"])
    assert event.type == "system.ping"
    assert event.topics == ["product:5"]
    assert event.payload == {"message": "hello", "by": cast.admin.user.pk}
    assert [result.args[0] for result in recorded_tasks.results] == [[event.pk]]
    bad = client.post(
        url,
        {"topic": "nosuch:1"},
        content_type="application/json",
        headers=cast.admin.headers,
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "topic_invalid"
