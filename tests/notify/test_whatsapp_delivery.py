"""WhatsApp delivery against a fake Cloud API: templates, replies, errors in the send
response, status webhooks and STOP / START (errors reported by webhook, pauses and opt-outs:
test_whatsapp_errors.py and test_whatsapp_optouts.py)."""

from __future__ import annotations

import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from shelfwatch.alerts.models import Subscription
from shelfwatch.notify.delivery import deliver_batch
from shelfwatch.notify.models import DeliveryAttempt, Notification
from tests.fakes.whatsapp import DEFAULT_APP_SECRET, DEFAULT_PHONE_NUMBER_ID, sign
from tests.notify.conftest import make_contact, queue

pytestmark = pytest.mark.django_db


def deliver():
    return deliver_batch(worker="test-worker", limit=100)


def test_a_code_goes_out_as_an_authentication_template_with_its_copy_code_button(whatsapp):
    # Registered as Meta requires: preset text, one parameter, a copy-code button.
    whatsapp.add_template("shelfwatch_verify_code", "en", body_params=1, category="AUTHENTICATION")
    contact = make_contact()
    note = queue(contact)
    assert deliver().sent == 1
    [sent] = whatsapp.messages
    assert sent.type == "template" and sent.template == "shelfwatch_verify_code"
    body, button = sent.body["template"]["components"]
    assert body["parameters"] == [{"type": "text", "text": "123456"}]
    assert button == {
        "type": "button",
        "sub_type": "url",
        "index": "0",
        "parameters": [{"type": "text", "text": "123456"}],
    }
    assert sent.wa_id == "919876543210"
    note.refresh_from_db()
    assert note.status == "sent" and note.provider_message_id == sent.id and note.attempts == 1
    assert note.context == {}  # the code is not kept once it is sent
    assert note.sent_at is not None
    # The row itself records the accepted try; attempt rows are kept for failed ones.
    assert not DeliveryAttempt.objects.filter(notification=note).exists()
    assert deliver().claimed == 0  # sent once, never again


def test_inside_the_reply_window_an_alert_has_a_stop_button(whatsapp):
    contact = make_contact(last_inbound_at=timezone.now() - timedelta(hours=1))
    queue(contact, "watch.back_in_stock", context={})
    deliver()
    [sent] = whatsapp.messages
    assert sent.type == "interactive"
    buttons = sent.body["interactive"]["action"]["buttons"]
    assert buttons == [{"type": "reply", "reply": {"id": "stop_alerts", "title": "Stop alerts"}}]


def test_window_closed_retries_at_once_as_a_template(whatsapp):
    contact = make_contact(last_inbound_at=timezone.now() - timedelta(hours=1))
    note = queue(contact, "watch.back_in_stock", context={})
    whatsapp.error_next(131047, via="response")  # Meta reports it both ways
    assert deliver().retried == 1
    note.refresh_from_db()
    contact.refresh_from_db()
    assert note.status == "pending" and contact.last_inbound_at is None
    assert note.next_attempt_at <= timezone.now() + timedelta(seconds=60)
    Notification.objects.update(next_attempt_at=timezone.now())
    assert deliver().sent == 1
    assert whatsapp.messages[-1].type == "template"


@pytest.mark.parametrize(
    ("code", "status", "error_code"),
    [
        (131026, "failed", "131026"),  # undeliverable: this message fails
        (132001, "failed", "132001"),  # no such template: this message fails
        (131056, "pending", "131056"),  # pair rate: retry, not before a minute
        (131000, "pending", "131000"),  # generic: retry
        (131049, "pending", "131049"),  # per-person marketing limit: retry, hours later
    ],
)
def test_errors_in_the_send_response_are_classified_by_the_table(
    whatsapp, code, status, error_code
):
    note = queue(make_contact(), "manage_link", context={"url": "https://x.example/m"})
    whatsapp.error_next(code, via="response")
    deliver()
    note.refresh_from_db()
    assert note.status == status and note.last_error_code == error_code
    if code == 131056:
        assert note.next_attempt_at > timezone.now() + timedelta(seconds=59)
    if code == 131049:
        assert note.next_attempt_at > timezone.now() + timedelta(hours=4)
    if code == 131000:
        assert note.next_attempt_at > timezone.now() + timedelta(seconds=5)


def test_http_429_honours_retry_after(whatsapp):
    note = queue(make_contact())
    whatsapp.rate_limit_next(1, retry_after=600)
    deliver()
    note.refresh_from_db()
    assert note.status == "pending"
    assert note.next_attempt_at > timezone.now() + timedelta(seconds=590)


def test_a_429_whose_retry_after_is_no_ascii_number_is_retried_on_the_usual_pace():
    from shelfwatch.notify.channels.whatsapp import classify

    result = classify(429, {}, {"retry-after": "\u00b2"})
    assert result.retry_after is None and result.code == "429"


def test_attempts_run_out_and_the_admin_can_retry(whatsapp, settings, callers):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    note = queue(make_contact())
    whatsapp.fail_next(5, status=500)
    deliver()
    Notification.objects.update(next_attempt_at=timezone.now())
    deliver()
    note.refresh_from_db()
    assert note.status == "failed" and note.attempts == 2
    retried = callers["admin"].post(f"/api/v1/notifications/{note.pk}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    whatsapp.clear_faults()
    assert deliver().sent == 1
    assert callers["customer"].post(f"/api/v1/notifications/{note.pk}/retry").status_code == 403


PHONE_ID = DEFAULT_PHONE_NUMBER_ID


def webhook_post(client, document: dict, *, secret: str = DEFAULT_APP_SECRET, tamper: bool = False):
    raw = json.dumps(document).encode()
    signature = sign(raw, secret)
    if tamper:
        raw = raw.replace(b"delivered", b"read")
    return client.post(
        "/api/v1/notify/whatsapp/webhook",
        data=raw,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature},
    )


def statuses(*pairs) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "statuses": [
            {"id": mid, "status": st, "timestamp": "1764547200", "recipient_id": "919876543210"}
            for mid, st in pairs
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


def test_status_webhooks_move_forward_only_and_need_the_signature(client, whatsapp):
    note = queue(make_contact())
    deliver()
    note.refresh_from_db()
    mid = note.provider_message_id
    assert webhook_post(client, statuses((mid, "delivered")), tamper=True).status_code == 401
    note.refresh_from_db()
    assert note.status == "sent"  # a tampered body changed nothing
    assert webhook_post(client, statuses((mid, "read"))).status_code == 200
    assert webhook_post(client, statuses((mid, "delivered"))).status_code == 200  # late
    note.refresh_from_db()
    assert note.status == "read"
    forged = webhook_post(client, statuses((mid, "failed")), secret="someone-else")
    assert forged.status_code == 401


def test_the_verification_handshake(client, whatsapp):
    url = "/api/v1/notify/whatsapp/webhook"
    ok = client.get(
        url,
        {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.content == b"1158201444"
    bad = client.get(
        url, {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "x"}
    )
    assert bad.status_code == 403


@pytest.mark.parametrize("guess", ["vérify-me", "verify-mé", "\u0000", "✓" * 64])
def test_a_verify_token_guess_with_non_ascii_characters_is_refused_as_a_problem(
    client, whatsapp, guess
):
    response = client.get(
        "/api/v1/notify/whatsapp/webhook",
        {"hub.mode": "subscribe", "hub.verify_token": guess, "hub.challenge": "x"},
    )
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "verify_token_mismatch"


def test_the_verify_token_is_compared_in_constant_time(client, whatsapp, monkeypatch):
    # The standard library's comparison is watched, not replaced: the answer is still ours.
    seen = []
    real = hmac.compare_digest

    def watched(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", watched)
    url = "/api/v1/notify/whatsapp/webhook"
    right = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"}
    assert client.get(url, right).content == b"42"
    wrong = {**right, "hub.verify_token": "verify-mf"}
    assert client.get(url, wrong).status_code == 403
    assert seen == [(b"verify-me", b"verify-me"), (b"verify-mf", b"verify-me")]


def test_verify_token_guesses_are_rate_limited_per_ip(client, whatsapp, settings):
    # The handshake answers whether a guessed verify token is right, so guessing is limited
    # like logging in: the strict per-IP rate, then 429 even for the right token.
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "whatsapp_verify": "3/h"}
    url = "/api/v1/notify/whatsapp/webhook"
    wrong = {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "x"}
    statuses = [client.get(url, wrong).status_code for _ in range(3)]
    assert statuses == [403, 403, 403]
    right = {**wrong, "hub.verify_token": "verify-me"}
    limited = client.get(url, right)
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    # Another address (Meta's servers) still completes the handshake.
    assert client.get(url, right, REMOTE_ADDR="10.9.8.7").content == b"x"


def inbound(text: str | None = None, button: tuple[str, str] | None = None) -> dict:
    message = {
        "from": "919876543210",
        "id": f"wamid.in.{text or button[0]}",
        "timestamp": str(int(timezone.now().timestamp())),
    }
    if text is not None:
        message.update(type="text", text={"body": text})
    else:
        message.update(
            type="interactive",
            interactive={
                "type": "button_reply",
                "button_reply": {"id": button[0], "title": button[1]},
            },
        )
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "messages": [message],
        "contacts": [{"wa_id": "919876543210", "profile": {"name": "Asha"}}],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


def test_stop_button_and_start_reply(client, whatsapp):
    from shelfwatch.watch.models import Source, WatchedItem

    contact = make_contact()
    source = Source.objects.create(name="S", kind="internal")
    item = WatchedItem.objects.create(source=source, external_id="1", name="Whey")
    subscription = Subscription.objects.create(contact=contact, item=item)
    assert webhook_post(client, inbound(button=("stop_alerts", "Stop alerts"))).status_code == 200
    contact.refresh_from_db()
    subscription.refresh_from_db()
    assert not contact.is_active and contact.opted_out_at and not subscription.is_active
    assert contact.last_inbound_at is not None  # the reply window is open
    queue(contact, "watch.back_in_stock", context={}, key="after-stop")
    summary = deliver()
    assert summary.sent == 1 and summary.cancelled == 1  # the confirmation, not the alert
    assert "no more alerts" in whatsapp.messages[-1].body["text"]["body"]
    webhook_post(client, inbound(text="START"))
    contact.refresh_from_db()
    subscription.refresh_from_db()
    assert contact.is_active and subscription.is_active
    # The same webhook delivered twice confirms once.
    webhook_post(client, inbound(text="START"))
    assert Notification.objects.filter(template="started").count() == 1
