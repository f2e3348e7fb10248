"""Register, login, refresh rotation, logout and /me through the API."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from shelfwatch.accounts.models import RefreshToken, User
from shelfwatch.accounts.schemas import MeOut
from tests.conftest import PASSWORD, Caller

pytestmark = pytest.mark.django_db


@pytest.fixture
def anon(client):
    return Caller(client)


def login(anon, email="customer@example.com", password=PASSWORD):
    return anon.post("/api/v1/auth/login", {"email": email, "password": password})


def test_register_then_login_then_me(anon):
    response = anon.post(
        "/api/v1/auth/register", {"email": "New@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 201
    assert response.json()["email"] == "new@example.com"
    user = User.objects.get(email="new@example.com")
    assert user.password.startswith("argon2$")

    tokens = login(anon, "new@example.com").json()
    me = anon.get("/api/v1/auth/me", Authorization=f"Bearer {tokens['access']}")
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == "new@example.com"
    assert body["role"] == "customer"
    assert body["auth_method"] == "jwt"


def test_me_matches_its_documented_schema_for_every_role(callers, store_a):
    for name in ("customer", "staff_a", "admin"):
        response = callers[name].get("/api/v1/auth/me")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        body = MeOut.model_validate(response.json()).model_dump()
        assert body == response.json()
    staff = callers["staff_a"].get("/api/v1/auth/me").json()
    assert staff["role"] == "staff"
    assert staff["memberships"] == [
        {"store_id": store_a.pk, "store_name": store_a.name, "role": "staff"}
    ]
    assert callers["admin"].get("/api/v1/auth/me").json()["role"] == "admin"


def test_register_rejects_weak_password_and_changes_nothing(anon):
    response = anon.post("/api/v1/auth/register", {"email": "x@example.com", "password": "123"})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "weak_password"
    assert body["errors"][0]["field"] == "password"
    assert not User.objects.filter(email="x@example.com").exists()


def test_register_rejects_duplicate_and_bad_email(anon, make_user):
    make_user("taken@example.com")
    duplicate = anon.post(
        "/api/v1/auth/register", {"email": "TAKEN@example.com", "password": PASSWORD}
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "email_taken"

    for address in ("not-an-email", "asha@xn--ls8h.la"):
        bad = anon.post("/api/v1/auth/register", {"email": address, "password": PASSWORD})
        assert bad.status_code == 422
        assert bad.json()["code"] == "validation_error"
        assert bad.json()["errors"][0]["field"] == "email"


def test_login_wrong_password_is_401(anon, make_user):
    make_user("customer@example.com")
    response = login(anon, password="wrong-password-here")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_login"
    assert "access" not in response.json()


def test_inactive_user_cannot_log_in_or_use_tokens(anon, make_user):
    user = make_user("customer@example.com")
    tokens = login(anon).json()
    user.is_active = False
    user.save()
    assert login(anon).status_code == 401
    me = anon.get("/api/v1/auth/me", Authorization=f"Bearer {tokens['access']}")
    assert me.status_code == 401


def test_refresh_rotates_and_reuse_revokes_the_family(anon, make_user):
    make_user("customer@example.com")
    first = login(anon).json()

    second = anon.post("/api/v1/auth/refresh", {"refresh": first["refresh"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh"] != first["refresh"]
    assert (
        anon.get("/api/v1/auth/me", Authorization=f"Bearer {second['access']}").status_code == 200
    )

    # The rotated token comes back: someone copied it. The whole family dies.
    reused = anon.post("/api/v1/auth/refresh", {"refresh": first["refresh"]})
    assert reused.status_code == 401
    assert reused.json()["code"] == "invalid_refresh_token"
    after = anon.post("/api/v1/auth/refresh", {"refresh": second["refresh"]})
    assert after.status_code == 401
    assert RefreshToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_other_login_families_survive_a_reuse(anon, make_user):
    make_user("customer@example.com")
    laptop = login(anon).json()
    phone = login(anon).json()
    anon.post("/api/v1/auth/refresh", {"refresh": laptop["refresh"]})
    anon.post("/api/v1/auth/refresh", {"refresh": laptop["refresh"]})
    assert anon.post("/api/v1/auth/refresh", {"refresh": phone["refresh"]}).status_code == 200


def test_expired_refresh_token_is_refused(anon, make_user):
    make_user("customer@example.com")
    tokens = login(anon).json()
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = anon.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]})
    assert response.status_code == 401


def test_logout_revokes_refresh_token(anon, make_user):
    make_user("customer@example.com")
    tokens = login(anon).json()
    bearer = {"Authorization": f"Bearer {tokens['access']}"}
    assert (
        anon.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, **bearer).status_code
        == 204
    )
    assert anon.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 401


def me(anon, access: str):
    return anon.get("/api/v1/auth/me", Authorization=f"Bearer {access}")


def assert_refused(response) -> None:
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_credentials"


def test_an_access_token_is_refused_after_logout_and_a_new_login_works(anon, make_user):
    make_user("customer@example.com")
    make_user("other@example.com")
    tokens = login(anon).json()
    bystander = login(anon, "other@example.com").json()
    assert me(anon, tokens["access"]).status_code == 200
    logout = anon.post(
        "/api/v1/auth/logout",
        {"refresh": tokens["refresh"]},
        Authorization=f"Bearer {tokens['access']}",
    )
    assert logout.status_code == 204
    assert_refused(me(anon, tokens["access"]))
    again = login(anon).json()  # within the same second as the logout, most likely
    assert me(anon, again["access"]).status_code == 200
    assert me(anon, bystander["access"]).status_code == 200


def test_another_device_gets_back_in_with_its_own_refresh_token_after_a_logout(anon, make_user):
    make_user("customer@example.com")
    laptop = login(anon).json()
    phone = login(anon).json()
    anon.post(
        "/api/v1/auth/logout",
        {"refresh": laptop["refresh"]},
        Authorization=f"Bearer {laptop['access']}",
    )
    assert_refused(me(anon, phone["access"]))
    renewed = anon.post("/api/v1/auth/refresh", {"refresh": phone["refresh"]}).json()
    assert me(anon, renewed["access"]).status_code == 200


def test_access_tokens_are_refused_after_a_password_change(anon, make_user):
    user = make_user("customer@example.com")
    tokens = login(anon).json()
    user.set_password("a-new-long-passphrase-77")
    user.save()
    assert_refused(me(anon, tokens["access"]))
    again = login(anon, password="a-new-long-passphrase-77").json()
    assert me(anon, again["access"]).status_code == 200


def test_a_token_from_the_same_second_as_a_signout_is_refused_and_one_after_it_is_not(
    anon, make_user
):
    from shelfwatch.accounts import tokens

    user = make_user("customer@example.com")
    second = timezone.now().replace(microsecond=0)
    before, _ = tokens.issue_access_token(user=user, now=second + timedelta(milliseconds=100))
    tokens.revoke_access_tokens(user=user, now=second + timedelta(milliseconds=400))
    after, _ = tokens.issue_access_token(user=user, now=second + timedelta(milliseconds=700))
    # Both carry the same whole-second `iat`.
    iat = {jwt.decode(t, options={"verify_signature": False})["iat"] for t in (before, after)}
    assert len(iat) == 1
    assert_refused(me(anon, before))
    assert me(anon, after).status_code == 200


def test_a_copy_of_the_user_saved_after_a_logout_does_not_revive_old_tokens(anon, make_user):
    make_user("customer@example.com")
    tokens = login(anon).json()
    stale = User.objects.get(email="customer@example.com")  # loaded before the logout
    anon.post(
        "/api/v1/auth/logout",
        {"refresh": tokens["refresh"]},
        Authorization=f"Bearer {tokens['access']}",
    )
    stale.name = "Renamed"
    stale.save()
    assert_refused(me(anon, tokens["access"]))
    assert User.objects.get(pk=stale.pk).name == "Renamed"


def test_logout_cannot_revoke_someone_elses_token(anon, make_user):
    make_user("customer@example.com")
    make_user("other@example.com")
    victim = login(anon).json()
    attacker = login(anon, "other@example.com").json()
    anon.post(
        "/api/v1/auth/logout",
        {"refresh": victim["refresh"]},
        Authorization=f"Bearer {attacker['access']}",
    )
    assert anon.post("/api/v1/auth/refresh", {"refresh": victim["refresh"]}).status_code == 200


def _claims(user, **overrides):
    now = int(time.time())
    claims = {
        "sub": str(user.pk),
        "iat": now,
        "exp": now + 60,
        "iss": "shelfwatch",
        "typ": "access",
    }
    claims.update(overrides)
    return claims


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(
            lambda user, key: jwt.encode(_claims(user, exp=int(time.time()) - 5), key, "HS256"),
            id="expired",
        ),
        pytest.param(
            lambda user, key: jwt.encode(_claims(user), "not-the-signing-key-" * 3, "HS256"),
            id="forged",
        ),
        pytest.param(
            lambda user, key: jwt.encode(_claims(user), None, algorithm="none"), id="alg-none"
        ),
        pytest.param(
            lambda user, key: jwt.encode(_claims(user, typ="refresh"), key, "HS256"),
            id="wrong-type",
        ),
        pytest.param(
            lambda user, key: jwt.encode(_claims(user, iss="someone-else"), key, "HS256"),
            id="wrong-issuer",
        ),
        pytest.param(lambda user, key: "garbage.not.jwt", id="garbage"),
    ],
)
def test_bad_access_tokens_are_401(anon, make_user, settings, make_token):
    user = make_user("customer@example.com")
    token = make_token(user, settings.JWT_SIGNING_KEY)
    response = anon.get("/api/v1/auth/me", Authorization=f"Bearer {token}")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_credentials"


def test_non_bearer_authorization_header_is_401(anon, make_user):
    response = anon.get("/api/v1/auth/me", Authorization="Basic dXNlcjpwYXNz")
    assert response.status_code == 401


def test_me_lists_store_memberships(callers, store_a):
    body = callers["staff_a"].get("/api/v1/auth/me").json()
    assert body["role"] == "staff"
    assert body["memberships"] == [
        {"store_id": store_a.pk, "store_name": "Corner Bakery", "role": "staff"}
    ]
    assert callers["admin"].get("/api/v1/auth/me").json()["role"] == "admin"


def test_a_verified_token_stops_working_when_it_expires(anon, make_user, settings):
    from shelfwatch.accounts import tokens

    user = make_user("customer@example.com")
    # Issued so that it expires a second from now.
    issued = timezone.now() - settings.JWT_ACCESS_TTL + timedelta(seconds=1)
    token, _ = tokens.issue_access_token(user=user, now=issued)
    assert tokens.decode_access_token(token) == user.pk
    assert tokens.decode_access_token(token) == user.pk  # remembered as verified
    time.sleep(1.1)
    with pytest.raises(tokens.TokenError):
        tokens.decode_access_token(token)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(tokens.TokenError):
        tokens.decode_access_token(tampered)


def test_changing_the_password_on_the_page_ends_every_api_login(client, anon, make_user):
    user = make_user("customer@example.com")
    laptop = login(anon).json()
    phone = login(anon).json()
    client.force_login(user)
    changed = client.post(
        "/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-77",
            "new_password2": "a-new-long-passphrase-77",
        },
    )
    assert changed.status_code == 302
    for tokens in (laptop, phone):
        refused = anon.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]})
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_refresh_token"
    again = login(anon, password="a-new-long-passphrase-77").json()
    assert anon.post("/api/v1/auth/refresh", {"refresh": again["refresh"]}).status_code == 200


def test_a_password_reset_ends_every_api_login_of_that_user_only(anon, make_user):
    user = make_user("customer@example.com")
    make_user("other@example.com")
    victim = login(anon).json()
    bystander = login(anon, "other@example.com").json()
    user.set_password("a-new-long-passphrase-77")  # what the reset and the CLI do
    user.save()
    assert anon.post("/api/v1/auth/refresh", {"refresh": victim["refresh"]}).status_code == 401
    assert anon.post("/api/v1/auth/refresh", {"refresh": bystander["refresh"]}).status_code == 200
