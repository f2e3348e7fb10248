"""Machine requests (probes, cookie-less API calls) skip the page-only middleware, keep
every security header and check, and pages keep their sessions, CSRF and language; a
kept database connection is health-checked only after sitting idle."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _assert_security_headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response[name] == value, name
    assert len(response["X-Request-ID"]) >= 16


def test_health_keeps_every_security_header_and_sets_no_cookie(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    _assert_security_headers(response)
    assert int(response["Content-Length"]) == len(response.content)
    assert not response.cookies and "Vary" not in response


def test_me_with_a_token_is_correct_with_every_security_header(callers):
    response = callers["customer"].get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response.json()["email"] == "customer@example.com"
    _assert_security_headers(response)
    assert not response.cookies and "Cookie" not in response.get("Vary", "")
    refused = callers["anon"].get("/api/v1/auth/me", Authorization="Bearer not-a-token")
    assert refused.status_code == 401
    _assert_security_headers(refused)
    assert callers["anon"].get("/api/v1/auth/me").status_code == 401


def test_a_caller_request_id_is_echoed_and_a_bad_one_replaced(client):
    assert client.get("/health", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    assert client.get("/health", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"


def test_machine_requests_still_refuse_a_host_not_allowed(client):
    assert client.get("/health", HTTP_HOST="evil.example").status_code == 400
    assert client.get("/api/v1/products", HTTP_HOST="evil.example").status_code == 400


def test_machine_requests_are_redirected_to_https_and_get_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    redirected = client.get("/health")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")
    secure = client.get("/api/v1/products", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=3600")


def test_pages_keep_sessions_csrf_and_language(client):
    page = client.get("/subscribe", HTTP_ACCEPT_LANGUAGE="hi")
    assert page.status_code == 200
    assert "Accept-Language" in page["Vary"] and page["Content-Language"] == "hi"
    assert "csrftoken" in page.cookies
    _assert_security_headers(page)
    # The API in a browser (with its cookies) still loads the session, and answers in the
    # default language whatever the page before it used.
    api = client.get("/api/v1/products", HTTP_ACCEPT_LANGUAGE="hi")
    assert api.status_code == 200 and "Content-Language" not in api


def test_a_cookieless_visitor_write_still_starts_a_session(client, store_a):
    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem

    product = Product.objects.create(name="Rusk", status="verified")
    StockItem.objects.create(store=store_a, product=product, quantity=5, selling_price="10.00")
    response = client.post(
        "/api/v1/cart/lines",
        {"store_id": store_a.pk, "product_id": product.pk, "quantity": 1},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert "sessionid" in response.cookies


def _reused_connection_checked(client, settings, idle: float) -> bool:
    settings.DB_IDLE_CHECK_SECONDS = idle
    client.get("/api/v1/products")  # the connection has now served a request
    checks = []
    usable = connection.is_usable

    def counting() -> bool:
        checks.append(1)
        return usable()

    connection.is_usable = counting
    connection.health_check_done = False  # Django resets it per request outside tests
    try:
        client.get("/api/v1/products")
    finally:
        del connection.is_usable
    return bool(checks)


def test_a_busy_connection_is_not_health_checked_an_idle_one_is(client, settings):
    connection.ensure_connection()
    assert not _reused_connection_checked(client, settings, idle=30)
    assert _reused_connection_checked(client, settings, idle=0)


def test_the_deploy_checks_still_see_the_csrf_and_session_middleware(settings):
    from shelfwatch.ops.checks import check_page_middleware

    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = True
    settings.SESSION_COOKIE_HTTPONLY = True
    assert check_page_middleware(None) == []
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = False
    ids = {message.id for message in check_page_middleware(None)}
    assert {"shelfwatch.security.W016", "shelfwatch.security.W012"} <= ids
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "Csrf" not in m]
    assert "shelfwatch.security.W003" in {m.id for m in check_page_middleware(None)}


def test_a_wrong_method_is_a_405_that_says_so_on_pages_and_in_the_api(client, callers):
    """Django's 405 had an empty body and Ninja's a bare text line, even on the API."""
    page = client.get("/cart/add")
    assert page.status_code == 405 and page["Allow"] == "POST"
    assert page["Content-Type"].startswith("text/html")
    assert "use the links and buttons on its page" in page.content.decode()
    for response in (
        callers["customer"].request("PUT", "/api/v1/flash-sales", {}),
        client.post("/health"),
    ):
        assert response.status_code == 405
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "method_not_allowed"
        assert response["Allow"]
