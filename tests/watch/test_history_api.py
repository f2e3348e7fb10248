"""`GET /api/v1/watch/items/{id}/history` and the chart on the admin's item page."""

from __future__ import annotations

import pytest

from shelfwatch.watch.models import Source
from tests.watch.restocks import restocking_item

pytestmark = pytest.mark.django_db

SENTENCE = "Usually back within 2 days (3 restocks seen), most often on Tuesday mornings."


def test_anyone_reads_a_public_items_history_with_its_restock_pattern(callers):
    item = restocking_item(restocks=3)
    answer = callers["anon"].get(f"/api/v1/watch/items/{item.pk}/history?days=90")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["item_id"] == item.pk and body["currency"] == "INR"
    assert [p["price"] for p in body["points"]] == ["2499.00", "2399.00"]
    assert len(body["out_of_stock"]) == 3 and body["days_out"] == 6.0
    assert (body["lowest"], body["highest"], body["current_price"]) == (
        "2399.00",
        "2499.00",
        "2399.00",
    )
    assert body["restock"] == {
        "restocks": 3,
        "typical_out_hours": 48.0,
        "weekday": 1,
        "part_of_day": "morning",
    }
    assert body["restock_sentence"] == SENTENCE


def test_two_restocks_give_a_history_but_no_pattern(callers):
    item = restocking_item(restocks=2)
    body = callers["customer"].get(f"/api/v1/watch/items/{item.pk}/history").json()
    assert len(body["out_of_stock"]) == 2
    assert body["restock"] is None and body["restock_sentence"] == ""


def test_an_item_of_a_private_shop_is_visible_to_admins_only(callers):
    item = restocking_item(restocks=3, public=False)
    url = f"/api/v1/watch/items/{item.pk}/history"
    for role in ("anon", "customer", "staff_a"):
        answer = callers[role].get(url)
        assert answer.status_code == 404 and answer.json()["code"] == "item_not_found"
    assert callers["admin"].get(url).status_code == 200


@pytest.mark.parametrize("days", ["0", "731", "-5", "many", "99999999999999999999"])
def test_a_range_out_of_bounds_is_refused_not_a_crash(callers, days):
    item = restocking_item(restocks=0)
    answer = callers["anon"].get(f"/api/v1/watch/items/{item.pk}/history?days={days}")
    assert answer.status_code == 422


def test_a_shorter_range_holds_only_its_own_periods(callers):
    item = restocking_item(restocks=3)
    body = callers["anon"].get(f"/api/v1/watch/items/{item.pk}/history?days=10").json()
    assert len(body["out_of_stock"]) <= 2  # the oldest restock is three weeks back
    assert body["restock_sentence"] == SENTENCE  # the pattern reads the whole year


def test_staff_see_the_chart_and_pattern_on_the_admin_item_page(client, make_user):
    from tests.conftest import PASSWORD

    make_user("root@example.com", admin=True)
    assert client.login(email="root@example.com", password=PASSWORD)
    item = restocking_item(restocks=3)
    page = client.get(f"/admin/watch/watcheditem/{item.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'class="out-of-stock"' in html
    assert SENTENCE in html and "INR 2399.00" in html
    assert Source.objects.count() == 1
