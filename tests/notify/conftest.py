"""Delivery tests: a verified contact per channel, and the providers as real fake servers."""

from __future__ import annotations

import pytest
from django.utils import timezone

from shelfwatch.alerts.matching import alert_context
from shelfwatch.notify.models import Contact, Notification, NotificationKind
from tests.fakes.whatsapp import (
    DEFAULT_APP_SECRET,
    DEFAULT_PHONE_NUMBER_ID,
    DEFAULT_TOKEN,
    WhatsAppFake,
)


@pytest.fixture
def delivery_settings(settings):
    """Deliver at once: no quiet hours, no per-person pacing, short retries."""
    settings.NOTIFY_QUIET_HOURS = "off"
    settings.NOTIFY_RECIPIENT_MIN_INTERVAL_SECONDS = 0
    settings.NOTIFY_DIGEST_SECONDS = 0
    settings.NOTIFY_RETRY_BASE_SECONDS = 30
    settings.NOTIFY_SEND_THREADS = 4
    return settings


@pytest.fixture(autouse=True)
def _no_pauses(request):
    """Every test starts with no number or channel paused (a Redis pause outlives a test's
    database) and no pause cached in this process."""
    from shelfwatch.notify import pauses

    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is not None or {"db", "transactional_db"} & names:
        if marker is None:  # asked for by fixture: set the database up before using it
            request.getfixturevalue("transactional_db" if "transactional_db" in names else "db")
        pauses.lift_all()
    pauses.forget()
    yield
    pauses.forget()
    # Database rows go with the test; pauses in Redis would outlive it into other suites.
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        conn = redis.Redis.from_url(settings.REDIS_URL)
        for name in conn.scan_iter(match=pauses._redis_key("") + "*"):
            conn.delete(name)


@pytest.fixture
def whatsapp(delivery_settings, monkeypatch):
    with WhatsAppFake() as fake:
        # The fake is plain http on loopback: allowed only through the test allow-list, here
        # and in the processes a test starts (their environment is copied after this).
        delivery_settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
        delivery_settings.WHATSAPP_API_BASE = fake.graph_url
        delivery_settings.WHATSAPP_API_VERSION = "v26.0"
        delivery_settings.WHATSAPP_PHONE_NUMBER_ID = DEFAULT_PHONE_NUMBER_ID
        delivery_settings.WHATSAPP_ACCESS_TOKEN = DEFAULT_TOKEN
        delivery_settings.WHATSAPP_APP_SECRET = DEFAULT_APP_SECRET
        delivery_settings.WHATSAPP_VERIFY_TOKEN = "verify-me"
        delivery_settings.WHATSAPP_RATE_PER_SECOND = 1000
        yield fake


def make_contact(channel: str = "whatsapp", address: str = "+919876543210", **fields) -> Contact:
    return Contact.objects.create(
        channel=channel, address=address, verified_at=timezone.now(), **fields
    )


def queue(
    contact: Contact, template: str = "verify_code", *, key: str | None = None, **fields
) -> Notification:
    """A pending notification as alerts or verification would create it: an alert about an
    event carries the context alerts captures from it."""
    if template.startswith("watch."):
        fields.setdefault("kind", NotificationKind.ALERT)
        event = fields.get("event")
        captured = alert_context(event) if event is not None else {}
        fields["context"] = {**captured, **fields.get("context", {})}
    fields.setdefault("context", {"code": "123456", "minutes": 10})
    fields.setdefault("urgent", True)
    return Notification.objects.create(
        contact=contact,
        channel=contact.channel,
        template=template,
        idempotency_key=key or f"test:{Notification.objects.count()}:{template}",
        **fields,
    )


def forward_webhooks(client, fake: WhatsAppFake, n: int = 0) -> list:
    """Hand the status webhooks the fake made by itself to the app, as Meta would post them
    (the exact bytes and their signature); the app's answers."""
    answers = []
    for _payload, body, signature in fake.take_webhooks(n):
        answers.append(post_signed(client, body, signature))
    return answers


def post_signed(client, body: bytes, signature: str):
    return client.post(
        "/api/v1/notify/whatsapp/webhook",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature},
    )
