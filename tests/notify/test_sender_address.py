"""The sender address: the default one is refused by email providers, and the start-up
check says so before any alert is lost."""

from __future__ import annotations

import pytest

from shelfwatch.notify.apps import sender_has_a_public_domain
from shelfwatch.notify.delivery import deliver_batch
from tests.fakes.sendgrid import SendGridFake
from tests.notify.conftest import make_contact, queue

DEFAULT_SENDER = "Shelfwatch <noreply@localhost>"


def _sendgrid(settings, fake: SendGridFake) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    settings.ANYMAIL = {"SENDGRID_API_KEY": "SG.test-key", "SENDGRID_API_URL": fake.api_url}
    settings.NOTIFY_EMAIL_RATE_PER_SECOND = 1000


@pytest.mark.django_db
def test_sendgrid_refuses_the_default_sender_so_the_email_fails(delivery_settings):
    with SendGridFake(api_key="SG.test-key") as sendgrid:
        _sendgrid(delivery_settings, sendgrid)
        delivery_settings.DEFAULT_FROM_EMAIL = DEFAULT_SENDER
        note = queue(make_contact("email", "asha@example.com"))
        deliver_batch(worker="test-worker", limit=100)
        note.refresh_from_db()
        assert note.status == "failed"
        assert not sendgrid.messages


def test_the_start_up_check_warns_about_a_sender_without_a_public_domain(settings):
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = DEFAULT_SENDER
    assert [w.id for w in sender_has_a_public_domain()] == ["notify.W001"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert [w.id for w in sender_has_a_public_domain()] == ["notify.W001"]
    settings.DEFAULT_FROM_EMAIL = "Kirana <alerts@kirana.example.com>"
    assert sender_has_a_public_domain() == []


def test_a_local_backend_takes_any_sender(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = DEFAULT_SENDER
    assert sender_has_a_public_domain() == []
