"""Opt-outs that always apply: people are matched by the wa_id Meta answers with, buttons by
their id or payload, marketing stops from `user_preferences`; statuses that come early are
kept; malformed or foreign webhooks change nothing; START restores what STOP turned off."""

from __future__ import annotations

import json
import logging

import pytest
from django.utils import timezone

from shelfwatch.alerts.models import Subscription
from shelfwatch.notify.delivery import deliver_batch
from shelfwatch.notify.models import EarlyStatus, Notification, WhatsAppProfile
from shelfwatch.notify.whatsapp_webhook import apply_early_statuses
from tests.fakes.whatsapp import (
    DEFAULT_APP_SECRET,
    inbound_payload,
    sign,
    status_payload,
)
from tests.notify.conftest import make_contact, post_signed, queue

pytestmark = pytest.mark.django_db


def deliver():
    return deliver_batch(worker="test-worker", limit=100)


def post(client, payload: dict):
    body = json.dumps(payload).encode()
    return post_signed(client, body, sign(body, DEFAULT_APP_SECRET))


def watched_items(n: int):
    from shelfwatch.watch.models import Source, WatchedItem

    source = Source.objects.create(name="S", kind="internal")
    return [
        WatchedItem.objects.create(source=source, external_id=str(i), name=f"Item {i}")
        for i in range(n)
    ]


def test_a_person_whose_wa_id_differs_from_the_dialled_number_can_stop(client, whatsapp):
    contact = make_contact(address="+5511912345678")  # Brazil: Meta drops the ninth digit
    queue(contact)
    assert deliver().sent == 1
    assert WhatsAppProfile.objects.get(contact=contact).wa_id == "551112345678"
    answer = post(client, inbound_payload("+5511912345678", text="STOP"))  # from: 5511...
    assert answer.status_code == 200 and answer.json()["messages"] == 1
    contact.refresh_from_db()
    assert not contact.is_active and contact.opted_out_at is not None


def test_a_quick_reply_payload_is_read_before_its_label(client, whatsapp):
    contact = make_contact()
    post(client, inbound_payload(contact.address, button=("stop_alerts", "अलर्ट बंद करें")))
    contact.refresh_from_db()
    assert not contact.is_active


def test_an_interactive_reply_id_is_read_before_its_title(client, whatsapp):
    contact = make_contact()
    post(client, inbound_payload(contact.address, button_reply=("stop_alerts", "रोकें नहीं")))
    contact.refresh_from_db()
    assert not contact.is_active
    post(client, inbound_payload(contact.address, button_reply=("start_alerts", "STOP")))
    contact.refresh_from_db()
    assert contact.is_active


def test_start_restores_exactly_what_stop_switched_off(client, whatsapp):
    contact = make_contact()
    kept_on, switched_off_before = (
        Subscription.objects.create(contact=contact, item=item) for item in watched_items(2)
    )
    Subscription.objects.filter(pk=switched_off_before.pk).update(is_active=False)
    post(client, inbound_payload(contact.address, text="stop"))
    post(client, inbound_payload(contact.address, text="STOP"))  # twice: still remembered
    assert not Subscription.objects.filter(contact=contact, is_active=True).exists()
    post(client, inbound_payload(contact.address, text="START"))
    contact.refresh_from_db()
    assert contact.is_active and contact.opted_out_at is None
    on = set(Subscription.objects.filter(is_active=True).values_list("pk", flat=True))
    assert on == {kept_on.pk}
    assert Notification.objects.filter(template="started").count() == 1


def test_user_preferences_stop_and_resume_marketing_templates_only(client, whatsapp):
    contact = make_contact()
    _payload, body, signature = whatsapp.stop_marketing(contact.address)
    assert post_signed(client, body, signature).json()["preferences"] == 1
    drop = queue(contact, "watch.price_changed", context={}, key="drop")
    restock = queue(contact, "watch.back_in_stock", context={}, key="restock")
    summary = deliver()
    assert summary.cancelled == 1 and summary.sent == 1
    drop.refresh_from_db()
    restock.refresh_from_db()
    assert drop.status == "cancelled" and restock.status == "sent"
    _payload, body, signature = whatsapp.stop_marketing(contact.address, value="resume")
    post_signed(client, body, signature)
    queue(contact, "watch.price_changed", context={}, key="drop-again")
    assert deliver().sent == 1
    assert whatsapp.messages[-1].template == "shelfwatch_price_drop"


def test_a_status_that_comes_before_its_acceptance_is_kept_and_applied(client, whatsapp):
    note = queue(make_contact())
    deliver()
    note.refresh_from_db()
    message_id = note.provider_message_id
    # As if the acceptance were not committed yet when Meta's webhook came.
    Notification.objects.filter(pk=note.pk).update(provider_message_id="", status="sending")
    answer = post(client, status_payload([(message_id, "delivered", note.contact.address)]))
    assert answer.json()["unmatched"] == 1
    assert EarlyStatus.objects.filter(provider_message_id=message_id).exists()
    Notification.objects.filter(pk=note.pk).update(provider_message_id=message_id, status="sent")
    assert apply_early_statuses(force=True) == 1
    note.refresh_from_db()
    assert note.status == "delivered"
    assert not EarlyStatus.objects.exists()


def test_a_malformed_signed_body_is_acknowledged_and_changes_nothing(client, whatsapp, caplog):
    note = queue(make_contact())
    deliver()
    note.refresh_from_db()
    good = status_payload([(note.provider_message_id, "read", note.contact.address)])
    good["entry"].append({"id": "1", "changes": [{"field": "messages", "value": "oops"}]})
    with caplog.at_level(logging.WARNING, logger="shelfwatch.notify"):
        answer = post(client, good)
        not_json = post_signed(client, b"{not json", sign(b"{not json", DEFAULT_APP_SECRET))
    assert answer.status_code == 200 and answer.json() == {"ignored": "malformed"}
    assert not_json.status_code == 200
    assert "malformed" in caplog.text
    note.refresh_from_db()
    assert note.status == "sent"  # the good status in the same body was not applied


def test_updates_for_another_phone_number_are_ignored(client, whatsapp):
    contact = make_contact()
    other = inbound_payload(contact.address, text="STOP", phone_number_id="999000999")
    assert post(client, other).json()["other_number"] == 1
    contact.refresh_from_db()
    assert contact.is_active


def test_a_changed_number_keeps_the_person_reachable_for_stop(client, whatsapp):
    contact = make_contact()
    _payload, body, signature = whatsapp.change_number(contact.address, "+919123456789")
    assert post_signed(client, body, signature).json()["messages"] == 1
    post(client, inbound_payload("+919123456789", text="STOP"))
    contact.refresh_from_db()
    assert not contact.is_active and contact.opted_out_at <= timezone.now()


def test_template_parameters_are_cleaned_before_sending(whatsapp):
    contact = make_contact()
    queue(
        contact,
        "manage_link",
        context={"url": "Whey\n1 kg\t\tpack      " + "x" * 400},
        key="messy",
    )
    assert deliver().sent == 1  # the fake, like Meta, refuses newlines, tabs, 5 spaces
    [param] = whatsapp.messages[-1].body["template"]["components"][0]["parameters"]
    assert param["text"].startswith("Whey 1 kg pack x")
    assert len(param["text"]) == 256 and param["text"].endswith("\u2026")
