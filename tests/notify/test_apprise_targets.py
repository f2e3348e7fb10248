"""Apprise targets never reach a non-public address: not by scheme, query, redirect or DNS.

Every listener is real and on loopback. Loopback stays closed (OUTBOUND_ALLOWED_NETWORKS does
not open 127.0.0.1) except where a test opens one address to play a public server: the
redirecting server listens on 127.0.0.2 and only that address is opened.
"""

from __future__ import annotations

import socket

import pytest

from shelfwatch.notify.delivery import deliver_batch
from tests.conftest import Caller
from tests.fakes.connection_probe import ConnectionProbe
from tests.fakes.redirector import Redirector
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.notify.conftest import make_contact, queue

pytestmark = pytest.mark.django_db

PUBLIC_STAND_IN = "127.0.0.2"  # plays a public server: the only loopback address opened
SMTP_GREETING = b"220 probe ESMTP\r\n"


def deliver():
    return deliver_batch(worker="test-worker", limit=100)


@pytest.fixture
def closed_loopback(delivery_settings):
    delivery_settings.OUTBOUND_ALLOWED_NETWORKS = []
    return delivery_settings


@pytest.fixture
def with_mailto(closed_loopback):
    closed_loopback.NOTIFY_APPRISE_SCHEMES = [*closed_loopback.NOTIFY_APPRISE_SCHEMES, "mailto"]
    return closed_loopback


def smtp_attack(port: int, smtp_host: str = "127.0.0.1") -> str:
    return (
        f"mailto://1.1.1.1?smtp={smtp_host}&port={port}&from=attacker@evil.test&to=victim@corp.test"
    )


def refused_permanently(note, code: str) -> None:
    note.refresh_from_db()
    assert (note.status, note.last_error_code) == ("failed", code), note.last_error
    assert note.attempts == 1  # never retried


def create(client, address: str):
    return Caller(client).post("/api/v1/contacts", {"channel": "apprise", "address": address})


# --- saving a contact -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "code"),
    [
        (smtp_attack(8463), "apprise_scheme_not_allowed"),
        ("syslog://", "apprise_scheme_not_allowed"),
        ("syslog://127.0.0.1:514", "apprise_scheme_not_allowed"),
        ("file:///etc/passwd", "invalid_apprise_url"),
        ("json://127.0.0.1:8463/hook", "address_not_allowed"),
        ("jsons://[::1]:8463/hook", "address_not_allowed"),
        ("ntfy://169.254.169.254/topic", "address_not_allowed"),
        ("json://localhost:8463/hook", "address_not_allowed"),
        ("json://10.0.0.7/hook", "address_not_allowed"),
        ("not a url at all", "invalid_apprise_url"),
        ("json://", "invalid_apprise_url"),
        ("json://xn--ls8h.la/hook", "invalid_apprise_url"),
    ],
)
def test_refused_apprise_targets_are_422_problems(client, closed_loopback, address, code):
    answer = create(client, address)
    assert answer.status_code == 422, answer.content
    assert answer["Content-Type"].startswith("application/problem+json")
    assert answer.json()["code"] == code


def test_mailto_naming_its_smtp_server_is_refused_even_when_mailto_is_allowed(client, with_mailto):
    answer = create(client, smtp_attack(8463))
    assert answer.status_code == 422
    assert answer.json()["code"] == "apprise_smtp_override_not_allowed"


@pytest.mark.parametrize(
    "address",
    [
        "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
        "pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@avjf5wyxrsm3ysubb8eg4jd1ubrx2a",
        "tgram://123456789:abcdefg_hijklmnop/12315544",
    ],
)
def test_service_tokens_are_never_looked_up_in_dns(client, closed_loopback, monkeypatch, address):
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def recording(host, *args, **kwargs):
        looked_up.append(str(host))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    answer = create(client, address)
    assert answer.status_code == 201, answer.content
    assert looked_up == []


# --- delivering to targets saved before the rules, or that the rules let through -----------


@pytest.mark.parametrize("smtp_host", ["127.0.0.1", "localhost"])
def test_smtp_override_to_loopback_gets_no_connection(with_mailto, smtp_host):
    with_mailto.NOTIFY_APPRISE_SMTP_OVERRIDES = True  # only the send-time checks stand
    with ConnectionProbe(greeting=SMTP_GREETING) as probe:
        note = queue(make_contact("apprise", smtp_attack(probe.port, smtp_host)))
        assert deliver().failed == 1
        assert probe.settle() == 0
    refused_permanently(note, "address_not_allowed")


def test_stored_smtp_override_is_refused_before_any_connection(with_mailto):
    with ConnectionProbe(greeting=SMTP_GREETING) as probe:
        note = queue(make_contact("apprise", smtp_attack(probe.port)))
        deliver()
        assert probe.settle() == 0
    refused_permanently(note, "apprise_smtp_override_not_allowed")


def test_stored_syslog_target_is_refused(closed_loopback):
    note = queue(make_contact("apprise", "syslog://"))
    deliver()
    refused_permanently(note, "apprise_scheme_not_allowed")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_json_target_on_loopback_gets_no_connection(closed_loopback, host):
    with ConnectionProbe() as probe:
        note = queue(make_contact("apprise", f"json://{host}:{probe.port}/hook"))
        deliver()
        assert probe.settle() == 0
    refused_permanently(note, "address_not_allowed")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_loopback_is_not_followed(closed_loopback, status):
    closed_loopback.OUTBOUND_ALLOWED_NETWORKS = [f"{PUBLIC_STAND_IN}/32"]
    with ConnectionProbe() as probe, Redirector(host=PUBLIC_STAND_IN) as hop:
        hop.set_target(status, f"http://127.0.0.1:{probe.port}/stolen")
        note = queue(make_contact("apprise", hop.url("/hook").replace("http://", "json://")))
        deliver()
        assert len(hop.calls()) == 1  # the allowed server was asked...
        assert probe.settle() == 0  # ...and where it pointed was never reached
    refused_permanently(note, "address_not_allowed")


# --- allowed targets still deliver ----------------------------------------------------------


def test_redirect_between_allowed_addresses_is_followed(closed_loopback):
    closed_loopback.OUTBOUND_ALLOWED_NETWORKS = [f"{PUBLIC_STAND_IN}/32"]
    with (
        WebhookReceiver(host=PUBLIC_STAND_IN) as receiver,
        Redirector(host=PUBLIC_STAND_IN, status=307) as hop,
    ):
        hop.set_target(307, receiver.url("/apprise"))
        note = queue(make_contact("apprise", hop.url("/hook").replace("http://", "json://")))
        assert deliver().sent == 1
        [message] = receiver.apprise_messages()
    assert "123456" in message["message"]
    note.refresh_from_db()
    assert note.status == "sent"


def test_mailto_with_its_own_smtp_server_delivers_when_allowed(with_mailto):
    with_mailto.NOTIFY_APPRISE_SMTP_OVERRIDES = True
    with_mailto.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with SmtpSink() as sink:
        address = (
            f"mailto://shop.example?smtp=127.0.0.1&port={sink.port}&mode=insecure"
            "&from=alerts@shop.example&to=asha@example.com"
        )
        note = queue(make_contact("apprise", address))
        assert deliver().sent == 1, note.__class__.objects.get(pk=note.pk).last_error
        [mail] = sink.wait_for(1)
    assert mail.rcpt_tos == ["asha@example.com"] and "123456" in (mail.text or "")


def test_a_product_name_with_a_line_break_is_one_title_line(loopback_allowed, delivery_settings):
    with WebhookReceiver() as receiver:
        url = receiver.url("/apprise").replace("http://", "json://")
        queue(make_contact("apprise", url), context={"code": "1\r\nBcc: x@evil.test"})
        assert deliver().sent == 1
        [message] = receiver.apprise_messages()
    assert "\n" not in message["title"] and "\r" not in message["title"]
