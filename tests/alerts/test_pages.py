"""The public pages behind signed links: subscribe, confirm, manage, unsubscribe."""

from __future__ import annotations

import pytest
from django.utils import timezone

from shelfwatch.alerts.links import unsubscribe_token
from shelfwatch.alerts.models import Subscription
from shelfwatch.notify.links import confirm_token, manage_token, unsubscribe_all_token
from shelfwatch.notify.models import Contact, Notification
from shelfwatch.watch.models import Source, SourceStatus, WatchedItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def item():
    source = Source.objects.create(
        name="Amul shop", kind="internal", status=SourceStatus.OK, baseline_done=True
    )
    return WatchedItem.objects.create(
        source=source, external_id="1", name="Amul Whey Protein", available=False
    )


@pytest.fixture
def subscription(item):
    contact = Contact.objects.create(
        channel="email", address="asha@example.com", verified_at=timezone.now()
    )
    return Subscription.objects.create(contact=contact, item=item)


def test_subscribe_page_lists_the_shop_and_its_products(client, item):
    page = client.get("/subscribe")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Amul Whey Protein" in html and "Out of stock" in html
    assert f'data-source="{item.source_id}"' in html and "subscribe.js" in html


def test_subscribe_page_reads_a_source_that_is_no_plain_number_as_none(client, item):
    response = client.get("/subscribe", {"source": "\u00b2"})
    assert response.status_code == 200


def test_a_signed_in_reader_is_offered_their_accounts_email(client, item):
    from shelfwatch.accounts.models import User

    anonymous = client.get("/subscribe").content.decode()
    assert 'value="email" selected' not in anonymous and 'autocomplete="tel"' in anonymous
    user = User.objects.create_user(email="meera@example.com", password="a-long-pass-phrase")
    client.force_login(user)
    html = client.get("/subscribe").content.decode()
    assert '<option value="email" selected>' in html
    assert 'type="email" autocomplete="email"' in html and 'value="meera@example.com"' in html


def test_email_link_confirms_only_on_post(client):
    contact = Contact.objects.create(channel="email", address="new@example.com")
    url = f"/alerts/confirm/{confirm_token(contact)}/"
    assert client.get(url).status_code == 200
    contact.refresh_from_db()
    assert not contact.is_verified  # a mail scanner's GET confirms nothing
    response = client.post(url)
    assert response.status_code == 302 and "/alerts/manage/" in response["Location"]
    contact.refresh_from_db()
    assert contact.is_verified


def test_manage_page_pauses_changes_and_stops(client, subscription):
    url = f"/alerts/manage/{manage_token(subscription.contact)}/"
    page = client.get(url)
    assert page.status_code == 200 and "Amul Whey Protein" in page.content.decode()
    client.post(url, {"subscription": subscription.pk, "action": "pause"})
    subscription.refresh_from_db()
    assert not subscription.is_active
    client.post(url, {"subscription": subscription.pk, "action": "resume"})
    subscription.refresh_from_db()
    assert subscription.is_active
    client.post(url, {"action": "stop_all"})
    subscription.refresh_from_db()
    subscription.contact.refresh_from_db()
    assert not subscription.is_active and not subscription.contact.is_active


def test_manage_link_of_another_contact_reaches_nothing(client, subscription):
    other = Contact.objects.create(channel="email", address="other@example.com")
    page = client.post(
        f"/alerts/manage/{manage_token(other)}/",
        {"subscription": subscription.pk, "action": "delete"},
    )
    assert page.status_code == 404
    assert Subscription.objects.filter(pk=subscription.pk).exists()
    assert client.get("/alerts/manage/forged-token/").status_code == 410


def test_one_click_unsubscribe_needs_no_cookie_or_csrf(subscription):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    url = f"/alerts/unsubscribe/{unsubscribe_token(subscription)}/"
    assert strict.get(url).status_code == 200
    subscription.refresh_from_db()
    assert subscription.is_active  # GET only asks
    response = strict.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert not subscription.is_active
    all_url = f"/alerts/unsubscribe-all/{unsubscribe_all_token(subscription.contact)}/"
    assert strict.post(all_url).status_code == 200
    subscription.contact.refresh_from_db()
    assert not subscription.contact.is_active


def test_a_new_link_version_revokes_old_links(client, subscription):
    url = f"/alerts/unsubscribe/{unsubscribe_token(subscription)}/"
    Contact.objects.filter(pk=subscription.contact_id).update(link_version=2)
    assert client.post(url).status_code == 404


def test_manage_link_request_answers_the_same_for_unknown_addresses(client, subscription):
    known = client.post("/alerts/manage-link/", {"channel": "email", "address": "asha@example.com"})
    unknown = client.post(
        "/alerts/manage-link/", {"channel": "email", "address": "nobody@example.com"}
    )
    assert known.status_code == unknown.status_code == 200
    assert known.content.decode().count("on its way") == unknown.content.decode().count(
        "on its way"
    )
    link = Notification.objects.get(template="manage_link")
    assert link.contact == subscription.contact and "/alerts/manage/" in link.context["url"]
    for _ in range(5):
        client.post("/alerts/manage-link/", {"channel": "email", "address": "asha@example.com"})
    assert Notification.objects.filter(template="manage_link").count() == 3  # per hour


@pytest.mark.throttle_window(3600)
def test_manage_link_requests_are_limited_per_ip(client, settings, subscription):
    # Each request may send a message to whoever owns the address: limited like the
    # sign-in and reset forms, per IP, before anything is looked up or sent.
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "manage_link": "3/h"}
    form = {"channel": "email", "address": "nobody@example.com"}
    statuses = [client.post("/alerts/manage-link/", form).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = client.post("/alerts/manage-link/", {**form, "address": "asha@example.com"})
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert not Notification.objects.filter(template="manage_link").exists()
    other = client.post(
        "/alerts/manage-link/", {**form, "address": "asha@example.com"}, REMOTE_ADDR="10.9.8.7"
    )
    assert other.status_code == 200
    assert Notification.objects.filter(template="manage_link").count() == 1


@pytest.mark.parametrize("subscription_field", ["abc", "-1", "\u0661", "99999999999999999999999"])
def test_manage_page_answers_404_for_a_subscription_field_that_is_no_key(
    client, subscription, subscription_field
):
    response = client.post(
        f"/alerts/manage/{manage_token(subscription.contact)}/",
        {"subscription": subscription_field, "action": "pause"},
    )
    assert response.status_code == 404
    subscription.refresh_from_db()
    assert subscription.is_active


@pytest.mark.parametrize("price", ["NaN", "sNaN", "Infinity", "1e30", "0.001", "-5", "abc"])
def test_manage_page_refuses_a_target_price_the_column_cannot_hold(client, subscription, price):
    subscription.kind = "price_below"
    subscription.target_price = 250
    subscription.save()
    url = f"/alerts/manage/{manage_token(subscription.contact)}/"
    response = client.post(
        url, {"subscription": subscription.pk, "action": "target", "target_price": price}
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.target_price == 250
    page = client.get(url)  # the row still reads, and the page says what was wrong
    assert page.status_code == 200 and "Type the price you would pay" in page.content.decode()


def test_manage_page_changes_a_target_price(client, subscription):
    subscription.kind = "price_below"
    subscription.target_price = 250
    subscription.save()
    client.post(
        f"/alerts/manage/{manage_token(subscription.contact)}/",
        {"subscription": subscription.pk, "action": "target", "target_price": " 199.50 "},
    )
    subscription.refresh_from_db()
    assert str(subscription.target_price) == "199.50"
