"""Email (SMTP), webhooks and Apprise, each against a real local receiver; quiet hours,
digests, per-person pacing and the in-app inbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from shelfwatch.events.publishing import emit
from shelfwatch.notify.delivery import deliver_batch
from shelfwatch.notify.models import InboxItem, Notification
from shelfwatch.notify.quiet_hours import quiet_until
from shelfwatch.watch.models import Source, WatchedItem
from tests.fakes.json_service import Reply
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.notify.conftest import make_contact, queue

pytestmark = pytest.mark.django_db


def deliver():
    return deliver_batch(worker="test-worker", limit=100)


@pytest.fixture
def smtp(delivery_settings):
    with SmtpSink() as sink:
        delivery_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        delivery_settings.EMAIL_HOST = sink.host
        delivery_settings.EMAIL_PORT = sink.port
        delivery_settings.EMAIL_USE_TLS = False
        delivery_settings.NOTIFY_EMAIL_RATE_PER_SECOND = 1000
        yield sink


@pytest.fixture
def restock_event(db):
    source = Source.objects.create(name="Amul shop", kind="internal")
    item = WatchedItem.objects.create(
        source=source, external_id="1", name="Amul Whey Protein", url="https://shop.example/whey"
    )
    event = emit(
        type="watch.back_in_stock",
        payload={"item_id": item.pk, "price": "2399.00", "currency": "INR", "episode": 1},
        topics=[f"watched:{item.pk}"],
    )
    return item, event


def test_email_has_text_html_and_one_click_unsubscribe(smtp, restock_event):
    from shelfwatch.alerts.models import Subscription

    item, event = restock_event
    contact = make_contact("email", "asha@example.com")
    subscription = Subscription.objects.create(contact=contact, item=item)
    queue(contact, "watch.back_in_stock", context={}, event=event, subscription=subscription)
    assert deliver().sent == 1
    [mail] = smtp.wait_for(1)
    assert mail.subject == "Amul Whey Protein is back in stock at Amul shop"
    assert "INR 2399.00" in mail.text and "https://shop.example/whey" in mail.html
    unsubscribe = mail.header("List-Unsubscribe").strip()
    assert unsubscribe.startswith("<http") and "/alerts/unsubscribe/" in unsubscribe
    assert mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"


def test_smtp_temporary_refusal_is_retried(smtp):
    note = queue(make_contact("email", "asha@example.com"))
    smtp.reject_next(1, code=451)
    assert deliver().retried == 1
    note.refresh_from_db()
    assert note.status == "pending" and note.last_error_code == "451"


def test_hindi_contact_gets_hindi_text(smtp, restock_event):
    _item, event = restock_event
    contact = make_contact("email", "ravi@example.com", language="hi")
    queue(contact, "watch.back_in_stock", context={}, event=event)
    deliver()
    [mail] = smtp.wait_for(1)
    assert "फिर से उपलब्ध" in mail.text


def test_webhook_is_signed_and_a_410_stops_it(delivery_settings, loopback_allowed):
    with WebhookReceiver(secret="s3cret") as receiver:
        contact = make_contact(
            "webhook", receiver.url("/hooks/shelfwatch"), signing_secret="s3cret"
        )
        note = queue(contact)
        assert deliver().sent == 1
        [delivery] = receiver.wait_for(1)
        assert delivery.signature_valid and delivery.event == "verify_code"
        assert delivery.delivery_id == str(note.pk) and delivery.json["data"] == {"code": "123456"}
        receiver.gone()
        queue(contact, key="second")
        assert deliver().failed == 1
        contact.refresh_from_db()
        assert not contact.is_active


class BusyReceiver(WebhookReceiver):
    """Answers 429 with a Retry-After of superscript two: a digit to `str.isdigit` only."""

    def handle(self, call):
        return Reply(429, b"{}", headers=[("Retry-After", "\u00b2")])


def test_webhook_busy_with_a_retry_after_that_is_no_number_is_retried_later(
    delivery_settings, loopback_allowed
):
    with BusyReceiver() as receiver:
        note = queue(make_contact("webhook", receiver.url("/hook"), signing_secret="x"))
        deliver()
        note.refresh_from_db()
        assert note.status == "pending" and note.last_error_code == "429"


def test_webhook_to_a_private_address_is_refused(delivery_settings, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    note = queue(make_contact("webhook", "http://127.0.0.1:9/hook", signing_secret="x"))
    assert deliver().failed == 1
    note.refresh_from_db()
    assert note.last_error_code == "address_not_allowed"


def test_apprise_json_url_reaches_the_receiver(delivery_settings, loopback_allowed):
    with WebhookReceiver() as receiver:
        url = receiver.url("/apprise").replace("http://", "json://")
        note = queue(make_contact("apprise", url))
        assert deliver().sent == 1
        [message] = receiver.apprise_messages()
        assert "123456" in message["message"]
        note.refresh_from_db()
        assert note.status == "sent"


def test_quiet_hours_hold_alerts_but_not_codes(whatsapp, settings):
    settings.NOTIFY_QUIET_HOURS = "00:00-23:59"  # always quiet
    contact = make_contact(timezone="Asia/Kolkata")
    alert = queue(contact, "watch.price_changed", context={}, urgent=False, key="alert")
    code = queue(contact, key="code")
    summary = deliver()
    assert summary.sent == 1 and summary.deferred == 1
    alert.refresh_from_db()
    code.refresh_from_db()
    assert code.status == "sent" and alert.status == "pending"
    local = alert.next_attempt_at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert local.hour == 23 and local.minute == 59


def test_quiet_until_is_the_next_morning_in_the_contacts_zone():
    night = datetime(2026, 12, 1, 17, 0, tzinfo=ZoneInfo("UTC"))  # 22:30 in Kolkata
    morning = quiet_until(night, "Asia/Kolkata", "22:00-08:00")
    assert morning.astimezone(ZoneInfo("Asia/Kolkata")).isoformat() == ("2026-12-02T08:00:00+05:30")
    assert quiet_until(night, "Europe/London", "22:00-08:00") is None  # 17:00 there


def test_alerts_close_together_go_out_as_one_digest(whatsapp, settings):
    settings.NOTIFY_DIGEST_SECONDS = 60
    contact = make_contact()
    earlier = timezone.now() - timedelta(seconds=120)
    first = queue(
        contact, "watch.price_changed", context={}, urgent=False, key="a", created_at=earlier
    )
    second = queue(
        contact, "watch.out_of_stock", context={}, urgent=False, key="b", created_at=earlier
    )
    assert deliver().sent == 2
    [sent] = whatsapp.messages
    assert sent.template == "shelfwatch_digest"
    second.refresh_from_db()
    assert second.status == "sent" and second.digest_of_id == first.pk


def test_one_person_is_paced(whatsapp, settings):
    settings.NOTIFY_RECIPIENT_MIN_INTERVAL_SECONDS = 60
    contact = make_contact()
    for n in range(3):
        queue(contact, "watch.price_changed", context={}, urgent=False, key=f"p{n}")
    summary = deliver()
    assert summary.sent == 1 and summary.deferred == 2
    assert Notification.objects.filter(status="pending").count() == 2


def test_signed_in_users_get_an_inbox_item_and_an_event(whatsapp, callers, restock_event):
    from shelfwatch.events.models import Event

    _item, event = restock_event
    user = callers["users"]["customer"]
    contact = make_contact(user=user)
    queue(contact, "watch.back_in_stock", context={}, event=event)
    deliver()
    [entry] = InboxItem.objects.filter(user=user)
    assert "Amul Whey Protein" in entry.title
    [announced] = Event.objects.filter(type="notify.inbox")
    assert announced.topics == [f"user:{user.pk}"]
    inbox = callers["customer"].get("/api/v1/notifications").json()["items"]
    assert [i["title"] for i in inbox] == [entry.title]
    read = callers["customer"].post(f"/api/v1/notifications/{entry.pk}/read").json()
    assert read["read_at"] is not None
    assert callers["staff_a"].post(f"/api/v1/notifications/{entry.pk}/read").status_code == 404


def test_sendgrid_through_anymail(delivery_settings):
    from tests.fakes.sendgrid import SendGridFake

    with SendGridFake(api_key="SG.test-key") as sendgrid:
        delivery_settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
        delivery_settings.ANYMAIL = {
            "SENDGRID_API_KEY": "SG.test-key",
            "SENDGRID_API_URL": sendgrid.api_url,
        }
        delivery_settings.NOTIFY_EMAIL_RATE_PER_SECOND = 1000
        delivery_settings.DEFAULT_FROM_EMAIL = "Shelfwatch <alerts@shelfwatch.example>"
        note = queue(make_contact("email", "asha@example.com"))
        deliver()
        note.refresh_from_db()
        assert note.status == "sent", note.last_error
        [mail] = sendgrid.messages
        assert mail.subject == "Your Shelfwatch code: 123456"
        assert mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        note.refresh_from_db()
        assert note.provider_message_id  # SendGrid's X-Message-Id
        sendgrid.fail_next(1, status=503)
        queue(make_contact("email", "ravi@example.com"), key="second")
        assert deliver().retried == 1


def test_a_receiver_with_another_secret_sees_a_bad_signature(delivery_settings, loopback_allowed):
    with WebhookReceiver(secret="receivers-own-secret") as receiver:
        contact = make_contact("webhook", receiver.url("/hook"), signing_secret="not-the-same")
        queue(contact)
        deliver()
        [delivery] = receiver.wait_for(1)
        assert not delivery.signature_valid
