"""A visitor follows the order their session placed, live, without an account: the stream
and the events API admit that session for that order's topic and nobody else's."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from shelfwatch.events.hub import Hub
from shelfwatch.events.server import StreamServer
from shelfwatch.shop.models import OrderStatus
from shelfwatch.shop.orders import change_status
from tests.events.sse_harness import AsgiStream, request
from tests.shop.storefront_data import make_bakery
from tests.shop.test_pages_orders import place_order

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/events/stream"


def cookie_of(client: Client) -> dict[str, str]:
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}


def test_a_visitor_hears_their_order_move_on_the_stream_and_others_are_refused():
    bakery = make_bakery()
    buyer = Client()
    order = place_order(buyer, bakery)
    assert order.user_id is None
    html = buyer.get(f"/orders/{order.pk}").content.decode()
    assert f'data-follow-topics="order:{order.pk}"' in html

    other = Client()
    other.post("/store/", {"store": bakery.store.pk, "next": "/"})  # a live session of its own
    topic = {"topics": f"order:{order.pk}"}
    confirm = sync_to_async(change_status)

    async def scenario():
        hub = Hub(tail_interval=0.05)
        app = StreamServer(hub=hub)
        try:
            refused = await request(app, PATH, query=topic, headers=cookie_of(other))
            assert refused.status == 403 and refused.json["code"] == "topic_forbidden"
            made_up = await request(app, PATH, query=topic, headers={"Cookie": "sessionid=x" * 4})
            assert made_up.status == 403

            stream = await AsgiStream(app, PATH, query=topic, headers=cookie_of(buyer)).open()
            assert stream.status == 200
            assert (await stream.next_frame()).retry is not None
            assert (await stream.next_frame()).comments == ["connected"]
            await confirm(order=order, status=OrderStatus.CONFIRMED, actor=None)
            event = await stream.next_event()
            assert event.event == "order.status_changed"
            assert event.json["payload"]["status"] == OrderStatus.CONFIRMED
            await stream.disconnect()
        finally:
            await hub.stop()

    async_to_sync(scenario)()


def test_the_events_api_reads_a_visitors_order_for_their_live_session_only():
    bakery = make_bakery()
    buyer = Client()
    order = place_order(buyer, bakery)
    change_status(order=order, status=OrderStatus.CONFIRMED, actor=None)
    url = f"/api/v1/events/?topics=order:{order.pk}"

    response = buyer.get(url)
    assert response.status_code == 200
    assert [e["payload"]["status"] for e in response.json()["events"]][-1] == "confirmed"
    assert Client().get(url).json()["code"] == "topic_forbidden"

    # The session expired (or was cleared): its old cookie follows nothing any more.
    Session.objects.all().delete()
    assert buyer.get(url).status_code == 403
