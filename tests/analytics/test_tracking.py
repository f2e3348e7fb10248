"""Product views are counted outside the request's database work, visitors by a daily
keyed hash, bots and do-not-track requests apart, and empty searches by their words."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shelfwatch.analytics.models import DailySalt, SearchMiss, Visit
from shelfwatch.analytics.visitors import delete_old_salts, today, visitor_id
from tests.analytics.conftest import BROWSER, GOOGLEBOT, PHONE, choose

pytestmark = pytest.mark.django_db


def view(client, product, agent=BROWSER, **headers):
    response = client.get(f"/products/{product.pk}", HTTP_USER_AGENT=agent, **headers)
    assert response.status_code == 200
    return response


def test_a_page_view_is_written_by_the_flush_not_by_the_request(client, recorder, shelf, store_a):
    choose(client, store_a)
    view(client, shelf[0])  # the day's salt is made on the first view
    with CaptureQueriesContext(connection) as queries:
        view(client, shelf[0])
        view(client, shelf[0])
    assert not [q["sql"] for q in queries.captured_queries if "analytics_" in q["sql"]]
    assert Visit.objects.count() == 0

    assert recorder.flush() == {"views": 3, "search_misses": 0}
    visits = list(Visit.objects.all())
    assert [(v.product_id, v.store_id, v.is_bot, v.via_api) for v in visits] == [
        (shelf[0].pk, store_a.pk, False, False)
    ] * 3
    assert len({v.visitor for v in visits}) == 1 and len(visits[0].visitor) == 32
    assert recorder.flush() == {"views": 0, "search_misses": 0}


def test_the_embedded_recorder_flushes_itself_once_enough_views_gathered(
    client, recorder, settings, shelf
):
    settings.REDIS_URL = ""  # the embedded deployment: hits wait in the web process
    settings.ANALYTICS_FLUSH_HITS = 3
    view(client, shelf[0])
    view(client, shelf[1])
    assert recorder.pending_local() == 2 and Visit.objects.count() == 0
    view(client, shelf[1])
    assert recorder.pending_local() == 0
    assert Visit.objects.count() == 3


@pytest.mark.skipif(not __import__("os").environ.get("REDIS_URL"), reason="needs Redis")
def test_with_redis_a_recorded_view_waits_in_redis_not_in_the_web_process(client, recorder, shelf):
    import redis
    from django.conf import settings

    view(client, shelf[0])
    assert recorder.pending_local() == 0
    assert redis.Redis.from_url(settings.REDIS_URL).llen(recorder.REDIS_KEY) == 1
    assert recorder.flush()["views"] == 1
    assert Visit.objects.get().product_id == shelf[0].pk


def test_unique_visitors_differ_by_browser_and_a_signed_in_user_is_one_visitor(
    recorder, shelf, make_user
):
    first, second = Client(), Client()
    view(first, shelf[0], BROWSER)
    view(first, shelf[1], BROWSER)
    view(second, shelf[0], PHONE)
    shopper = make_user("shopper@example.com")
    signed_in = Client()
    signed_in.force_login(shopper)
    view(signed_in, shelf[0], BROWSER)
    view(signed_in, shelf[0], PHONE)
    recorder.flush()

    ids = list(Visit.objects.order_by("id").values_list("visitor", flat=True))
    assert ids[0] == ids[1]  # same address and browser, another product
    assert ids[2] != ids[0]  # another browser
    assert ids[3] == ids[4] and ids[3] not in ids[:3]  # the account, whatever the browser


def test_a_bot_view_is_counted_apart_without_a_visitor_id(client, recorder, shelf):
    view(client, shelf[0], GOOGLEBOT)
    view(client, shelf[0], "")
    recorder.flush()
    assert list(Visit.objects.values_list("is_bot", "visitor")) == [(True, ""), (True, "")]


@pytest.mark.parametrize("header", ["HTTP_DNT", "HTTP_SEC_GPC"])
def test_do_not_track_and_gpc_views_count_but_get_no_visitor_id(client, recorder, shelf, header):
    view(client, shelf[0], **{header: "1"})
    view(client, shelf[0], **{header: "0"})
    recorder.flush()
    visitors = list(Visit.objects.order_by("id").values_list("visitor", flat=True))
    assert visitors[0] == "" and len(visitors[1]) == 32


def test_an_api_product_read_is_counted_and_a_missing_product_is_not(client, recorder, shelf):
    assert client.get(f"/api/v1/products/{shelf[1].pk}", HTTP_USER_AGENT=BROWSER).status_code == 200
    assert client.get("/api/v1/products/987654").status_code == 404
    assert client.get("/products/987654").status_code == 404
    recorder.flush()
    visit = Visit.objects.get()
    assert (visit.product_id, visit.store_id, visit.via_api) == (shelf[1].pk, None, True)


def test_visitor_ids_come_from_a_daily_salt_and_old_salts_are_deleted(recorder):
    who = {"store_id": 1, "ip": "203.0.113.9", "user_agent": BROWSER}
    monday = visitor_id(day=date(2026, 3, 2), **who)
    assert visitor_id(day=date(2026, 3, 2), **who) == monday
    assert visitor_id(day=date(2026, 3, 3), **who) != monday
    assert visitor_id(day=date(2026, 3, 2), **{**who, "store_id": 2}) != monday
    visitor_id(day=today(), **who)

    assert delete_old_salts() == 2
    assert list(DailySalt.objects.values_list("day", flat=True)) == [today()]


def test_searches_that_find_nothing_are_recorded_by_their_normalised_words(
    client, recorder, shelf, store_a
):
    client.defaults["HTTP_USER_AGENT"] = BROWSER  # an empty agent counts as a bot
    choose(client, store_a)
    assert client.get("/products/", {"q": "  Gluten-FREE   Bread "}).status_code == 200
    assert client.get("/products/", {"q": "sourdough"}).status_code == 200  # found
    assert client.get("/api/v1/products", {"q": "unobtainium"}).status_code == 200
    assert client.get("/api/v1/products", {"q": "chai"}).status_code == 200  # found
    assert client.get("/products/", {"q": "zzz"}, HTTP_USER_AGENT=GOOGLEBOT).status_code == 200
    recorder.flush()
    misses = list(SearchMiss.objects.order_by("id").values_list("store_id", "query"))
    assert misses == [(store_a.pk, "gluten-free bread"), (None, "unobtainium")]


def test_a_page_still_answers_when_redis_refuses_and_the_view_is_held_here(
    client, recorder, settings, shelf
):
    from tests.conftest import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/10"  # nothing listens there
    view(client, shelf[0])
    assert recorder.pending_local() == 1
    settings.REDIS_URL = ""
    assert recorder.flush()["views"] == 1
