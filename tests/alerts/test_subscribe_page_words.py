"""The subscribe page offers price-target and percentage-drop alerts beside back in stock,
puts its form before the product list on a phone, and hands its script friendly words
for the API's problems, in the shopper's language."""

from __future__ import annotations

import json
import re

import pytest

from shelfwatch.watch.models import Source, SourceStatus, WatchedItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def source():
    source = Source.objects.create(
        name="Amul protein", kind="internal", status=SourceStatus.OK, baseline_done=True
    )
    WatchedItem.objects.create(source=source, external_id="whey", name="Whey 1 kg")
    return source


def words_of(html: str) -> dict:
    found = re.search(r'<script id="subscribe-words" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def test_the_page_offers_three_kinds_of_alert_and_friendly_words(client, source):
    html = client.get(f"/subscribe?source={source.pk}").content.decode()
    for kind in ("back_in_stock", "price_below", "price_drop"):
        assert f'name="kind" value="{kind}"' in html
    assert 'name="target_price"' in html and 'name="min_drop_percent"' in html
    words = words_of(html)
    assert words["code_invalid"].startswith("That is not the code we sent.")
    assert "that code is not right" not in json.dumps(words)
    assert ".subscribe-layout .contact { order: -1; }" in html


def test_the_words_come_in_hindi(client, source):
    client.cookies["django_language"] = "hi"
    words = words_of(client.get(f"/subscribe?source={source.pk}").content.decode())
    assert words["invalid_phone"] and "phone number" not in words["invalid_phone"]


def test_link_pages_speak_in_words_for_people_and_in_hindi(client):
    expired = client.get("/alerts/manage/not-a-token/")
    assert expired.status_code == 410
    assert "Ask for a new one on the alerts page." in expired.content.decode()
    wrong = client.post("/alerts/manage-link/", {"channel": "whatsapp", "address": "12345"})
    html = wrong.content.decode()
    assert wrong.status_code == 422 and "That does not look like a phone number." in html
    assert "'12345'" not in html
    client.cookies["django_language"] = "hi"
    assert "यह लिंक समाप्त हो गया है" in client.get("/alerts/manage/not-a-token/").content.decode()
