"""Rate limits: 429 problem with Retry-After; stricter on the auth endpoints."""

from __future__ import annotations

import pytest

from shelfwatch.accounts.throttling import parse_rate
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.throttle_window(3600)]


def test_parse_rate():
    assert parse_rate("10/m") == (10, 60)
    assert parse_rate("5/sec") == (5, 1)
    assert parse_rate("100/hour") == (100, 3600)
    with pytest.raises(ValueError):
        parse_rate("lots")


def test_login_is_limited_per_ip(client, settings, make_user):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "3/h"}
    make_user("customer@example.com")
    body = {"email": "customer@example.com", "password": "wrong-password-x"}
    statuses = [
        client.post("/api/v1/auth/login", body, content_type="application/json").status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    limited = client.post(
        "/api/v1/auth/login",
        {"email": "customer@example.com", "password": PASSWORD},
        content_type="application/json",
    )
    assert limited.status_code == 429
    assert limited["Content-Type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 3600
    # Another address is not affected.
    other = client.post(
        "/api/v1/auth/login",
        {"email": "customer@example.com", "password": PASSWORD},
        content_type="application/json",
        REMOTE_ADDR="10.9.8.7",
    )
    assert other.status_code == 200


def test_login_is_limited_per_account_from_every_address(client, settings, make_user):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login_account": "2/h"}
    make_user("customer@example.com")
    make_user("other@example.com")
    url = "/api/v1/auth/login"
    guess = {"email": "Customer@Example.com ", "password": "wrong-password-x"}
    statuses = [
        client.post(url, guess, content_type="application/json", REMOTE_ADDR=f"10.0.0.{n}")
        for n in range(3)
    ]
    assert [r.status_code for r in statuses] == [401, 401, 429]
    assert statuses[-1].json()["code"] == "rate_limited"
    # The sign-in page counts against the same account budget.
    page = client.post("/login/", {"username": "customer@example.com", "password": PASSWORD})
    assert page.status_code == 429
    # Another account, from any of those addresses, is not held back.
    other = {"email": "other@example.com", "password": PASSWORD}
    ok = client.post(url, other, content_type="application/json", REMOTE_ADDR="10.0.0.1")
    assert ok.status_code == 200


def test_only_failed_sign_ins_spend_an_accounts_budget(client, settings, make_user):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login_account": "2/h"}
    make_user("customer@example.com")
    url = "/api/v1/auth/login"
    right = {"email": "customer@example.com", "password": PASSWORD}
    # A script or an owner signing in again and again is never held back...
    for n in range(4):
        ok = client.post(url, right, content_type="application/json", REMOTE_ADDR=f"10.1.0.{n}")
        assert ok.status_code == 200
        page = client.post("/login/", {"username": "customer@example.com", "password": PASSWORD})
        assert page.status_code == 302
        client.logout()
    # ...while failures from the page and the API add up to the account's limit.
    client.post("/login/", {"username": "customer@example.com", "password": "bad-guess-1"})
    wrong = {"email": "customer@example.com", "password": "bad-guess-2"}
    assert client.post(url, wrong, content_type="application/json").status_code == 401
    assert client.post(url, right, content_type="application/json").status_code == 429


def test_register_refresh_and_login_have_separate_budgets(client, settings, make_user):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "register": "1/h", "refresh": "1/h"}
    make_user("customer@example.com")
    register = {"email": "new@example.com", "password": PASSWORD}
    post = lambda url, body: client.post(url, body, content_type="application/json")  # noqa: E731
    assert post("/api/v1/auth/register", register).status_code == 201
    assert post("/api/v1/auth/register", register).status_code == 429
    assert post("/api/v1/auth/refresh", {"refresh": "nope"}).status_code == 401
    assert post("/api/v1/auth/refresh", {"refresh": "nope"}).status_code == 429
    login = post("/api/v1/auth/login", {"email": "customer@example.com", "password": PASSWORD})
    assert login.status_code == 200


def test_a_forged_forwarded_for_header_does_not_reset_the_limit(client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "2/h"}
    body = {"email": "nobody@example.com", "password": "whatever-it-is"}
    statuses = [
        client.post(
            "/api/v1/auth/login",
            body,
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_addresses_of_one_ipv6_network_share_one_budget(client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "2/h"}
    body = {"email": "nobody@example.com", "password": "whatever-it-is"}

    def login(address: str) -> int:
        url = "/api/v1/auth/login"
        return client.post(url, body, content_type="application/json", REMOTE_ADDR=address)

    statuses = [login(f"2001:db8:1:2:{n}::1").status_code for n in range(3)]
    assert statuses == [401, 401, 429]
    assert login("2001:db8:1:3::1").status_code == 401  # the next /64 is someone else


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "seen"),
    [
        ("::ffff:203.0.113.5", None, 0, "203.0.113.5"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", None, 0, "2001:db8:1:2::"),
        ("10.0.0.9", "198.51.100.1", 1, "198.51.100.1"),
        ("10.0.0.9", "6.6.6.6, 198.51.100.1:5123", 1, "198.51.100.1"),
        ("10.0.0.9", "[2001:db8::5]:443", 1, "2001:db8::"),
        ("10.0.0.9", "not-an-address", 1, "10.0.0.9"),
        ("10.0.0.9", "198.51.100.1", 0, "10.0.0.9"),
        ("", None, 0, "unknown"),
    ],
)
def test_the_client_address_limits_count(settings, remote, forwarded, proxies, seen):
    from shelfwatch.accounts.throttling import client_ip_of

    settings.NINJA_NUM_PROXIES = proxies
    assert client_ip_of(remote_addr=remote, forwarded_for=forwarded) == seen


def test_authenticated_callers_are_limited_per_user(callers, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "user": "2/h"}
    customer, staff = callers["customer"], callers["staff_a"]
    assert [customer.get("/api/v1/auth/me").status_code for _ in range(3)] == [200, 200, 429]
    # Same IP, different user: a separate budget.
    assert staff.get("/api/v1/auth/me").status_code == 200


def test_api_keys_have_their_own_budget(callers, client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "user": "2/h"}
    raw = callers["customer"].post("/api/v1/api-keys/", {"name": "k"}).json()["key"]
    statuses = [
        client.get("/api/v1/auth/me", headers={"X-API-Key": raw}).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_anonymous_callers_are_limited_per_ip(client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "anon": "2/h", "login": "100/h"}
    body = {"email": "nobody@example.com", "password": "whatever-it-is"}
    statuses = [
        client.post("/api/v1/auth/login", body, content_type="application/json").status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


def window_key(scope: str, ident: str, period: int) -> str:
    import time

    return f"throttle:{scope}:{ident}:{int(time.time() // period)}"


def test_large_limits_are_counted_locally_and_shared_in_batches():
    from django.core.cache import cache

    from shelfwatch.accounts.throttling import hit

    # 1000/h: each process may count 20 requests before adding them to the shared total.
    results = [hit("batch", "user:1", "1000/h") for _ in range(45)]
    assert results == [None] * 45
    assert cache.get(window_key("batch", "user:1", 3600)) == 40


def test_a_batched_limit_holds_when_other_processes_used_it_up():
    from django.core.cache import cache

    from shelfwatch.accounts.throttling import hit, shared_add

    assert hit("batch", "user:2", "1000/h") is None
    # Other processes have spent the whole budget meanwhile.
    shared_add(window_key("batch", "user:2", 3600), 1000, timeout=3601)
    allowed = [hit("batch", "user:2", "1000/h") is None for _ in range(40)]
    # This process learns it at its next sync, so it overshoots by less than one batch.
    assert allowed[:19] == [True] * 19
    assert not any(allowed[19:])
    assert cache.get(window_key("batch", "user:2", 3600)) >= 1000
