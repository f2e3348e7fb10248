"""`/api/v1/auth/...` and `/api/v1/api-keys`."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.errors import Throttled

from shelfwatch.accounts import api_keys, tokens
from shelfwatch.accounts.authentication import principal_of
from shelfwatch.accounts.models import ApiKey
from shelfwatch.accounts.registration import check_credentials, register_user
from shelfwatch.accounts.schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    ApiKeyUpdate,
    CredentialsIn,
    MeOut,
    RefreshIn,
    TokenPairOut,
    UserOut,
)
from shelfwatch.accounts.sign_in_devices import device_ident, remember_device
from shelfwatch.accounts.throttling import (
    auth_throttles,
    count_failed_sign_in,
    login_account_wait,
)
from shelfwatch.errors import NotSignedIn
from shelfwatch.http.problems import ApiError, NotFound, Unauthorized

auth_router = Router(tags=["auth"])
api_keys_router = Router(tags=["api-keys"])


def _pair_out(pair: tokens.TokenPair) -> dict:
    return {
        "access": pair.access,
        "refresh": pair.refresh,
        "access_expires_at": pair.access_expires_at,
        "refresh_expires_at": pair.refresh_expires_at,
    }


@auth_router.post(
    "/register", auth=None, throttle=auth_throttles("register"), response={201: UserOut}
)
def register(request: HttpRequest, payload: CredentialsIn):
    user = register_user(email=payload.email, password=payload.password)
    return Status(201, {"id": user.pk, "email": user.email})


@auth_router.post("/login", auth=None, throttle=auth_throttles("login"), response=TokenPairOut)
def login(request: HttpRequest, payload: CredentialsIn, response: HttpResponse):
    """Limited per IP (`login`) and, by failed tries, per account name (`login_account`),
    together with the sign-in pages; a client that signed in before keeps its own budget
    (the sign-in device cookie)."""
    device = device_ident(request, payload.email)
    wait = login_account_wait(payload.email, device)
    if wait is not None:
        raise Throttled(wait)
    try:
        user = check_credentials(email=payload.email, password=payload.password)
    except NotSignedIn:
        count_failed_sign_in(payload.email, device)
        raise
    remember_device(response, payload.email)
    return _pair_out(tokens.issue_token_pair(user=user))


@auth_router.post("/refresh", auth=None, throttle=auth_throttles("refresh"), response=TokenPairOut)
def refresh(request: HttpRequest, payload: RefreshIn):
    try:
        pair = tokens.rotate_refresh_token(raw_token=payload.refresh)
    except tokens.TokenError as exc:
        raise Unauthorized(str(exc), code="invalid_refresh_token") from None
    return _pair_out(pair)


@auth_router.post("/logout", response={204: None})
def logout(request: HttpRequest, payload: RefreshIn):
    """Revoke the refresh token's family and every access token issued to the caller so far
    (on other devices too: they get a new one from their own refresh token)."""
    principal = principal_of(request)
    tokens.revoke_refresh_token(raw_token=payload.refresh, user=principal.user)
    tokens.revoke_access_tokens(user=principal.user)
    return Status(204, None)


@auth_router.get("/me", response=MeOut)
def me(request: HttpRequest):
    # Every client calls this, often: the body is built from typed, already-checked data,
    # so it is serialised directly instead of validated again against MeOut (the schema
    # still documents it, and a test holds the two together).
    principal = principal_of(request)
    user = principal.user
    body = {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "role": principal.role,
        "is_admin": principal.is_admin,
        "auth_method": principal.method,
        "memberships": [
            {"store_id": m.store_id, "store_name": m.store_name, "role": m.role}
            for m in principal.memberships
        ],
    }
    return HttpResponse(json.dumps(body), content_type="application/json")


def _own_key(request: HttpRequest, key_id: int) -> ApiKey:
    key = ApiKey.objects.filter(pk=key_id, user=principal_of(request).user).first()
    if key is None:
        raise NotFound("API key not found", code="api_key_not_found")
    return key


# No API path ends in a slash; the slashed form is still answered (not redirected, which
# would silently drop a POST by a client that does not follow redirects).
@api_keys_router.get("", response=list[ApiKeyOut])
@api_keys_router.get("/", response=list[ApiKeyOut], include_in_schema=False)
def list_keys(request: HttpRequest):
    return ApiKey.objects.filter(user=principal_of(request).user)


@api_keys_router.post("", response={201: ApiKeyCreatedOut})
@api_keys_router.post("/", response={201: ApiKeyCreatedOut}, include_in_schema=False)
def create_key(request: HttpRequest, payload: ApiKeyIn):
    try:
        created = api_keys.create_api_key(
            user=principal_of(request).user,
            name=payload.name,
            scopes=payload.scopes,
            expires_at=payload.expires_at,
        )
    except ValueError as exc:
        raise ApiError(str(exc), code="unknown_scope", status=422) from None
    out = ApiKeyOut.from_orm(created.key).dict()
    return Status(201, {**out, "key": created.raw})


@api_keys_router.get("/{int:key_id}", response=ApiKeyOut)
def get_key(request: HttpRequest, key_id: int):
    return _own_key(request, key_id)


@api_keys_router.patch("/{int:key_id}", response=ApiKeyOut)
def update_key(request: HttpRequest, key_id: int, payload: ApiKeyUpdate):
    key = _own_key(request, key_id)
    if payload.name is not None:
        key.name = payload.name
        key.save(update_fields=["name"])
    return key


@api_keys_router.delete("/{int:key_id}", response={204: None})
def revoke_key(request: HttpRequest, key_id: int):
    api_keys.revoke_api_key(key=_own_key(request, key_id))
    return Status(204, None)
