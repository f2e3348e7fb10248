"""Order statuses: allowed moves only, history and events, stock back on cancel, tenants."""

from __future__ import annotations

import json

import pytest

from shelfwatch.events.models import Event
from shelfwatch.inventory.models import StockItem, StockMovement
from shelfwatch.shop.models import Order, OrderStatusChange

pytestmark = pytest.mark.django_db


def place(caller, item, quantity=2, body=None, key="k"):
    line = {"store_id": item.store_id, "product_id": item.product_id, "quantity": quantity}
    assert caller.post("/api/v1/cart/lines", line).status_code == 201
    response = caller.post("/api/v1/checkout", body or {}, **{"Idempotency-Key": key})
    assert response.status_code == 201, response.content
    return response.json()


def move(caller, order_id, status, reason=""):
    return caller.post(f"/api/v1/orders/{order_id}/status", {"status": status, "reason": reason})


def events_of(order_id):
    return [
        e.payload
        for e in Event.objects.filter(type="order.status_changed").order_by("id")
        if e.payload["order_id"] == order_id
    ]


def test_staff_walk_a_pickup_order_to_delivered(callers, bread):
    order = place(callers["customer"], bread)
    staff = callers["staff_a"]
    for status in ("confirmed", "preparing", "ready", "delivered"):
        response = move(staff, order["id"], status)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == status
    history = list(OrderStatusChange.objects.filter(order_id=order["id"]))
    assert [(h.previous_status, h.status) for h in history] == [
        ("", "pending"),
        ("pending", "confirmed"),
        ("confirmed", "preparing"),
        ("preparing", "ready"),
        ("ready", "delivered"),
    ]
    assert history[1].actor == callers["users"]["staff_a"]
    payloads = events_of(order["id"])
    assert [p["status"] for p in payloads] == [
        "pending",
        "confirmed",
        "preparing",
        "ready",
        "delivered",
    ]
    first = payloads[0]
    customer = callers["users"]["customer"]
    assert first == {
        "order_id": order["id"],
        "store_id": bread.store_id,
        "user_id": customer.pk,
        "status": "pending",
        "previous_status": None,
        "total": "252.00",
        "subtotal": "240.00",
        "points_redeemed": 0,
        "actor_id": customer.pk,
        "reason": "placed",
    }
    topics = Event.objects.filter(type="order.status_changed").first().topics
    assert topics == [f"order:{order['id']}", f"store:{bread.store_id}", f"user:{customer.pk}"]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((), "preparing"),
        (("confirmed",), "delivered"),
        (("confirmed", "preparing"), "out_for_delivery"),
    ],
)
def test_moves_out_of_order_are_refused_and_change_nothing(callers, bread, path, refused):
    order = place(callers["customer"], bread)
    for status in path:
        assert move(callers["staff_a"], order["id"], status).status_code == 200
    before = OrderStatusChange.objects.count()
    response = move(callers["staff_a"], order["id"], refused)
    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"
    assert OrderStatusChange.objects.count() == before
    assert Order.objects.get(pk=order["id"]).status == (path[-1] if path else "pending")


def test_a_delivered_order_cannot_be_cancelled(callers, bread):
    order = place(callers["customer"], bread, body={"fulfilment": "delivery"})
    for status in ("confirmed", "preparing", "out_for_delivery", "delivered"):
        assert move(callers["staff_a"], order["id"], status).status_code == 200
    response = move(callers["staff_a"], order["id"], "cancelled")
    problem = response.json()
    assert problem["code"] == "transition_not_allowed"
    # The problem's `status` is the HTTP status; the order's own is beside it.
    assert (problem["status"], problem["current_status"]) == (409, "delivered")


def test_cancelling_returns_the_stock_and_records_who_and_why(callers, bread):
    order = place(callers["customer"], bread, 3)
    assert StockItem.objects.get(pk=bread.pk).quantity == 7
    response = move(callers["staff_a"], order["id"], "cancelled", "oven broke")
    assert response.status_code == 200
    assert StockItem.objects.get(pk=bread.pk).quantity == 10
    back = StockMovement.objects.get(item=bread, reason="return")
    assert back.delta == 3 and back.actor == callers["users"]["staff_a"]
    stored = Order.objects.get(pk=order["id"])
    assert stored.cancel_reason == "oven broke"
    assert stored.cancelled_by == callers["users"]["staff_a"]
    last = events_of(order["id"])[-1]
    assert (last["status"], last["previous_status"], last["reason"]) == (
        "cancelled",
        "pending",
        "oven broke",
    )
    # Cancelled is final: a second cancel returns nothing twice.
    assert move(callers["staff_a"], order["id"], "cancelled").status_code == 409
    assert StockItem.objects.get(pk=bread.pk).quantity == 10


def test_a_customer_may_only_cancel_and_only_early(callers, bread):
    customer = callers["customer"]
    order = place(customer, bread)
    refused = move(customer, order["id"], "confirmed")
    assert refused.status_code == 403
    assert refused.json()["code"] == "store_staff_required"
    assert move(callers["staff_a"], order["id"], "confirmed").status_code == 200
    assert move(callers["staff_a"], order["id"], "preparing").status_code == 200
    late = move(customer, order["id"], "cancelled")
    assert late.status_code == 409 and late.json()["code"] == "transition_not_allowed"

    early = place(customer, bread, key="k2")
    assert move(customer, early["id"], "cancelled", "changed my mind").status_code == 200


def test_orders_stay_inside_their_tenants(callers, bread, make_user):
    from django.test import Client

    from shelfwatch.accounts.tokens import issue_access_token

    order = place(callers["customer"], bread)
    other = make_user("other@example.com")
    other_caller = Client(HTTP_AUTHORIZATION="Bearer " + issue_access_token(user=other)[0])

    assert other_caller.get(f"/api/v1/orders/{order['id']}").status_code == 404
    assert other_caller.get("/api/v1/orders").json()["items"] == []
    assert callers["owner_b"].get(f"/api/v1/orders/{order['id']}").status_code == 404
    assert move(callers["owner_b"], order["id"], "confirmed").status_code == 404
    board_b = callers["owner_b"].get(f"/api/v1/orders/store/{bread.store_id}")
    assert board_b.status_code == 404

    assert callers["customer"].get(f"/api/v1/orders/{order['id']}").status_code == 200
    assert [o["id"] for o in callers["customer"].get("/api/v1/orders").json()["items"]] == [
        order["id"]
    ]
    board = callers["staff_a"].get(f"/api/v1/orders/store/{bread.store_id}?status=pending")
    assert [o["id"] for o in board.json()["items"]] == [order["id"]]
    assert callers["admin"].get(f"/api/v1/orders/{order['id']}").status_code == 200


def test_a_visitor_reads_the_order_of_their_session_only(client, bread):
    from django.test import Client

    line = {"store_id": bread.store_id, "product_id": bread.product_id, "quantity": 1}
    client.post("/api/v1/cart/lines", data=json.dumps(line), content_type="application/json")
    order = client.post(
        "/api/v1/checkout", data="{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY="v"
    ).json()
    assert client.get(f"/api/v1/orders/{order['id']}").status_code == 200
    assert Client().get(f"/api/v1/orders/{order['id']}").status_code == 404


def test_the_order_topic_is_for_its_customer_and_its_store(callers, bread):
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.events.topics import may_follow

    order = place(callers["customer"], bread)
    topic = f"order:{order['id']}"

    def principal(name):
        return Principal.of(active_user(callers["users"][name].pk), "jwt")

    assert may_follow(principal("customer"), topic)
    assert may_follow(principal("staff_a"), topic)
    assert may_follow(principal("admin"), topic)
    assert not may_follow(principal("owner_b"), topic)
    assert not may_follow(None, topic)
