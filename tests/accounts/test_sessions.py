"""Session auth for pages and the API, with CSRF on writes."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def logged_in_client(make_user) -> Client:
    make_user("customer@example.com")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    response = client.post(
        "/login/",
        {"username": "customer@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    return client


def test_login_page_session_reaches_the_api(make_user):
    client = logged_in_client(make_user)
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["auth_method"] == "session"


def test_session_write_without_csrf_is_refused(make_user):
    client = logged_in_client(make_user)
    response = client.post("/api/v1/api-keys/", {"name": "k"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


def test_session_write_with_csrf_token_works(make_user):
    client = logged_in_client(make_user)
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/api-keys/",
        {"name": "k"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201


def test_login_page_rejects_wrong_password(make_user):
    make_user("customer@example.com")
    client = Client()
    response = client.post("/login/", {"username": "customer@example.com", "password": "nope"})
    assert response.status_code == 200
    assert b"wrong" in response.content
    assert client.get("/api/v1/auth/me").status_code == 401
