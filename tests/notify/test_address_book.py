"""The address book and the outbox door: one stop and one start for every way a contact is
stopped, and messages rendered from what was captured when they were enqueued."""

from __future__ import annotations

import json

import pytest

from shelfwatch.alerts.matching import notifications_for_event
from shelfwatch.alerts.models import Subscription
from shelfwatch.events.models import Event
from shelfwatch.notify.contacts import start_contact, stop_contact
from shelfwatch.notify.delivery import deliver_batch
from shelfwatch.notify.models import Contact, Notification, NotificationKind
from shelfwatch.notify.outbox import enqueue
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.notify.conftest import make_contact, queue

pytestmark = pytest.mark.django_db


def items(n: int):
    from shelfwatch.watch.models import Source, WatchedItem

    source = Source.objects.create(name="Corner shop", kind="internal")
    return [
        WatchedItem.objects.create(source=source, external_id=str(i), name=f"Item {i}")
        for i in range(n)
    ]


def subscriptions_on(contact: Contact) -> set[int]:
    return set(contact.subscriptions.filter(is_active=True).values_list("pk", flat=True))


def test_an_address_gone_for_good_switches_its_subscriptions_off(
    delivery_settings, loopback_allowed
):
    with WebhookReceiver(secret="s3cret") as receiver:
        contact = make_contact("webhook", receiver.url("/hooks/a"), signing_secret="s3cret")
        [item] = items(1)
        Subscription.objects.create(contact=contact, item=item)
        receiver.gone()
        queue(contact)
        assert deliver_batch(worker="test-worker", limit=10).failed == 1
    contact.refresh_from_db()
    assert not contact.is_active and contact.opted_out_at is not None
    assert subscriptions_on(contact) == set()


def test_start_brings_back_what_an_opt_out_switched_off_but_not_a_manage_page_stop():
    contact = make_contact()
    first, _second = (Subscription.objects.create(contact=contact, item=i) for i in items(2))
    stop_contact(contact=contact)  # "unsubscribe from all" on the manage page
    assert start_contact(contact=contact) == 0
    assert subscriptions_on(contact) == set()

    Subscription.objects.filter(pk=first.pk).update(is_active=True)
    stop_contact(contact=contact, opted_out=True)  # the person's STOP
    contact.refresh_from_db()
    assert not contact.is_active and contact.opted_out_at is not None
    assert start_contact(contact=contact) == 1
    contact.refresh_from_db()
    assert contact.is_active and contact.opted_out_at is None
    assert subscriptions_on(contact) == {first.pk}


def test_admin_stop_and_start_go_through_the_address_book(admin_client):
    contact = make_contact()
    [item] = items(1)
    subscription = Subscription.objects.create(contact=contact, item=item)
    url = "/admin/notify/contact/"
    answer = admin_client.post(
        url, {"action": "stop_contacts", "_selected_action": [contact.pk]}, follow=True
    )
    assert answer.status_code == 200
    contact.refresh_from_db()
    subscription.refresh_from_db()
    assert not contact.is_active and not subscription.is_active
    admin_client.post(url, {"action": "start_contacts", "_selected_action": [contact.pk]})
    contact.refresh_from_db()
    assert contact.is_active


def test_enqueue_is_idempotent_by_key():
    contact = make_contact()
    first = enqueue(
        contact=contact, template="manage_link", context={"url": "u"}, idempotency_key="k"
    )
    again = enqueue(
        contact=contact, template="manage_link", context={"url": "other"}, idempotency_key="k"
    )
    assert first.pk == again.pk and again.context == {"url": "u"}
    assert Notification.objects.count() == 1


def test_an_alert_is_sent_from_its_captured_context_even_if_the_item_is_gone_since(whatsapp):
    contact = make_contact()
    [item] = items(1)
    Subscription.objects.create(contact=contact, item=item)
    event = Event.objects.create(
        type="watch.back_in_stock",
        payload={"item_id": item.pk, "episode": 1, "price": "25.00", "currency": "INR"},
    )
    assert notifications_for_event(event) == 1
    [note] = Notification.objects.all()
    assert note.kind == NotificationKind.ALERT
    assert note.context["product"] == "Item 0" and note.context["source"] == "Corner shop"
    item.source.delete()  # the shop is removed before the message goes out
    note.refresh_from_db()
    assert deliver_batch(worker="test-worker", limit=10).sent == 1
    [sent] = whatsapp.messages
    assert "Item 0" in json.dumps(sent.body)
