"""Price history and restock patterns where shoppers meet them: the subscribe page, its
per-product history fragment, and the back-in-stock message."""

from __future__ import annotations

import pytest
from django.utils import timezone

from shelfwatch.alerts.matching import notifications_for_event
from shelfwatch.alerts.models import Subscription
from shelfwatch.events.models import Event
from shelfwatch.notify.messages import build_message
from shelfwatch.notify.models import Contact, Notification
from shelfwatch.watch.models import WatchedItem
from tests.watch.restocks import restocking_item

pytestmark = pytest.mark.django_db

SENTENCE = "Usually back within 2 days (3 restocks seen), most often on Tuesday mornings."


def test_the_product_a_shopper_came_for_shows_its_chart_and_restock_pattern(client):
    item = restocking_item(restocks=3)
    page = client.get("/subscribe", {"source": item.source_id, "item": item.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") == 1 and 'class="out-of-stock"' in html
    assert SENTENCE in html
    assert "INR 2399.00" in html and "INR 2499.00" in html  # lowest, highest, now


def test_a_long_list_loads_each_history_only_when_opened(client):
    item = restocking_item(restocks=3)
    for n in range(30):
        WatchedItem.objects.create(source=item.source, external_id=str(n), name=f"Item {n}")
    html = client.get("/subscribe", {"source": item.source_id}).content.decode()
    assert "<svg" not in html
    assert html.count('data-history-url="/alerts/history/') == 31
    fragment = client.get(f"/alerts/history/{item.pk}/")
    assert fragment.status_code == 200
    assert "max-age=300" in fragment["Cache-Control"]
    body = fragment.content.decode()
    assert "<svg" in body and SENTENCE in body and "<html" not in body


def test_the_history_fragment_speaks_hindi_to_a_hindi_visitor(client):
    item = restocking_item(restocks=3)
    body = client.get(f"/alerts/history/{item.pk}/", HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    assert "मंगलवार" in body and SENTENCE not in body


def test_no_history_fragment_for_a_private_or_unknown_product(client):
    private = restocking_item(restocks=3, public=False)
    assert client.get(f"/alerts/history/{private.pk}/").status_code == 404
    assert client.get("/alerts/history/987654/").status_code == 404
    assert client.post(f"/alerts/history/{private.pk}/").status_code == 405


def back_in_stock_message(item, language: str) -> str:
    contact = Contact.objects.create(
        channel="email",
        address=f"asha-{language}@example.com",
        verified_at=timezone.now(),
        language=language,
    )
    Subscription.objects.create(contact=contact, item=item)
    event = Event.objects.create(
        type="watch.back_in_stock",
        payload={"item_id": item.pk, "episode": 9, "price": "2399.00", "currency": "INR"},
    )
    assert notifications_for_event(event) >= 1
    note = Notification.objects.get(contact=contact)
    return build_message(note).text


def test_the_back_in_stock_message_says_when_it_usually_comes_back():
    item = restocking_item(restocks=3)
    english = back_in_stock_message(item, "en")
    assert SENTENCE in english.splitlines()
    hindi = back_in_stock_message(item, "hi")
    assert "मंगलवार" in hindi and "Tuesday" not in hindi


def test_no_pattern_line_after_too_few_restocks():
    item = restocking_item(restocks=2)
    text = back_in_stock_message(item, "en")
    assert "Usually back" not in text
    assert text.splitlines()[0].startswith("Good news: Amul Whey Protein is back in stock")
    assert text.splitlines()[1].endswith("/subscribe")  # the link follows at once


def test_the_charts_dates_are_the_shops_days_not_utc_ones(client):
    # 20:00 UTC on 7 December is 01:30 on 8 December in Kolkata, where the shop is.
    from datetime import UTC, datetime
    from unittest import mock

    now = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=now):
        item = restocking_item(restocks=3)
        body = client.get(f"/alerts/history/{item.pk}/").content.decode()
    assert "\u2013 8 Dec" in body
    assert "\u2013 7 Dec" not in body
