"""Others' wrong guesses lock an account for strangers, never for a client that signed
in to it before (the sign-in device cookie)."""

from __future__ import annotations

import pytest
from django.test import Client

from shelfwatch.accounts.sign_in_devices import COOKIE_NAME
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.throttle_window(3600)]

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def two_per_hour(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login_account": "2/h"}


def _api(client: Client, email: str, password: str, ip: str = "10.0.0.1"):
    body = {"email": email, "password": password}
    return client.post(LOGIN, body, content_type="application/json", REMOTE_ADDR=ip)


def _lock_out(email: str) -> None:
    attacker = Client()
    for n in range(3):
        _api(attacker, email, f"bad-guess-{n}", ip=f"203.0.113.{n}")
    assert _api(attacker, email, PASSWORD, ip="203.0.113.9").status_code == 429


def test_an_owner_who_signed_in_before_signs_in_while_guessers_are_locked_out(
    two_per_hour, make_user
):
    make_user("owner@example.com")
    browser, phone = Client(), Client()
    assert (
        browser.post("/login/", {"username": "owner@example.com", "password": PASSWORD}).status_code
        == 302
    )
    assert _api(phone, "owner@example.com", PASSWORD).status_code == 200
    assert browser.post("/logout/").status_code == 302  # signing out keeps the device cookie

    _lock_out("owner@example.com")

    page = browser.post("/login/", {"username": "owner@example.com", "password": PASSWORD})
    assert page.status_code == 302
    assert _api(phone, "owner@example.com", PASSWORD).status_code == 200
    # A new client is still held back by the account's budget.
    assert _api(Client(), "owner@example.com", PASSWORD).status_code == 429


def test_a_known_device_is_held_back_by_its_own_failures(two_per_hour, make_user):
    make_user("owner@example.com")
    phone = Client()
    assert _api(phone, "owner@example.com", PASSWORD).status_code == 200
    assert _api(phone, "owner@example.com", "bad-guess-1").status_code == 401
    assert _api(phone, "owner@example.com", "bad-guess-2").status_code == 401
    assert _api(phone, "owner@example.com", PASSWORD).status_code == 429
    # Its failures did not spend the account's budget for others.
    assert _api(Client(), "owner@example.com", PASSWORD).status_code == 200


def test_a_device_cookie_does_not_carry_to_another_account(two_per_hour, make_user):
    make_user("owner@example.com")
    make_user("attacker@example.com")
    attacker = Client()
    assert _api(attacker, "attacker@example.com", PASSWORD).status_code == 200
    _lock_out("owner@example.com")
    assert _api(attacker, "owner@example.com", PASSWORD).status_code == 429


def test_a_forged_device_cookie_counts_for_nothing(two_per_hour, make_user):
    make_user("owner@example.com")
    _lock_out("owner@example.com")
    forger = Client()
    forger.cookies[COOKIE_NAME] = "account:" + "0" * 32 + "|made-up:1abc:forged"
    assert _api(forger, "owner@example.com", PASSWORD).status_code == 429


def test_a_signed_in_users_post_naming_another_account_earns_no_device_cookie(
    two_per_hour, make_user
):
    make_user("owner@example.com")
    make_user("attacker@example.com")
    attacker = Client()
    attacker.post("/login/", {"username": "attacker@example.com", "password": PASSWORD})
    del attacker.cookies[COOKIE_NAME]
    # Signed in already, the sign-in page redirects whatever the form says...
    posted = attacker.post("/login/", {"username": "owner@example.com", "password": "guess"})
    assert posted.status_code == 302
    assert COOKIE_NAME not in posted.cookies
    # ...so it cannot mint the owner's device cookie to escape the owner's lock.
    _lock_out("owner@example.com")
    attacker.post("/logout/")
    assert _api(attacker, "owner@example.com", PASSWORD).status_code == 429
