"""Every API error is problem+json with a stable code, and bad input changes nothing."""

from __future__ import annotations

import logging

import pytest
from django.test import Client, override_settings
from django.urls import path

from shelfwatch.accounts.models import User
from shelfwatch.config import urls as root_urls

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    return body


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/register", "{not json", content_type="application/json")
    assert_problem(response, 400, "malformed_json")
    assert User.objects.count() == 0


def test_body_over_the_limit_is_413(client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1024
    body = '{"email": "a@example.com", "password": "' + "x" * 2000 + '"}'
    response = client.post("/api/v1/auth/register", body, content_type="application/json")
    assert_problem(response, 413, "body_too_large")
    assert User.objects.count() == 0


def test_validation_errors_list_fields(client):
    response = client.post("/api/v1/auth/register", {}, content_type="application/json")
    body = assert_problem(response, 422, "validation_error")
    assert {error["field"] for error in body["errors"]} == {"email", "password"}


def test_unknown_api_route_is_404_problem(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_unknown_page_is_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def boom(request):
    raise RuntimeError("secret-database-password-123")


urlpatterns = [path("api/v1/boom", boom), *root_urls.urlpatterns]
handler500 = root_urls.handler500


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_unhandled_error_is_500_problem_without_internals(caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/boom", headers={"X-Request-ID": "req-boom-1"})
    assert_problem(response, 500, "internal_error")
    text = response.content.decode()
    assert "secret-database-password-123" not in text
    assert "Traceback" not in text
    assert response["X-Request-ID"] == "req-boom-1"
    assert "secret-database-password-123" in caplog.text


def test_unhandled_error_inside_an_api_operation_is_500_problem(caplog):
    from shelfwatch.config.api import api

    request = Client().get("/").wsgi_request
    with caplog.at_level(logging.ERROR):
        response = api.on_exception(request, RuntimeError("token=hunter2"))
    assert response.status_code == 500
    assert b"hunter2" not in response.content
    assert "hunter2" in caplog.text
