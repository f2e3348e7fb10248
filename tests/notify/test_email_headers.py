"""Email headers built from shop text stay one clean line, and a send that cannot succeed
is failed at once instead of retried: checked against a real SMTP sink and SendGrid fake."""

from __future__ import annotations

import pytest

from shelfwatch.events.publishing import emit
from shelfwatch.notify.delivery import deliver_batch
from shelfwatch.watch.models import Source, WatchedItem
from tests.fakes.smtp_sink import SmtpSink
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


def restock_alert(item_name: str, address: str = "asha@example.com"):
    source = Source.objects.create(name="Amul shop", kind="internal")
    item = WatchedItem.objects.create(
        source=source, external_id="1", name=item_name, url="https://shop.example/whey"
    )
    event = emit(
        type="watch.back_in_stock",
        payload={"item_id": item.pk, "price": "2399.00", "currency": "INR", "episode": 1},
        topics=[f"watched:{item.pk}"],
    )
    return queue(make_contact("email", address), "watch.back_in_stock", context={}, event=event)


@pytest.mark.parametrize(
    "name",
    [
        "Whey\r\nBcc: victim@evil.test",
        "Whey\nX-Injected: yes",
        "Whey\rProtein",
        "Whey\x07\x1b[31m\u2028Protein",
        "Whey\tProtein\u0085",
    ],
)
def test_a_product_name_with_line_breaks_still_sends_one_clean_subject(smtp, name):
    note = restock_alert(name)
    assert deliver().sent == 1
    [mail] = smtp.wait_for(1)
    assert mail.subject.startswith("Whey ") and mail.subject.endswith(
        "is back in stock at Amul shop"
    )
    assert all(ord(c) >= 32 and c not in "\u0085\u2028" for c in mail.subject)
    assert mail.rcpt_tos == ["asha@example.com"]
    assert "X-Injected" not in mail.headers and "Bcc" not in mail.headers
    note.refresh_from_db()
    assert note.status == "sent"


def test_a_very_long_product_name_is_cut(smtp, settings):
    settings.NOTIFY_EMAIL_SUBJECT_MAX = 80
    restock_alert("Whey " * 100)
    deliver()
    [mail] = smtp.wait_for(1)
    subject = mail.subject.strip()  # a folded header may come back with its fold space
    assert len(subject) == 80 and subject.endswith("…")


def test_a_permanent_smtp_refusal_is_not_retried(smtp):
    note = queue(make_contact("email", "asha@example.com"))
    smtp.reject_next(1, code=554, text="5.7.1 Message rejected")
    assert deliver().failed == 1
    note.refresh_from_db()
    assert (note.status, note.last_error_code, note.attempts) == ("failed", "554", 1)


def test_a_provider_refusing_the_message_is_not_retried(delivery_settings):
    from tests.fakes.sendgrid import SendGridFake

    with SendGridFake(api_key="SG.test-key") as sendgrid:
        delivery_settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
        delivery_settings.ANYMAIL = {
            "SENDGRID_API_KEY": "SG.test-key",
            "SENDGRID_API_URL": sendgrid.api_url,
        }
        delivery_settings.NOTIFY_EMAIL_RATE_PER_SECOND = 1000
        sendgrid.fail_next(1, status=400)
        note = queue(make_contact("email", "asha@example.com"))
        assert deliver().failed == 1
    note.refresh_from_db()
    assert (note.status, note.last_error_code) == ("failed", "400")
