"""WhatsApp errors as Meta reports them (in the send response or later in a `failed` status
webhook) take the action of one table: retry, resend as a template, opt out, pause the number
or the channel (across processes, with one email to the operator), or fail the message."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from shelfwatch.notify import pauses
from shelfwatch.notify.apps import whatsapp_api_base_is_https
from shelfwatch.notify.delivery import deliver_batch
from shelfwatch.notify.models import ChannelPause, DeliveryAttempt, Notification
from shelfwatch.notify.whatsapp_errors import PAUSE_CHANNEL, PAUSE_NUMBER, TABLE
from tests.fakes.whatsapp import DEFAULT_PHONE_NUMBER_ID
from tests.notify.conftest import forward_webhooks, make_contact, post_signed, queue

pytestmark = pytest.mark.django_db
NUMBER_KEY = f"whatsapp:{DEFAULT_PHONE_NUMBER_ID}"


def deliver():
    return deliver_batch(worker="test-worker", limit=100)


@pytest.fixture
def operator(settings):
    settings.WHATSAPP_OPERATOR_EMAILS = ["ops@example.com"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


def link(contact, key: str = "m") -> Notification:
    """A utility message that is kept until sent (unlike a code), so it can be sent again."""
    return queue(contact, "manage_link", context={"url": "https://x.example/m"}, key=key)


def test_an_undeliverable_message_reported_later_fails_alone(client, whatsapp):
    note = link(make_contact())
    whatsapp.error_next(131026)  # Meta accepts, then reports it failed
    assert deliver().sent == 1
    note.refresh_from_db()
    assert note.status == "sent"
    [answer] = forward_webhooks(client, whatsapp, 1)
    assert answer.status_code == 200
    note.refresh_from_db()
    assert note.status == "failed" and note.last_error_code == "131026"
    [attempt] = DeliveryAttempt.objects.filter(notification=note)
    assert attempt.outcome == "permanent" and attempt.provider_message_id


def test_a_per_person_marketing_limit_reported_later_retries_hours_later(client, whatsapp):
    note = link(make_contact())
    whatsapp.error_next(131049)
    deliver()
    sent_id = Notification.objects.get(pk=note.pk).provider_message_id
    [(_payload, body, signature)] = whatsapp.take_webhooks(1)
    assert post_signed(client, body, signature).status_code == 200
    note.refresh_from_db()
    assert note.status == "pending" and note.last_error_code == "131049"
    assert note.next_attempt_at > timezone.now() + timedelta(hours=4)
    assert note.provider_message_id == ""  # the failed message no longer names the row
    # Meta sending the same webhook again changes nothing.
    due = note.next_attempt_at
    assert post_signed(client, body, signature).status_code == 200
    note.refresh_from_db()
    assert note.next_attempt_at == due and note.status == "pending"
    Notification.objects.filter(pk=note.pk).update(next_attempt_at=timezone.now())
    assert deliver().sent == 1
    new_id = Notification.objects.get(pk=note.pk).provider_message_id
    assert new_id and new_id != sent_id
    assert len(whatsapp.messages) == 2  # sent again once, as the table says


def test_a_closed_window_reported_later_is_resent_as_a_template(client, whatsapp):
    contact = make_contact(last_inbound_at=timezone.now() - timedelta(hours=1))
    note = queue(contact, "watch.back_in_stock", context={})
    whatsapp.error_next(131047)
    deliver()
    assert whatsapp.messages[-1].type == "interactive"
    forward_webhooks(client, whatsapp, 1)
    note.refresh_from_db()
    contact.refresh_from_db()
    assert note.status == "pending" and contact.last_inbound_at is None
    assert note.next_attempt_at <= timezone.now()
    assert deliver().sent == 1
    assert whatsapp.messages[-1].type == "template"


def test_a_marketing_stop_reported_later_opts_the_person_out_of_marketing_only(client, whatsapp):
    contact = make_contact()
    whatsapp.add_template("shelfwatch_price_drop", "en", body_params=4, category="MARKETING")
    whatsapp.add_template("shelfwatch_manage", "en", body_params=1, category="UTILITY")
    whatsapp.stop_marketing(contact.address)  # Meta knows; we learn it from the failure
    drop = queue(contact, "watch.price_changed", context={}, key="drop", urgent=False)
    deliver()
    forward_webhooks(client, whatsapp, 1)
    drop.refresh_from_db()
    contact.refresh_from_db()
    assert drop.status == "failed" and drop.last_error_code == "131050"
    assert contact.is_active and contact.whatsapp_profile.marketing_stopped_at is not None
    later = queue(contact, "watch.price_changed", context={}, key="drop2", urgent=False)
    useful = link(contact, key="link")
    summary = deliver()
    assert summary.cancelled == 1 and summary.sent == 1
    later.refresh_from_db()
    useful.refresh_from_db()
    assert later.status == "cancelled" and useful.status == "sent"


def test_a_spam_limit_pauses_the_number_and_the_queue_waits(client, whatsapp, operator):
    notes = [link(make_contact(address=f"+9198765432{n:02d}"), key=f"k{n}") for n in range(8)]
    operator.NOTIFY_SEND_THREADS = 2
    whatsapp.error_next(131048, None, via="response")  # every send, until cleared
    summary = deliver()
    assert summary.failed == 0 and summary.sent == 0 and summary.deferred == 8
    # Only the sends already in flight were tried on the restricted number.
    assert 1 <= len(whatsapp.calls()) <= 2
    pause = ChannelPause.objects.get(key=NUMBER_KEY)
    assert pause.active and pause.code == "131048" and "Spam" in pause.reason
    for note in notes:
        note.refresh_from_db()
        assert note.status == "pending" and note.attempts == 0
        assert note.next_attempt_at >= pause.until - timedelta(seconds=1)
    # One email for the pause, however many errors repeated it.
    [email] = mail.outbox
    assert email.to == ["ops@example.com"] and "131048" in email.subject
    # The operator lifts it (or it ends): everything goes out, once.
    whatsapp.clear_errors()
    pauses.lift(NUMBER_KEY)
    Notification.objects.update(next_attempt_at=timezone.now())
    assert deliver().sent == 8
    assert len(whatsapp.messages) == 8 and whatsapp.duplicate_count() == 0


def test_a_spam_limit_reported_later_pauses_the_number_too(client, whatsapp, operator):
    first = link(make_contact(), key="first")
    whatsapp.error_next(131048)  # accepted, then failed by webhook
    deliver()
    forward_webhooks(client, whatsapp, 1)
    first.refresh_from_db()
    assert first.status == "pending" and first.next_attempt_at > timezone.now() + timedelta(
        minutes=50
    )
    second = link(make_contact(address="+919876500000"), key="second")
    assert deliver().deferred == 1
    second.refresh_from_db()
    assert second.status == "pending" and len(whatsapp.messages) == 1
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("code", [133010, 368, 131042, 131031, 190])
def test_account_errors_pause_the_channel_instead_of_failing_the_queue(whatsapp, operator, code):
    operator.NOTIFY_SEND_THREADS = 1
    for n in range(3):
        link(make_contact(address=f"+9198765400{n:02d}"), key=f"a{n}")
    if code == 190:
        whatsapp.expire_token()
    else:
        whatsapp.error_next(code, via="response")
    summary = deliver()
    assert summary.failed == 0 and summary.deferred == 3
    assert not Notification.objects.exclude(status="pending").exists()
    assert Notification.objects.filter(attempts=0).count() == 3
    pause = ChannelPause.objects.get(key="whatsapp")
    assert pause.active and pause.code == str(code)
    assert TABLE[code].action == PAUSE_CHANNEL
    [email] = mail.outbox
    assert str(code) in email.subject and "lift the pause" in email.body


def test_a_throughput_upgrade_pauses_the_number_for_a_minute_without_an_email(whatsapp, operator):
    note = link(make_contact())
    whatsapp.error_next(131057, via="response")
    assert deliver().deferred == 1
    note.refresh_from_db()
    assert TABLE[131057].action == PAUSE_NUMBER
    assert timezone.now() + timedelta(seconds=50) < note.next_attempt_at
    assert note.next_attempt_at < timezone.now() + timedelta(seconds=70)
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_pause_made_by_another_process_stops_this_one(whatsapp, subprocess_env, settings):
    link(make_contact())
    script = (
        "import django; django.setup()\n"
        "from shelfwatch.notify import pauses\n"
        f"pauses.pause({NUMBER_KEY!r}, seconds=600, reason='spam limit', code='131048')\n"
    )
    env = {**subprocess_env, "DJANGO_SETTINGS_MODULE": "shelfwatch.config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    pauses.forget()  # nothing of it is known in this process but through the shared store
    summary = deliver()
    assert summary.sent == 0 and summary.deferred == 1
    assert whatsapp.calls() == []
    until = pauses.paused_until(NUMBER_KEY)
    assert until is not None and until > timezone.now() + timedelta(minutes=9)


def test_a_plain_http_api_base_is_refused(whatsapp, operator):
    operator.OUTBOUND_ALLOWED_NETWORKS = []  # the loopback fake is no longer allowed
    assert [e.id for e in whatsapp_api_base_is_https()] == ["notify.E001"]
    operator.WHATSAPP_API_BASE = "http://graph.example.com"
    assert "plain http" in whatsapp_api_base_is_https()[0].msg
    note = link(make_contact())
    assert deliver().deferred == 1
    assert whatsapp.calls() == []  # the token never left
    note.refresh_from_db()
    assert note.status == "pending" and note.last_error_code == "insecure_api_base"
    assert ChannelPause.objects.get(key="whatsapp").active
    assert len(mail.outbox) == 1
    operator.WHATSAPP_API_BASE = "https://graph.facebook.com"
    assert whatsapp_api_base_is_https() == []


def test_the_table_is_documented_with_each_code():
    text = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", text, re.MULTILINE)}
    assert set(TABLE) <= documented


def test_the_operator_sees_a_pause_in_the_admin_and_lifts_it(whatsapp, operator, admin_client):
    pauses.pause("whatsapp", seconds=3600, reason="Business account locked", code="131031")
    page = admin_client.get("/admin/notify/channelpause/")
    assert page.status_code == 200
    assert b"Business account locked" in page.content and b"131031" in page.content
    pause = ChannelPause.objects.get(key="whatsapp")
    lifted = admin_client.post(
        "/admin/notify/channelpause/",
        {"action": "lift", "_selected_action": [pause.pk]},
    )
    assert lifted.status_code == 302
    assert pauses.paused_until("whatsapp") is None and not pauses.active()


def test_pauses_in_force_are_there_for_ready_and_metrics(whatsapp):
    from prometheus_client import CollectorRegistry, generate_latest

    from shelfwatch.notify.health import PauseCollector, paused_channels

    assert paused_channels() == []
    pauses.pause(NUMBER_KEY, seconds=600, reason="Spam rate limit", code="131048")
    [pause] = paused_channels()
    assert pause["key"] == NUMBER_KEY and pause["code"] == "131048"
    assert 590 < pause["seconds_left"] <= 600
    registry = CollectorRegistry()
    registry.register(PauseCollector())
    text = generate_latest(registry).decode()
    assert f'shelfwatch_notify_paused_seconds{{code="131048",key="{NUMBER_KEY}"}}' in text


def test_a_message_meta_keeps_failing_later_runs_out_of_tries(client, whatsapp, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    note = link(make_contact())
    whatsapp.error_next(131000, None, via="webhook")  # every send accepted, then failed
    for _ in range(2):
        Notification.objects.filter(pk=note.pk).update(next_attempt_at=timezone.now())
        assert deliver().sent == 1
        forward_webhooks(client, whatsapp, 1)
    note.refresh_from_db()
    assert note.status == "failed" and note.attempts == 2 and note.last_error_code == "131000"
    assert deliver().claimed == 0
