"""The fake notification providers speak their providers' APIs, driven by the real clients:
httpx for the WhatsApp Cloud API and SendGrid, django-anymail's SendGrid backend, smtplib and
Django's SMTP backend for the sink, Apprise's ``json://`` plugin for the webhook receiver."""

from __future__ import annotations

import asyncio
import json
import smtplib
import subprocess
import sys
import time
import warnings
from email.message import EmailMessage
from typing import Any

import apprise
import httpx
import pytest

from tests.fakes.fast_whatsapp import REPO_ROOT, FastWhatsApp, _load
from tests.fakes.json_service import Reply
from tests.fakes.sendgrid import DEFAULT_API_KEY, SendGridFake
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.webhook_receiver import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookReceiver,
    check_signature,
    shelfwatch_signature,
    sign_body,
)
from tests.fakes.whatsapp import (
    DEFAULT_APP_SECRET,
    DEFAULT_PHONE_NUMBER_ID,
    DEFAULT_TOKEN,
    DEFAULT_WABA_ID,
    ERRORS,
    WhatsAppFake,
    graph_error,
    max_in_window,
    post_inbound_message,
    post_statuses,
    sign,
    verify_signature,
    verify_subscription,
    window_counts,
)

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def template_body(to: str = "+91 98765 43210", product: str = "Whey 1 kg") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": "back_in_stock",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": product}]},
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "p/whey-1kg"}],
                },
            ],
        },
    }


def buttons_body(titles: list[str], to: str = "919876543210") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Whey 1 kg is back. Keep watching?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"b{i}", "title": title}}
                    for i, title in enumerate(titles)
                ]
            },
        },
    }


def assert_graph_error(response: httpx.Response, code: int, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert error["message"]
    assert error["fbtrace_id"]
    if code != 190:
        assert error["error_data"]["messaging_product"] == "whatsapp"
        assert error["error_data"]["details"]
    return error


@pytest.fixture
def whatsapp():
    with WhatsAppFake() as fake:
        yield fake


@pytest.fixture
def receiver():
    with WebhookReceiver(host="127.0.0.1") as fake:
        yield fake


@pytest.fixture
def wa_client(whatsapp: WhatsAppFake):
    with httpx.Client(headers=AUTH, timeout=5) as client:
        yield client


# ---------------------------------------------------------------------------------------------
# WhatsApp Cloud API: sending
# ---------------------------------------------------------------------------------------------


def test_template_message_is_accepted_and_recorded(
    whatsapp: WhatsAppFake, wa_client: httpx.Client
) -> None:
    response = wa_client.post(whatsapp.messages_url("v21.0"), json=template_body())
    assert response.status_code == 200
    body = response.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+91 98765 43210", "wa_id": "919876543210"}]
    [message] = body["messages"]
    assert message["id"].startswith("wamid.")
    assert message["message_status"] == "accepted"

    [sent] = whatsapp.messages
    assert sent.id == message["id"]
    assert (sent.to, sent.wa_id, sent.type) == ("+91 98765 43210", "919876543210", "template")
    assert (sent.template, sent.language, sent.text) == ("back_in_stock", "en_US", "Whey 1 kg")
    assert sent.info.button_params == ["p/whey-1kg"]
    assert sent.version == "v21.0" and sent.phone_number_id == DEFAULT_PHONE_NUMBER_ID
    assert whatsapp.last_call().header("authorization") == f"Bearer {DEFAULT_TOKEN}"


def test_interactive_and_text_messages(whatsapp: WhatsAppFake, wa_client: httpx.Client) -> None:
    first = wa_client.post(whatsapp.messages_url(), json=buttons_body(["Keep", "Stop"]))
    text = {"messaging_product": "whatsapp", "to": "919876543210", "text": {"body": "Hi"}}
    second = wa_client.post(whatsapp.messages_url("v20.0"), json=text)
    assert first.status_code == second.status_code == 200
    assert "message_status" not in first.json()["messages"][0]
    ids = {first.json()["messages"][0]["id"], second.json()["messages"][0]["id"]}
    assert len(ids) == 2
    button, plain = whatsapp.messages
    assert button.type == "interactive" and button.text.startswith("Whey 1 kg is back")
    assert button.info.buttons == [{"id": "b0", "title": "Keep"}, {"id": "b1", "title": "Stop"}]
    assert plain.type == "text" and plain.text == "Hi"  # type defaults to text
    assert whatsapp.count_for("+919876543210") == 2


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda b: b.pop("messaging_product"), 100),
        (lambda b: b.update(messaging_product="sms"), 100),
        (lambda b: b.pop("to"), 100),
        (lambda b: b.update(to="not a number"), 100),
        (lambda b: b.update(type="fax"), 100),
        (lambda b: b["template"].pop("language"), 100),
        (lambda b: b["template"]["language"].pop("code"), 100),
        (lambda b: b["template"]["components"][1].pop("sub_type"), 100),
        (
            lambda b: b["template"]["components"][0]["parameters"][0].update(text="two\nlines"),
            100,
        ),
    ],
)
def test_invalid_template_bodies(
    whatsapp: WhatsAppFake, wa_client: httpx.Client, change: Any, code: int
) -> None:
    body = template_body()
    change(body)
    response = wa_client.post(whatsapp.messages_url(), json=body)
    error = assert_graph_error(response, code, 400)
    assert error["message"].startswith(f"(#{code})")
    assert whatsapp.messages == []


@pytest.mark.parametrize(
    ("titles", "code"),
    [
        (["A", "B", "C", "D"], 131009),  # at most three reply buttons
        (["x" * 21], 131009),  # titles at most 20 characters
        (["Same", "Same"], 131009),
        ([], 131008),
        (["x" * 20, "B", "C"], None),
    ],
)
def test_interactive_button_limits(
    whatsapp: WhatsAppFake, wa_client: httpx.Client, titles: list[str], code: int | None
) -> None:
    response = wa_client.post(whatsapp.messages_url(), json=buttons_body(titles))
    if code is None:
        assert response.status_code == 200
    else:
        assert_graph_error(response, code, 400)


def test_text_and_json_errors(whatsapp: WhatsAppFake, wa_client: httpx.Client) -> None:
    url = whatsapp.messages_url()
    no_body = {"messaging_product": "whatsapp", "to": "1555", "type": "text", "text": {}}
    assert_graph_error(wa_client.post(url, json=no_body), 100, 400)
    long = {**no_body, "text": {"body": "x" * 4097}}
    assert_graph_error(wa_client.post(url, json=long), 100, 400)
    assert_graph_error(wa_client.post(url, content=b"{not json"), 100, 400)
    assert whatsapp.rejected() == {100: 3}


def test_token_and_phone_number_errors(whatsapp: WhatsAppFake) -> None:
    url = whatsapp.messages_url()
    missing = httpx.post(url, json=template_body())
    error = assert_graph_error(missing, 190, 401)
    assert "error_data" not in error and "error_subcode" not in error
    assert "invalid_token" in missing.headers["www-authenticate"]
    wrong = httpx.post(url, json=template_body(), headers={"Authorization": "Bearer nope"})
    assert_graph_error(wrong, 190, 401)

    whatsapp.expire_token()
    expired = httpx.post(url, json=template_body(), headers=AUTH)
    error = assert_graph_error(expired, 190, 401)
    assert error["error_subcode"] == 463
    assert error["message"].startswith("Error validating access token: Session has expired")
    whatsapp.clear_errors()

    other = httpx.post(whatsapp.messages_url(phone_number_id="999"), json={}, headers=AUTH)
    error = assert_graph_error(other, 100, 400)
    assert error["error_subcode"] == 33 and "'999'" in error["message"]
    assert httpx.get(url, headers=AUTH).status_code == 400
    assert whatsapp.messages == []


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (131047, 400),
        (130429, 400),
        (131056, 400),
        (131050, 400),
        (131026, 400),
        (132001, 404),
        (100, 400),
        (131000, 500),
        (131016, 503),
        (190, 401),
    ],
)
def test_programmed_errors_for_the_next_sends(
    whatsapp: WhatsAppFake, wa_client: httpx.Client, code: int, status: int
) -> None:
    assert ERRORS[code].http_status == status
    whatsapp.error_next(code, 2, via="response")
    for _ in range(2):
        response = wa_client.post(whatsapp.messages_url(), json=template_body())
        assert_graph_error(response, code, status)
    assert wa_client.post(whatsapp.messages_url(), json=template_body()).status_code == 200
    assert len(whatsapp.messages) == 1
    assert whatsapp.rejected() == {code: 2}


def test_programmed_errors_per_recipient(whatsapp: WhatsAppFake, wa_client: httpx.Client) -> None:
    whatsapp.error_for("+44 7700 900123", 131026, via="response")
    url = whatsapp.messages_url()
    for _ in range(3):
        blocked = wa_client.post(url, json=template_body("447700900123"))
        assert_graph_error(blocked, 131026, 400)
        assert wa_client.post(url, json=template_body("919876543210")).status_code == 200
    error = wa_client.post(url, json=template_body("+447700900123")).json()["error"]
    assert "not a WhatsApp phone number" in error["error_data"]["details"]
    assert whatsapp.counts() == {"919876543210": 3}
    whatsapp.clear_errors()
    assert wa_client.post(url, json=template_body("447700900123")).status_code == 200


def test_registered_templates(whatsapp: WhatsAppFake, wa_client: httpx.Client) -> None:
    whatsapp.add_template("back_in_stock", "en_US", body_params=1)
    url = whatsapp.messages_url()
    assert wa_client.post(url, json=template_body()).status_code == 200
    unknown = template_body()
    unknown["template"]["name"] = "price_drop"
    error = assert_graph_error(wa_client.post(url, json=unknown), 132001, 404)
    assert "price_drop" in error["error_data"]["details"]
    other_language = template_body()
    other_language["template"]["language"]["code"] = "hi"
    assert_graph_error(wa_client.post(url, json=other_language), 132001, 404)
    extra = template_body()
    extra["template"]["components"][0]["parameters"].append({"type": "text", "text": "x"})
    assert_graph_error(wa_client.post(url, json=extra), 132000, 400)


def test_http_faults(whatsapp: WhatsAppFake, wa_client: httpx.Client) -> None:
    url = whatsapp.messages_url()
    whatsapp.fail_next(1, 500)
    assert_graph_error(wa_client.post(url, json=template_body()), 1, 500)
    whatsapp.fail_next(1, 503)
    assert_graph_error(wa_client.post(url, json=template_body()), 2, 503)
    whatsapp.fail_next(1, 502, body=b"<html>Bad Gateway</html>")
    plain = wa_client.post(url, json=template_body())
    assert plain.status_code == 502 and plain.text == "<html>Bad Gateway</html>"
    whatsapp.rate_limit_next(1, retry_after=1.5)
    limited = wa_client.post(url, json=template_body())
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert_graph_error(limited, 4, 429)
    assert whatsapp.messages == []

    whatsapp.slow_next(1, 0.3)
    started = time.monotonic()
    assert wa_client.post(url, json=template_body()).status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        whatsapp.slow_next(1, 1.0)
        wa_client.post(url, json=template_body(), timeout=0.2)
    assert [c.fault for c in whatsapp.calls()][-2:] == ["slow", "slow"]


def test_dropped_connections_and_duplicates(
    whatsapp: WhatsAppFake, wa_client: httpx.Client
) -> None:
    url = whatsapp.messages_url()
    whatsapp.drop_next(1)
    with pytest.raises(httpx.RemoteProtocolError):
        wa_client.post(url, json=template_body())
    assert whatsapp.messages == []

    whatsapp.drop_next(1, after_handling=True)  # accepted, then the answer is lost
    with pytest.raises(httpx.RemoteProtocolError):
        wa_client.post(url, json=template_body())
    assert len(whatsapp.messages) == 1
    retry = wa_client.post(url, json=template_body(to="919876543210"))  # a naive retry
    assert retry.status_code == 200
    other = wa_client.post(url, json=template_body(product="Casein"))
    assert other.status_code == 200

    [group] = whatsapp.duplicates()
    assert [m.wa_id for m in group] == ["919876543210", "919876543210"]
    assert group[0].id != group[1].id
    assert whatsapp.duplicate_count() == 1
    assert whatsapp.count_for("919876543210") == 3
    assert [c.fault for c in whatsapp.calls()][:2] == ["drop", "drop"]


def test_rate_helpers_and_throughput_limit() -> None:
    times = [0.0, 0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 3.0]
    assert max_in_window(times, 1.0) == 5  # [0.25, 1.25): the window is half-open
    assert max_in_window(times, 0.25) == 2
    assert max_in_window([], 1.0) == 0
    assert window_counts(times, 1.0) == [5, 2, 0, 1]

    with (
        WhatsAppFake(max_rate=5, pair_interval=None) as fake,
        httpx.Client(headers=AUTH) as client,
    ):
        codes = []
        for i in range(8):
            response = client.post(fake.messages_url(), json=template_body(f"91980000{i:04d}"))
            codes.append(response.json()["error"]["code"] if response.status_code != 200 else 200)
        assert codes == [200] * 5 + [130429] * 3
        assert fake.max_in_window(1.0) == 5
        assert fake.peak_rate(1.0) == 5.0
        assert fake.peak_rate(0.5) == fake.max_in_window(0.5) / 0.5
        assert sum(fake.window_counts(0.5)) == 5


def test_pair_rate_limit_and_customer_service_window(receiver: WebhookReceiver) -> None:
    with (
        WhatsAppFake(enforce_window=True, pair_interval=60, webhook_url=receiver.url("/wa")) as wa,
        httpx.Client(headers=AUTH) as client,
    ):
        text = {"messaging_product": "whatsapp", "to": "919876543210", "text": {"body": "Hi"}}
        assert_graph_error(client.post(wa.messages_url(), json=text), 131047, 400)
        # templates may open a conversation at any time
        assert client.post(wa.messages_url(), json=template_body()).status_code == 200
        assert_graph_error(
            client.post(wa.messages_url(), json=template_body(product="Other")), 131056, 400
        )
        result = wa.inbound("+91 98765 43210", text="Any news?")  # opens the 24 h window
        assert result.status == 200
        wa.pair_interval = None
        assert client.post(wa.messages_url(), json=text).status_code == 200


# ---------------------------------------------------------------------------------------------
# WhatsApp webhooks to the app
# ---------------------------------------------------------------------------------------------


def test_status_webhook_shape_and_signature(receiver: WebhookReceiver) -> None:
    result = post_statuses(
        receiver.url("/webhooks/whatsapp"),
        "app-secret",
        [
            ("wamid.A", "sent", "+91 98765 43210"),
            ("wamid.A", "delivered", "919876543210"),
            ("wamid.B", "failed", "447700900123", 131026),
            {"id": "wamid.C", "status": "read", "recipient_id": "15551234567"},
        ],
    )
    assert result.status == 200 and result.error is None
    [delivery] = receiver.deliveries()
    signature = delivery.header("x-hub-signature-256")
    assert signature == sign(delivery.body, "app-secret")
    assert verify_signature(delivery.body, signature, "app-secret")
    assert not verify_signature(delivery.body + b" ", signature, "app-secret")  # tampered
    assert not verify_signature(delivery.body, signature, "another-secret")
    assert delivery.body == result.body

    payload = delivery.json
    assert payload["object"] == "whatsapp_business_account"
    [entry] = payload["entry"]
    assert entry["id"] == DEFAULT_WABA_ID
    [change] = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"]["phone_number_id"] == DEFAULT_PHONE_NUMBER_ID
    sent, delivered, failed, read = value["statuses"]
    assert sent["recipient_id"] == "919876543210" and sent["status"] == "sent"
    assert sent["timestamp"].isdigit()
    assert "expiration_timestamp" in sent["conversation"]
    assert delivered["pricing"]["billable"] is True
    assert failed["errors"][0]["code"] == 131026
    assert failed["errors"][0]["error_data"]["details"]
    assert read["status"] == "read" and "errors" not in read


def test_inbound_messages_and_verification(receiver: WebhookReceiver) -> None:
    url = receiver.url("/webhooks/whatsapp")
    text = post_inbound_message(url, "s3cret", "+91 98765 43210", text="STOP", name="Asha")
    tap = post_inbound_message(
        url, "s3cret", "919876543210", button_reply=("unsubscribe", "Stop"), context_id="wamid.A"
    )
    quick = post_inbound_message(url, "s3cret", "919876543210", button=("STOP", "Stop alerts"))
    assert text.status == tap.status == quick.status == 200
    first, second, third = receiver.deliveries()
    for delivery in (first, second, third):
        assert verify_signature(delivery.body, delivery.header("x-hub-signature-256"), "s3cret")
    value = first.json["entry"][0]["changes"][0]["value"]
    assert value["contacts"] == [{"profile": {"name": "Asha"}, "wa_id": "919876543210"}]
    [message] = value["messages"]
    assert message["from"] == "919876543210" and message["type"] == "text"
    assert message["text"] == {"body": "STOP"} and message["id"] == text.message_id
    [message] = second.json["entry"][0]["changes"][0]["value"]["messages"]
    assert message["type"] == "interactive"
    assert message["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "unsubscribe", "title": "Stop"},
    }
    assert message["context"]["id"] == "wamid.A"
    [message] = third.json["entry"][0]["changes"][0]["value"]["messages"]
    assert message["button"] == {"payload": "STOP", "text": "Stop alerts"}

    receiver.reply_next(lambda call: Reply.text(call.arg("hub.challenge") or ""))
    verified = verify_subscription(url, "verify-me", challenge="1158201444")
    assert verified.status == 200 and verified.response == "1158201444"
    check = receiver.last
    assert check.method == "GET"
    assert check.call.arg("hub.mode") == "subscribe"
    assert check.call.arg("hub.verify_token") == "verify-me"


def test_auto_statuses_and_failures_by_webhook(receiver: WebhookReceiver) -> None:
    with (
        WhatsAppFake(
            webhook_url=receiver.url("/wa"),
            auto_statuses=("sent", "delivered"),
            status_delay=0.02,
        ) as wa,
        httpx.Client(headers=AUTH) as client,
    ):
        body = {**template_body(), "biz_opaque_callback_data": "notification:42"}
        ok = client.post(wa.messages_url(), json=body).json()["messages"][0]["id"]
        wa.error_next(131047, via="webhook")
        failed = client.post(wa.messages_url(), json=template_body(product="x"))
        assert failed.status_code == 200  # accepted; the failure comes later
        failed_id = failed.json()["messages"][0]["id"]
        results = wa.wait_for_webhooks(3)
        assert all(r.status == 200 for r in results)
        statuses = [
            s
            for d in receiver.deliveries(path="/wa")
            for s in d.json["entry"][0]["changes"][0]["value"]["statuses"]
        ]
        mine = [(s["status"], s.get("biz_opaque_callback_data")) for s in statuses if s["id"] == ok]
        assert mine == [("sent", "notification:42"), ("delivered", "notification:42")]
        [failure] = [s for s in statuses if s["id"] == failed_id]
        assert failure["status"] == "failed" and failure["errors"][0]["code"] == 131047
        for delivery in receiver.deliveries(path="/wa"):
            signature = delivery.header("x-hub-signature-256")
            assert verify_signature(delivery.body, signature, DEFAULT_APP_SECRET)


def test_errors_meta_reports_later_are_accepted_then_failed_by_default(
    whatsapp: WhatsAppFake, wa_client: httpx.Client
) -> None:
    url = whatsapp.messages_url()
    for code in (131026, 131047, 131049, 131050, 131048):
        assert ERRORS[code].reported == "webhook"
        whatsapp.error_next(code)
        answer = wa_client.post(url, json=template_body(product=f"p{code}"))
        assert answer.status_code == 200, answer.text  # accepted; the failure comes later
    whatsapp.error_next(132001)  # a refused template is refused at once
    assert_graph_error(wa_client.post(url, json=template_body(product="y")), 132001, 404)
    made = whatsapp.take_webhooks(5)
    failures = [
        status
        for payload, body, signature in made
        for status in payload["entry"][0]["changes"][0]["value"]["statuses"]
    ]
    assert sorted(f["errors"][0]["code"] for f in failures) == [
        131026,
        131047,
        131048,
        131049,
        131050,
    ]
    assert all(f["status"] == "failed" for f in failures)
    assert all(verify_signature(body, sig, DEFAULT_APP_SECRET) for _p, body, sig in made)


def test_every_error_the_app_classifies_is_known_to_the_fake() -> None:
    from shelfwatch.notify.whatsapp_errors import TABLE

    assert set(TABLE) <= set(ERRORS)
    for code in TABLE:
        status, body = graph_error(code)
        assert body["error"]["code"] == code and 400 <= status < 600


@pytest.mark.parametrize(
    ("dialled", "wa_id"),
    [
        ("+55 11 91234 5678", "551112345678"),  # Brazil: no ninth digit
        ("+52 55 1234 5678", "5215512345678"),  # Mexico: 521
        ("+54 11 1234 5678", "5491112345678"),  # Argentina: 549
        ("+91 98765 43210", "919876543210"),  # elsewhere: the digits
    ],
)
def test_wa_id_can_differ_from_the_dialled_number(
    whatsapp: WhatsAppFake, wa_client: httpx.Client, dialled: str, wa_id: str
) -> None:
    answer = wa_client.post(whatsapp.messages_url(), json=template_body(to=dialled)).json()
    assert answer["contacts"] == [{"input": dialled, "wa_id": wa_id}]
    assert whatsapp.messages_to(dialled)[0].wa_id == wa_id


def auth_body(code: str, button: str | None) -> dict[str, Any]:
    components: list[dict[str, Any]] = [
        {"type": "body", "parameters": [{"type": "text", "text": code}]}
    ]
    if button is not None:
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": button}],
            }
        )
    return {
        "messaging_product": "whatsapp",
        "to": "919876543210",
        "type": "template",
        "template": {"name": "code", "language": {"code": "en"}, "components": components},
    }


def test_authentication_templates_need_their_copy_code_button(
    whatsapp: WhatsAppFake, wa_client: httpx.Client
) -> None:
    whatsapp.add_template("code", "en", body_params=1, category="AUTHENTICATION")
    url = whatsapp.messages_url()
    assert wa_client.post(url, json=auth_body("482913", "482913")).status_code == 200
    assert_graph_error(wa_client.post(url, json=auth_body("482913", None)), 131008, 400)
    assert_graph_error(wa_client.post(url, json=auth_body("482913", "111111")), 131009, 400)
    assert_graph_error(wa_client.post(url, json=auth_body("1" * 16, "1" * 16)), 131009, 400)


def test_newline_parameters_are_refused(whatsapp: WhatsAppFake, wa_client: httpx.Client) -> None:
    for bad in ("Whey\n1 kg", "Whey\t1 kg", "Whey      1 kg"):
        assert_graph_error(
            wa_client.post(whatsapp.messages_url(), json=template_body(product=bad)), 100, 400
        )


def test_a_marketing_stop_fails_marketing_templates_and_is_announced(
    whatsapp: WhatsAppFake, wa_client: httpx.Client
) -> None:
    whatsapp.add_template("back_in_stock", "en_US", body_params=1, category="MARKETING")
    whatsapp.add_template("code", "en", body_params=1, category="AUTHENTICATION")
    payload, body, signature = whatsapp.stop_marketing("+91 98765 43210")
    change = payload["entry"][0]["changes"][0]
    assert change["field"] == "user_preferences"
    [preference] = change["value"]["user_preferences"]
    assert preference["wa_id"] == "919876543210" and preference["value"] == "stop"
    assert preference["category"] == "marketing_messages"
    assert verify_signature(body, signature, DEFAULT_APP_SECRET)
    url = whatsapp.messages_url()
    assert wa_client.post(url, json=template_body()).status_code == 200
    assert wa_client.post(url, json=auth_body("482913", "482913")).status_code == 200
    [(failed, _b, _s)] = whatsapp.take_webhooks(1)
    [status] = failed["entry"][0]["changes"][0]["value"]["statuses"]
    assert status["status"] == "failed" and status["errors"][0]["code"] == 131050
    whatsapp.stop_marketing("+91 98765 43210", value="resume")
    assert wa_client.post(url, json=template_body(product="again")).status_code == 200
    time.sleep(0.2)
    assert whatsapp.take_webhooks() == []


def test_a_changed_number_comes_as_a_system_message(whatsapp: WhatsAppFake) -> None:
    payload, _body, _signature = whatsapp.change_number("+91 98765 43210", "+91 91234 56789")
    [message] = payload["entry"][0]["changes"][0]["value"]["messages"]
    assert message["type"] == "system" and message["from"] == "919876543210"
    assert message["system"]["type"] == "user_changed_number"
    assert message["system"]["wa_id"] == "919123456789"


# ---------------------------------------------------------------------------------------------
# The fast WhatsApp runner
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_whatsapp():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fast_whatsapp", "--port", "0", "--stop-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(10)


def test_fast_whatsapp_subprocess(fast_whatsapp: dict[str, Any]) -> None:
    info = fast_whatsapp
    assert info["url"].startswith("http://127.0.0.1:") and info["control"] != info["url"]
    auth = {"Authorization": f"Bearer {info['token']}"}
    with httpx.Client(headers=auth) as client:
        control = httpx.Client(base_url=info["control"])
        control.post("/reset")
        first = client.post(info["messages_url"], json=template_body())
        assert first.status_code == 200
        assert first.json()["contacts"] == [{"input": "+91 98765 43210", "wa_id": "919876543210"}]
        assert first.json()["messages"][0]["id"].startswith("wamid.")
        assert client.post(info["messages_url"], json=template_body()).status_code == 200
        assert client.post(info["messages_url"], json=buttons_body(["A", "B"])).status_code == 200
        assert_graph_error(
            client.post(info["messages_url"], json=buttons_body(["A"] * 4)), 131009, 400
        )
        assert_graph_error(client.post(info["messages_url"], json={"to": "1"}), 100, 400)
        assert_graph_error(httpx.post(info["messages_url"], json=template_body()), 190, 401)

        control.post("/fail", params={"code": 131047, "n": 1, "to": "919800000001"})
        assert client.post(info["messages_url"], json=template_body("1")).status_code == 200
        assert_graph_error(
            client.post(info["messages_url"], json=template_body("+91 98000 00001")), 131047, 400
        )
        control.post("/http_error", params={"status": 429, "retry_after": 3})
        limited = client.post(info["messages_url"], json=template_body("2"))
        assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
        control.post("/drop", params={"after": 1})
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(info["messages_url"], json=template_body("3"))

        stats = control.get("/stats").json()
        assert stats["accepted"] == 5  # 2 + buttons + "1" + the dropped "3"
        assert stats["duplicates"] == 1 and stats["duplicate_groups"] == 1
        assert stats["rejected"] == {"131009": 1, "100": 1, "190": 1, "131047": 1}
        assert stats["http_errors"] == 1 and stats["dropped"] == 1
        assert stats["recipients"] == 3
        assert 1 <= stats["max_per_100ms"] <= stats["max_per_second"] <= 5
        assert sum(stats["per_second"]) == 5
        assert control.get("/counts").json()["919876543210"] == 3
        [group] = control.get("/duplicates").json()["groups"]
        assert group["wa_id"] == "919876543210" and group["count"] == 2
        listing = control.get("/messages", params={"limit": 2}).json()
        assert listing["total"] == 5 and len(listing["messages"]) == 2
        assert listing["messages"][0]["template"] == "back_in_stock"

        control.post("/reset")
        control.post("/config", params={"max_rate": 3})
        codes = [
            client.post(info["messages_url"], json=template_body(str(100 + i))).status_code
            for i in range(5)
        ]
        assert codes == [200, 200, 200, 400, 400]
        control.post("/config", params={"max_rate": 0})
        control.post("/reset")
        control.close()


def test_fast_whatsapp_throughput(fast_whatsapp: dict[str, Any]) -> None:
    """A one-second load from a raw keep-alive client; the server's own CPU time gives its
    per-core rate, which the machine's other load cannot inflate."""
    info = fast_whatsapp
    control = httpx.Client(base_url=info["control"])
    control.post("/reset")
    url = httpx.URL(info["messages_url"])
    accepted, failed = asyncio.run(_load(url.host, url.port, url.raw_path, info["token"], 1.0, 16))
    stats = control.get("/stats").json()
    control.post("/reset")
    control.close()
    assert failed == 0 and stats["accepted"] == accepted > 0
    per_cpu_second = stats["requests"] / max(stats["cpu_seconds"], 1e-6)
    assert per_cpu_second > 2500, stats
    assert stats["max_per_second"] >= stats["max_per_100ms"] > 0


def test_fast_whatsapp_in_thread() -> None:
    fake = FastWhatsApp(token=None, phone_number_id="123", max_rate=None)
    info = fake.start_in_thread()
    try:
        response = httpx.post(
            info["messages_url"], json=template_body(), headers={"Authorization": "Bearer any"}
        )
        assert response.status_code == 200
        assert fake.stats()["accepted"] == 1
    finally:
        fake.stop()


def test_fast_whatsapp_reports_every_nth_message_failed_later() -> None:
    fake = FastWhatsApp(token=None)
    info = fake.start_in_thread()
    try:
        control = info["control"]
        httpx.post(f"{control}/config?fail_every=3&fail_codes=131026,131049")
        with httpx.Client(headers={"Authorization": "Bearer any"}) as client:
            for n in range(6):
                body = template_body(to=f"91987654{n:04d}")
                assert client.post(info["messages_url"], json=body).status_code == 200
            # The third message failed later: sending it again is no duplicate.
            again = client.post(info["messages_url"], json=template_body(to="919876540002"))
            assert again.status_code == 200
        statuses = httpx.get(f"{control}/statuses").json()
        assert statuses["total"] == 2
        assert [s["errors"][0]["code"] for s in statuses["statuses"]] == [131026, 131049]
        assert all(s["status"] == "failed" for s in statuses["statuses"])
        stats = httpx.get(f"{control}/stats").json()
        assert stats["accepted"] == 7 and stats["failed_later"] == 2
        assert stats["duplicates"] == 0
    finally:
        fake.stop()


# ---------------------------------------------------------------------------------------------
# SendGrid
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def sendgrid():
    with SendGridFake() as fake:
        yield fake


def mail_body(**changes: Any) -> dict[str, Any]:
    body = {
        "personalizations": [{"to": [{"email": "asha@example.com", "name": "Asha"}]}],
        "from": {"email": "alerts@shelfwatch.test", "name": "Shelfwatch"},
        "subject": "Whey 1 kg is back in stock",
        "content": [
            {"type": "text/plain", "value": "It is back."},
            {"type": "text/html", "value": "<p>It is back.</p>"},
        ],
        "headers": {
            "List-Unsubscribe": "<https://shelfwatch.test/u/abc>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "custom_args": {"notification_id": "42"},
    }
    body.update(changes)
    return body


def test_sendgrid_accepts_and_records(sendgrid: SendGridFake) -> None:
    response = httpx.post(
        sendgrid.url("/v3/mail/send"),
        json=mail_body(),
        headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
    )
    assert response.status_code == 202
    assert response.content == b""
    assert len(response.headers["x-message-id"]) == 22
    [mail] = sendgrid.messages
    assert mail.message_id == response.headers["x-message-id"]
    assert mail.to == ["asha@example.com"]
    assert (mail.from_email, mail.from_name) == ("alerts@shelfwatch.test", "Shelfwatch")
    assert mail.subject == "Whey 1 kg is back in stock"
    assert (mail.text, mail.html) == ("It is back.", "<p>It is back.</p>")
    assert mail.header("list-unsubscribe") == "<https://shelfwatch.test/u/abc>"
    assert mail.custom_args == {"notification_id": "42"}
    assert sendgrid.messages_to("ASHA@example.com") == [mail]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (mail_body(personalizations=[]), "personalizations"),
        (mail_body(personalizations=[{"to": []}]), "personalizations.0.to"),
        (
            mail_body(personalizations=[{"to": [{"email": "nope"}]}]),
            "personalizations.0.to.0.email",
        ),
        ({k: v for k, v in mail_body().items() if k != "from"}, "from"),
        (mail_body(subject=""), "subject"),
        ({k: v for k, v in mail_body().items() if k != "content"}, "content"),
        (mail_body(content=[{"type": "text/plain", "value": ""}]), "content.0.value"),
        (
            mail_body(
                content=[{"type": "text/html", "value": "a"}, {"type": "text/plain", "value": "b"}]
            ),
            "content",
        ),
        (mail_body(headers={"Subject": "x"}), "headers"),
        (mail_body(custom_args={"n": 42}), None),  # non-string values: the bare "Bad Request"
        (
            mail_body(
                personalizations=[{"to": [{"email": "a@x.io"}], "cc": [{"email": "a@x.io"}]}]
            ),
            "personalizations.0",
        ),
    ],
)
def test_sendgrid_rejects_invalid_bodies(
    sendgrid: SendGridFake, body: dict[str, Any], field: str | None
) -> None:
    auth = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    response = httpx.post(sendgrid.url("/v3/mail/send"), json=body, headers=auth)
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert field in [e["field"] for e in errors]
    assert all(set(e) == {"message", "field", "help"} and e["message"] for e in errors)
    assert sendgrid.messages == []


def test_sendgrid_auth_rate_limits_and_outages(sendgrid: SendGridFake) -> None:
    url = sendgrid.url("/v3/mail/send")
    auth = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    for headers in ({}, {"Authorization": "Bearer SG.wrong"}):
        response = httpx.post(url, json=mail_body(), headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "errors": [
                {
                    "message": "The provided authorization grant is invalid, expired, or revoked",
                    "field": None,
                    "help": None,
                }
            ]
        }
    sendgrid.rate_limit_next(1, retry_after=5)
    limited = httpx.post(url, json=mail_body(), headers=auth)
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["message"] == "too many requests"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.headers["x-ratelimit-reset"]) >= int(time.time()) + 4
    for status in (500, 503):
        sendgrid.fail_next(1, status)
        failed = httpx.post(url, json=mail_body(), headers=auth)
        assert failed.status_code == status and failed.json()["errors"][0]["field"] is None
    assert sendgrid.messages == []

    with SendGridFake(requests_per_second=2) as limited_fake:
        statuses = [
            httpx.post(limited_fake.url("/v3/mail/send"), json=mail_body(), headers=auth)
            for _ in range(3)
        ]
        assert [r.status_code for r in statuses] == [202, 202, 429]
        assert statuses[2].headers["x-ratelimit-limit"] == "2"


def test_sendgrid_through_django_anymail(sendgrid: SendGridFake) -> None:
    pytest.importorskip("anymail")
    from anymail.backends.sendgrid import EmailBackend
    from anymail.exceptions import AnymailRequestsAPIError
    from django.core.mail import EmailMultiAlternatives

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # anymail warns that SendGrid support is unofficial
        backend = EmailBackend(api_key=DEFAULT_API_KEY, api_url=sendgrid.api_url)
    message = EmailMultiAlternatives(
        "Back in stock",
        "Whey 1 kg is back.",
        "Shelfwatch <alerts@shelfwatch.test>",
        ["Asha <asha@example.com>"],
        headers={"List-Unsubscribe": "<https://shelfwatch.test/u/abc>"},
        connection=backend,
    )
    message.attach_alternative("<p>Whey 1 kg is back.</p>", "text/html")
    message.attach("note.txt", b"hello", "text/plain")
    message.metadata = {"notification_id": 42}
    message.tags = ["alerts"]
    assert message.send() == 1
    assert message.anymail_status.status == {"queued"}

    [mail] = sendgrid.messages
    call = sendgrid.last_call()
    assert call.header("accept") == "application/json"
    assert mail.to == ["asha@example.com"] and mail.from_name == "Shelfwatch"
    assert (
        mail.personalizations[0]["custom_args"]["anymail_id"] == message.anymail_status.message_id
    )
    assert mail.custom_args == {"notification_id": "42"} and mail.categories == ["alerts"]
    assert mail.header("List-Unsubscribe") == "<https://shelfwatch.test/u/abc>"
    assert (mail.text, mail.html) == ("Whey 1 kg is back.", "<p>Whey 1 kg is back.</p>")
    assert mail.attachment_bytes() == b"hello"

    sendgrid.fail_next(1, 503)
    with pytest.raises(AnymailRequestsAPIError) as failure:
        EmailMultiAlternatives(
            "x", "y", "alerts@shelfwatch.test", ["asha@example.com"], connection=backend
        ).send()
    assert failure.value.status_code == 503


# ---------------------------------------------------------------------------------------------
# SMTP sink
# ---------------------------------------------------------------------------------------------


def test_smtp_sink_collects_parsed_messages() -> None:
    with SmtpSink() as sink:
        assert sink.port > 0
        message = EmailMessage()
        message["From"] = "Shelfwatch <alerts@shelfwatch.test>"
        message["To"] = "Asha <asha@example.com>"
        message["Subject"] = "Whey 1 kg is back — ₹2,199"
        message["List-Unsubscribe"] = "<https://shelfwatch.test/u/abc>"
        message.set_content("It is back.")
        message.add_alternative("<p>It is back.</p>", subtype="html")
        message.add_attachment(b"col\n1\n", maintype="text", subtype="csv", filename="a.csv")
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
            client.send_message(message)
        [mail] = sink.wait_for(1)
        assert mail.mail_from == "alerts@shelfwatch.test"
        assert mail.rcpt_tos == ["asha@example.com"]
        assert mail.subject == "Whey 1 kg is back — ₹2,199"
        assert mail.header("List-Unsubscribe") == "<https://shelfwatch.test/u/abc>"
        assert mail.text.strip() == "It is back."
        assert mail.html.strip() == "<p>It is back.</p>"
        assert mail.attachments == [("a.csv", "text/csv", b"col\n1\n")]
        assert sink.messages_to("ASHA@example.com") == [mail]

        sink.reject_next(1, 451, "4.3.0 Try again later")
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
            with pytest.raises(smtplib.SMTPDataError) as rejected:
                client.send_message(message)
            assert rejected.value.smtp_code == 451
        with pytest.raises(TimeoutError, match="1 of 2"):
            sink.wait_for(2, timeout=0.1)


def test_smtp_sink_with_django_backend_and_auth() -> None:
    from django.core.mail import EmailMultiAlternatives, get_connection

    with SmtpSink(username="shelfwatch", password="pw") as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail("a@example.com", ["b@example.com"], b"Subject: x\r\n\r\nx")
            assert refused.value.smtp_code == 530
        connection = get_connection(
            "django.core.mail.backends.smtp.EmailBackend",
            host=sink.host,
            port=sink.port,
            username="shelfwatch",
            password="pw",
            use_tls=False,
            timeout=5,
        )
        email = EmailMultiAlternatives(
            "Price drop",
            "Now 1,999.",
            "alerts@shelfwatch.test",
            ["asha@example.com"],
            headers={"List-Unsubscribe": "<mailto:unsubscribe@shelfwatch.test>"},
            connection=connection,
        )
        email.attach_alternative("<b>Now 1,999.</b>", "text/html")
        assert email.send() == 1
        [mail] = sink.wait_for(1)
        assert mail.login == "shelfwatch"
        assert mail.subject == "Price drop" and mail.html.strip() == "<b>Now 1,999.</b>"
        assert mail.header("list-unsubscribe") == "<mailto:unsubscribe@shelfwatch.test>"


# ---------------------------------------------------------------------------------------------
# Webhook receiver
# ---------------------------------------------------------------------------------------------


def _deliver(
    receiver: WebhookReceiver, body: bytes, signature: str | None, **headers: str
) -> httpx.Response:
    sent = {EVENT_HEADER: "product.back_in_stock", DELIVERY_HEADER: "dlv_1", **headers}
    if signature is not None:
        sent[SIGNATURE_HEADER] = signature
    sent["Content-Type"] = "application/json"
    return httpx.post(receiver.url("/hooks/shelfwatch"), content=body, headers=sent)


def test_webhook_signatures(receiver: WebhookReceiver) -> None:
    secret = receiver.secret
    body, signature = sign_body({"event": "product.back_in_stock", "product": 7}, secret)
    now = int(time.time())
    cases = [
        (body, signature, True, None),
        (body.replace(b"7", b"8"), signature, False, "mismatch"),  # tampered body
        (body, shelfwatch_signature("other-secret", body), False, "mismatch"),
        (body, shelfwatch_signature(secret, body, now - 301), False, "stale"),
        (body, shelfwatch_signature(secret, body, now + 3600), False, "future"),
        (body, None, False, "missing"),
        (body, "v1=abc", False, "malformed"),
        (body, f"t={now},v1={'0' * 64},v1={signature.split('v1=')[1]}", True, None),  # rotation
    ]
    for sent_body, sent_signature, valid, error in cases:
        assert _deliver(receiver, sent_body, sent_signature).status_code == 200
        delivery = receiver.last
        assert (delivery.signature_valid, delivery.signature_error) == (valid, error)
    first = receiver.deliveries()[0]
    assert first.kind == "shelfwatch" and first.event == "product.back_in_stock"
    assert first.delivery_id == "dlv_1"
    assert first.json == {"event": "product.back_in_stock", "product": 7}
    assert first.timestamp is not None
    assert len(receiver.deliveries(valid=True)) == 2
    assert check_signature(signature, body, ["old", secret]) == (True, None, first.timestamp)

    with WebhookReceiver(secret="k", reject_invalid=True) as strict:
        good_body, good = sign_body({"a": 1}, "k")
        assert _deliver(strict, good_body, good).status_code == 200
        refused = _deliver(strict, good_body + b" ", good)
        assert refused.status_code == 401 and "mismatch" in refused.json()["error"]


def test_webhook_programmable_answers(receiver: WebhookReceiver) -> None:
    body, signature = sign_body({"n": 1}, receiver.secret)
    receiver.fail_next(1, 500)
    assert _deliver(receiver, body, signature).status_code == 500
    receiver.rate_limit_next(1, retry_after=7)
    limited = _deliver(receiver, body, signature)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    receiver.slow_next(1, 0.3)
    started = time.monotonic()
    assert _deliver(receiver, body, signature).status_code == 200
    assert time.monotonic() - started >= 0.3
    receiver.gone(path="/hooks/shelfwatch")
    assert _deliver(receiver, body, signature).status_code == 410
    assert _deliver(receiver, body, signature).status_code == 410
    chunked = httpx.post(receiver.url("/elsewhere"), content=iter([b'{"a":', b"1}"]))
    assert chunked.status_code == 200 and receiver.last.json == {"a": 1}
    assert receiver.last.header("transfer-encoding") == "chunked"
    receiver.clear_faults()
    assert _deliver(receiver, body, signature).status_code == 200
    attempts = receiver.attempts("dlv_1")
    assert [a.status for a in attempts] == [500, 429, 200, 410, 410, 200]
    assert all(a.signature_valid for a in attempts)
    assert len(receiver.wait_for(7)) == 7
    assert receiver.deliveries(path="/elsewhere")[0].kind == "other"


def test_apprise_json_posts_are_recorded(receiver: WebhookReceiver) -> None:
    notifier = apprise.Apprise()
    assert notifier.add(f"json://127.0.0.1:{receiver.port}/hooks/apprise")
    assert notifier.notify(title="Back in stock", body="Whey 1 kg", notify_type="success")
    [delivery] = receiver.wait_for(1, kind="apprise")
    assert delivery.path == "/hooks/apprise" and delivery.method == "POST"
    assert delivery.header("user-agent") == "Apprise"
    assert delivery.header("content-type") == "application/json"
    assert receiver.apprise_messages() == [
        {
            "version": "1.0",
            "title": "Back in stock",
            "message": "Whey 1 kg",
            "attachments": [],
            "type": "success",
        }
    ]
    receiver.fail_next(1, 500)
    assert not notifier.notify(body="again")
    assert [d.status for d in receiver.deliveries(kind="apprise")] == [200, 500]
