"""From a shop's change to notification rows: subscribe, verify, match, exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shelfwatch.alerts.models import Subscription
from shelfwatch.events.dispatch import dispatch
from shelfwatch.events.models import Event
from shelfwatch.notify.models import Contact, Notification
from shelfwatch.watch.models import Source, WatchedItem
from tests.fakes.shopify import ShopifyShop
from tests.watch.conftest import last_event_id, make_source, poll_again, poll_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


@pytest.fixture
def shop():
    with ShopifyShop() as fake:
        fake.add("Amul Whey Protein 1 kg", "2399.00", handle="whey", available=False)
        yield fake


@pytest.fixture
def watched(shop):
    source = make_source(name="Shop", kind="shopify", base_url=shop.base_url)
    poll_due()
    return source.items.get()


def sent_code(contact_id: int) -> str:
    """The code as the channel would carry it: the pending message's context."""
    message = Notification.objects.filter(contact_id=contact_id, template="verify_code").first()
    return message.context["code"]


def subscribe_by_api(client, item, *, kind="back_in_stock", **terms):
    """The public page's calls: add a number, enter the code, subscribe."""
    from tests.conftest import Caller

    anon = Caller(client)
    made = anon.post("/api/v1/contacts", {"channel": "whatsapp", "address": "98765 43210"})
    assert made.status_code == 201, made.json()
    contact = made.json()
    assert contact["address"].startswith("+919") and "•" in contact["address"]
    verified = anon.post(
        f"/api/v1/contacts/{contact['id']}/verify",
        {"code": sent_code(contact["id"]), "contact_token": contact["contact_token"]},
    )
    assert verified.status_code == 200, verified.json()
    token = verified.json()["contact_token"]
    created = anon.post(
        "/api/v1/subscriptions",
        {
            "contact_id": contact["id"],
            "contact_token": token,
            "item_id": item.pk,
            "kind": kind,
            **terms,
        },
    )
    assert created.status_code == 201, created.json()
    return Contact.objects.get(pk=contact["id"]), token


def run_consumers(since: int) -> None:
    """What the dispatch task does after commit, here in-process."""
    dispatch(list(Event.objects.filter(pk__gt=since).values_list("pk", flat=True)))


def alerts_for(contact: Contact) -> list[str]:
    return list(
        Notification.objects.filter(contact=contact)
        .exclude(template="verify_code")
        .values_list("template", flat=True)
    )


def test_back_in_stock_reaches_the_subscriber_exactly_once(client, shop, watched):
    contact, _ = subscribe_by_api(client, watched)
    source = Source.objects.get()
    before = last_event_id()
    shop.set_available("whey", True)
    poll_again(source)
    run_consumers(before)
    run_consumers(before)  # a redispatch after a crash changes nothing
    assert alerts_for(contact) == ["watch.back_in_stock"]
    alert = Notification.objects.get(contact=contact, template="watch.back_in_stock")
    assert alert.channel == "whatsapp" and alert.status == "pending" and alert.urgent
    assert alert.event.payload["item_id"] == watched.pk


def test_a_flap_inside_the_minimum_time_alerts_nobody(client, shop, watched, settings):
    settings.WATCH_RESTOCK_MIN_OUT_SECONDS = 600
    contact, _ = subscribe_by_api(client, watched)
    source = Source.objects.get()
    before = last_event_id()
    shop.set_available("whey", True)
    poll_again(source)
    shop.set_available("whey", False)
    poll_again(source)
    shop.set_available("whey", True)  # back within minutes: the same restock
    poll_again(source)
    run_consumers(before)
    assert alerts_for(contact) == ["watch.back_in_stock"]
    # Out for longer than the minimum: a new episode, told again (cooldown passed).
    shop.set_available("whey", False)
    poll_again(source)
    WatchedItem.objects.filter(pk=watched.pk).update(out_since=timezone.now() - timedelta(hours=1))
    Subscription.objects.update(quiet_until=None)
    before = last_event_id()
    shop.set_available("whey", True)
    poll_again(source)
    run_consumers(before)
    assert alerts_for(contact) == ["watch.back_in_stock", "watch.back_in_stock"]


def test_price_target_is_told_when_crossed_not_at_every_change(client, shop, watched):
    contact, _ = subscribe_by_api(client, watched, kind="price_below", target_price="2000.00")
    source = Source.objects.get()
    before = last_event_id()
    shop.set_price("whey", "2100.00")  # still above the target
    poll_again(source)
    shop.set_price("whey", "1950.00")  # crosses it
    poll_again(source)
    Subscription.objects.update(quiet_until=None)
    shop.set_price("whey", "1900.00")  # already below: no news
    poll_again(source)
    run_consumers(before)
    assert alerts_for(contact) == ["watch.price_changed"]
    alert = Notification.objects.get(contact=contact, template="watch.price_changed")
    assert alert.event.payload["new_price"] == "1950.00"


def test_unverified_and_stopped_contacts_get_nothing(client, shop, watched):
    from tests.conftest import Caller

    anon = Caller(client)
    pending = anon.post("/api/v1/contacts", {"channel": "email", "address": "a@Example.COM"}).json()
    assert pending["verified"] is False
    refused = anon.post(
        "/api/v1/subscriptions",
        {
            "contact_id": pending["id"],
            "contact_token": pending["contact_token"],
            "item_id": watched.pk,
        },
    )
    assert refused.status_code == 404  # an unproven token may verify, never subscribe
    contact, token = subscribe_by_api(client, watched)
    assert anon.delete(f"/api/v1/contacts/{contact.pk}?contact_token={token}").status_code == 204
    before = last_event_id()
    shop.set_available("whey", True)
    poll_again(Source.objects.get())
    run_consumers(before)
    assert alerts_for(contact) == []


def test_codes_are_limited_per_contact_and_wrong_codes_run_out(client):
    from tests.conftest import Caller

    anon = Caller(client)
    body = {"channel": "whatsapp", "address": "+91 98765 43210"}
    first = anon.post("/api/v1/contacts", body).json()
    for _ in range(2):
        assert anon.post("/api/v1/contacts", body).status_code == 201
    limited = anon.post("/api/v1/contacts", body)
    assert limited.status_code == 429
    assert limited.json()["code"] == "verification_rate_limited" and limited["Retry-After"]
    token = first["contact_token"]
    for _ in range(5):
        wrong = anon.post(
            f"/api/v1/contacts/{first['id']}/verify", {"code": "000000", "contact_token": token}
        )
        assert wrong.json()["code"] in ("code_invalid", "code_attempts_exhausted")
    right = anon.post(
        f"/api/v1/contacts/{first['id']}/verify",
        {"code": sent_code(first["id"]), "contact_token": token},
    )
    assert right.status_code == 410 and right.json()["code"] == "code_attempts_exhausted"
    assert not Contact.objects.get(pk=first["id"]).is_verified
    # API clients generated from the OpenAPI document must know this answer.
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "410" in paths["/api/v1/contacts/{contact_id}/verify"]["post"]["responses"]


def test_codes_from_one_ipv6_network_share_the_per_ip_limit(client, settings):
    # One subscriber holds a whole /64 and can take a new address for every request.
    settings.ALERTS_CODES_PER_IP_HOUR = 2
    statuses = [
        client.post(
            "/api/v1/contacts",
            {"channel": "email", "address": f"person{n}@example.com"},
            content_type="application/json",
            REMOTE_ADDR=f"2001:db8:7:9::{n + 1:x}",
        ).status_code
        for n in range(3)
    ]
    assert statuses == [201, 201, 429]
    other_network = client.post(
        "/api/v1/contacts",
        {"channel": "email", "address": "person9@example.com"},
        content_type="application/json",
        REMOTE_ADDR="2001:db8:7:a::1",
    )
    assert other_network.status_code == 201


def test_a_request_without_a_client_address_still_gets_its_code(client):
    # A unix-socket server sends no address; the code is sent and only counted per contact.
    response = client.post(
        "/api/v1/contacts",
        {"channel": "email", "address": "asha@example.com"},
        content_type="application/json",
        REMOTE_ADDR="",
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"channel": "whatsapp", "address": "12345"}, "invalid_phone"),
        ({"channel": "whatsapp", "address": "+91 22 2345 6789"}, "not_a_mobile_number"),
        ({"channel": "email", "address": "not-an-email"}, "invalid_email"),
        ({"channel": "webhook", "address": "ftp://example.com/hook"}, "invalid_webhook_url"),
        ({"channel": "webhook", "address": "http://xn--ls8h.la/hook"}, "invalid_webhook_url"),
        ({"channel": "email", "address": "asha@xn--ls8h.la"}, "invalid_email"),
        ({"channel": "apprise", "address": "nosuchservice://x"}, "invalid_apprise_url"),
        ({"channel": "pigeon", "address": "x"}, "unknown_channel"),
    ],
)
def test_bad_addresses_are_refused(client, body, code):
    from tests.conftest import Caller

    response = Caller(client).post("/api/v1/contacts", body)
    assert response.status_code == 422 and response.json()["code"] == code
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:8000/hook",
        "http://2130706433/hook",  # 127.0.0.1 as a decimal number
        "http://0x7f000001/hook",
        "http://127.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://0/hook",
    ],
)
def test_a_webhook_at_a_non_public_address_is_refused_when_added(client, settings, address):
    # Like Apprise URLs: refused at once, instead of a contact whose code can never arrive
    # (every send is refused by the guarded client).
    from tests.conftest import Caller

    settings.OUTBOUND_ALLOWED_NETWORKS = []  # as in production: no loopback test receivers

    response = Caller(client).post("/api/v1/contacts", {"channel": "webhook", "address": address})
    assert response.status_code == 422
    assert response.json()["code"] == "address_not_allowed"
    assert not Contact.objects.exists()


def test_a_webhook_whose_name_does_not_resolve_today_is_still_accepted(client, monkeypatch):
    # Not resolvable now is no refusal: each send checks the address it connects to.
    import socket

    from tests.conftest import Caller

    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    response = Caller(client).post(
        "/api/v1/contacts", {"channel": "webhook", "address": "https://hooks.example.com/in"}
    )
    assert response.status_code == 201


def test_one_event_fans_out_to_many_subscriptions_in_one_statement(
    watched, django_assert_max_num_queries
):
    from shelfwatch.alerts.matching import notifications_for_event
    from shelfwatch.events.publishing import emit

    contacts = Contact.objects.bulk_create(
        [
            Contact(channel="email", address=f"u{n}@example.com", verified_at=timezone.now())
            for n in range(300)
        ]
    )
    Subscription.objects.bulk_create(
        [Subscription(contact=c, item=watched, kind="back_in_stock") for c in contacts]
    )
    event = emit(
        type="watch.back_in_stock",
        payload={"item_id": watched.pk, "episode": 1, "price": None},
        topics=[f"watched:{watched.pk}"],
    )
    with django_assert_max_num_queries(8):
        assert notifications_for_event(event) == 300
    assert notifications_for_event(event) == 0  # again: nothing new
    assert Subscription.objects.filter(last_episode=1, quiet_until__isnull=False).count() == 300


@pytest.mark.parametrize("percent", ["0.001", "99.999"])
def test_a_drop_percent_with_a_third_decimal_place_is_refused_not_rounded(client, watched, percent):
    from tests.conftest import Caller

    contact, token = subscribe_by_api(client, watched)
    answer = Caller(client).post(
        "/api/v1/subscriptions",
        {
            "contact_id": contact.pk,
            "contact_token": token,
            "item_id": watched.pk,
            "kind": "price_drop",
            "min_drop_percent": percent,
        },
    )
    assert answer.status_code == 422, answer.json()
    assert answer.json()["code"] == "min_drop_percent_out_of_range"
    assert not Subscription.objects.filter(kind="price_drop").exists()
