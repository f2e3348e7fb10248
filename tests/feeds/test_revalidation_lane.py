"""Feed revalidations answered ahead of the full stack (config/revalidation.py): the same
304 as the full stack gives, and every refusal still the full stack's."""

from __future__ import annotations

import contextlib
import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from shelfwatch.config.revalidation import RevalidationLane
from shelfwatch.feeds.models import Dataset
from tests.feeds.conftest import refresh_now

pytestmark = pytest.mark.django_db

URL = "/api/v1/feeds/inventory"


@pytest.fixture
def inventory(make_dataset, stocked_store):
    dataset = make_dataset("inventory")
    refresh_now(dataset)
    return Dataset.objects.select_related("current_snapshot").get(pk=dataset.pk)


class Counted:
    """Django's WSGI handler, counting the requests it is handed."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


@pytest.fixture
def lane():
    return RevalidationLane(Counted())


@contextlib.contextmanager
def _test_transaction_kept():
    # As Django's test client does: a request's signals must not close the connection
    # that holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call(lane, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """One request through the WSGI entry point: (status, headers, body)."""
    path, _, query = path.partition("?")
    environ = RequestFactory().get(path, headers=headers).environ
    environ["QUERY_STRING"] = query
    if not environ.get("HTTP_COOKIE"):
        del environ["HTTP_COOKIE"]  # the request factory's empty one; machines send none
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)

    with _test_transaction_kept():
        body = lane(environ, start_response)
        content = b"".join(body)
        getattr(body, "close", lambda: None)()
    return answer["status"], answer["headers"], content


def current_etag(lane, key: str) -> str:
    status, headers, _ = call(lane, URL, {"X-API-Key": key, "Accept-Encoding": "gzip"})
    assert status == 200
    return headers["ETag"]


def test_a_current_tag_gets_the_same_304_as_the_full_stack_in_one_statement(
    lane, inventory, reader_key
):
    key = reader_key("inventory")
    headers = {"X-API-Key": key, "Accept-Encoding": "gzip"}
    headers["If-None-Match"] = current_etag(lane, key)
    call(lane, URL, headers)  # warm: the key and the dataset row kept by this process
    handed_on = lane.app.calls
    with CaptureQueriesContext(connection) as queries:
        status, answered, body = call(lane, URL, headers)
    assert status == 304 and body == b""
    assert lane.app.calls == handed_on  # answered ahead of the full stack
    assert len(queries) == 1  # the dataset row: a new snapshot is seen at once
    # A query string takes the full stack (format=json is the stored representation too).
    full_status, full, _ = call(lane, URL + "?format=json", headers)
    assert full_status == 304 and lane.app.calls == handed_on + 1
    assert answered.pop("X-Request-ID") and full.pop("X-Request-ID")
    assert answered == full


def test_refusals_and_stale_tags_are_answered_by_the_full_stack(
    lane, inventory, reader_key, make_dataset
):
    etag = current_etag(lane, reader_key("inventory"))
    conditional = {"If-None-Match": etag, "Accept-Encoding": "gzip"}

    status, headers, body = call(lane, URL, {**conditional, "X-API-Key": reader_key("orders")})
    assert status == 403 and headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["code"] == "dataset_forbidden"

    status, _, body = call(lane, URL, {**conditional, "X-API-Key": "sw_not_a_key"})
    assert status == 401 and json.loads(body)["code"] == "invalid_credentials"

    no_scope = reader_key("inventory", scopes=())
    status, _, body = call(lane, URL, {**conditional, "X-API-Key": no_scope})
    assert status == 403 and json.loads(body)["code"] == "insufficient_scope"

    status, _, body = call(lane, URL, {**conditional, "X-API-Key": reader_key()})
    assert status == 403  # no feeds scope at all

    reader = reader_key("inventory")
    status, headers, _ = call(
        lane, URL, {**conditional, "X-API-Key": reader, "If-None-Match": '"x"'}
    )
    assert status == 200 and headers["ETag"] == etag

    make_dataset("empty")  # no snapshot yet
    status, _, body = call(
        lane, "/api/v1/feeds/empty", {**conditional, "X-API-Key": reader_key("empty")}
    )
    assert status == 503 and json.loads(body)["code"] == "no_snapshot"


@pytest.mark.throttle_window(60)
def test_revalidations_count_against_the_rate_limit(lane, inventory, reader_key, settings):
    settings.THROTTLE_ENABLED = True
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "user": "3/m"}
    key = reader_key("inventory")
    headers = {"X-API-Key": key, "If-None-Match": "", "Accept-Encoding": "gzip"}
    headers["If-None-Match"] = current_etag(lane, key)  # the first of the three
    assert call(lane, URL, headers)[0] == 304
    assert call(lane, URL, headers)[0] == 304
    status, answered, body = call(lane, URL, headers)
    assert status == 429 and json.loads(body)["code"] == "rate_limited"
    assert "Retry-After" in answered


def test_a_disallowed_host_is_refused_by_the_full_stack(lane, inventory, reader_key):
    key = reader_key("inventory")
    headers = {"X-API-Key": key, "If-None-Match": current_etag(lane, key), "Host": "evil.test"}
    status, _, _ = call(lane, URL, headers)
    assert status == 400
