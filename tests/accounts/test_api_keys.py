"""API keys: shown once, stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shelfwatch.accounts.models import ApiKey
from shelfwatch.accounts.secrets import digest

pytestmark = pytest.mark.django_db


def create(caller, **body):
    body.setdefault("name", "feed reader")
    return caller.post("/api/v1/api-keys/", body)


def test_key_is_shown_once_and_stored_hashed(callers):
    customer = callers["customer"]
    response = create(customer, scopes=["read"])
    assert response.status_code == 201
    body = response.json()
    raw = body["key"]
    assert raw.startswith(f"sw_{body['prefix']}_")

    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.key_hash == digest(raw)
    assert raw not in str(ApiKey.objects.filter(pk=body["id"]).values().first())

    listed = customer.get("/api/v1/api-keys/").json()
    assert [k["prefix"] for k in listed] == [body["prefix"]]
    assert "key" not in listed[0]
    assert "key" not in customer.get(f"/api/v1/api-keys/{body['id']}").json()


def test_key_authenticates_and_records_last_use(callers, client):
    raw = create(callers["customer"], scopes=["read"]).json()["key"]
    response = client.get("/api/v1/auth/me", headers={"X-API-Key": raw})
    assert response.status_code == 200
    assert response.json()["auth_method"] == "api_key"
    assert ApiKey.objects.get().last_used_at is not None


def test_read_only_key_cannot_write(callers, client):
    raw = create(callers["customer"], scopes=["read"]).json()["key"]
    response = client.post(
        "/api/v1/api-keys/",
        data={"name": "escalate"},
        content_type="application/json",
        headers={"X-API-Key": raw},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert ApiKey.objects.count() == 1


def test_unknown_scope_is_refused(callers):
    response = create(callers["customer"], scopes=["read", "root"])
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_scope"
    assert ApiKey.objects.count() == 0


def test_revoked_key_is_401(callers, client):
    customer = callers["customer"]
    body = create(customer).json()
    assert customer.delete(f"/api/v1/api-keys/{body['id']}").status_code == 204
    response = client.get("/api/v1/auth/me", headers={"X-API-Key": body["key"]})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert customer.get(f"/api/v1/api-keys/{body['id']}").json()["revoked_at"] is not None


def test_expired_key_is_401(callers, client):
    body = create(callers["customer"]).json()
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": body["key"]}).status_code == 401


def test_forged_key_is_401(callers, client):
    body = create(callers["customer"]).json()
    forged = body["key"][:-4] + "AAAA"
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": forged}).status_code == 401


def test_keys_are_private_to_their_owner(callers):
    body = create(callers["customer"]).json()
    other = callers["staff_a"]
    assert other.get("/api/v1/api-keys/").json() == []
    assert other.get(f"/api/v1/api-keys/{body['id']}").status_code == 404
    assert other.patch(f"/api/v1/api-keys/{body['id']}", {"name": "mine"}).status_code == 404
    assert other.delete(f"/api/v1/api-keys/{body['id']}").status_code == 404
    assert ApiKey.objects.get().revoked_at is None


def test_rename_key(callers):
    customer = callers["customer"]
    body = create(customer).json()
    renamed = customer.patch(f"/api/v1/api-keys/{body['id']}", {"name": "dashboard"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "dashboard"


def test_a_known_key_is_verified_from_the_process_cache(callers, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shelfwatch.accounts.api_keys import verify_api_key

    settings.AUTH_CACHE_SECONDS = 60
    raw = create(callers["customer"], scopes=["read"]).json()["key"]
    first = verify_api_key(raw)
    first.scopes.append("write")  # a caller's copy: changing it changes nothing shared
    with CaptureQueriesContext(connection) as queries:
        again = verify_api_key(raw)
    assert len(queries) == 0
    assert again.scopes == ["read"]


def test_revoking_or_rescoping_a_cached_key_takes_effect_at_once(callers, client, settings):
    settings.AUTH_CACHE_SECONDS = 60
    customer = callers["customer"]
    body = create(customer, scopes=["read", "write"]).json()
    headers = {"X-API-Key": body["key"]}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200

    key = ApiKey.objects.get(pk=body["id"])
    key.scopes = ["read"]
    key.save(update_fields=["scopes"])
    response = client.post(
        "/api/v1/api-keys/", data={"name": "x"}, content_type="application/json", headers=headers
    )
    assert response.json()["code"] == "insufficient_scope"

    assert customer.delete(f"/api/v1/api-keys/{body['id']}").status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_a_cached_key_stops_working_when_it_expires(callers, client, settings):
    import time

    settings.AUTH_CACHE_SECONDS = 60
    expires_at = timezone.now() + timedelta(seconds=1)
    body = create(callers["customer"], expires_at=expires_at.isoformat())
    assert body.status_code == 201, body.json()
    headers = {"X-API-Key": body.json()["key"]}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    time.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()) + 0.05)
    # Nothing was saved, so the key is still in the cache: its expiry is checked on each use.
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_keys_are_made_at_the_slash_less_path_and_the_slashed_one_without_a_redirect(callers):
    for path in ("/api/v1/api-keys", "/api/v1/api-keys/"):
        made = callers["customer"].post(path, {"name": "shelf scanner"})
        assert made.status_code == 201, made.json()
    assert len(callers["customer"].get("/api/v1/api-keys").json()) == 2


def test_a_key_that_would_expire_in_the_past_is_refused(callers):
    answer = callers["customer"].post(
        "/api/v1/api-keys", {"name": "late", "expires_at": "2001-01-01T00:00:00Z"}
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "expires_at"
    assert callers["customer"].get("/api/v1/api-keys").json() == []
