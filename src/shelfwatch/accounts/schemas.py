from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from ninja import Schema
from pydantic import Field, field_validator

from shelfwatch.accounts.models import ApiKey
from shelfwatch.http.bounds import BoundedSchema, column
from shelfwatch.http.hostnames import host_name_problem


class CredentialsIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=512)

    @field_validator("email")
    @classmethod
    def email_is_valid(cls, value: str) -> str:
        value = value.strip().lower()
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValueError("enter a valid email address") from None
        if host_name_problem(value.rpartition("@")[2]):
            raise ValueError("enter a valid email address")
        return value


class RefreshIn(Schema):
    refresh: str = Field(min_length=1, max_length=512)


class TokenPairOut(Schema):
    access: str
    refresh: str
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    access_expires_at: datetime
    refresh_expires_at: datetime


class MembershipOut(Schema):
    store_id: int
    store_name: str
    role: str


class MeOut(Schema):
    id: int
    email: str
    name: str
    role: str
    is_admin: bool
    auth_method: str
    memberships: list[MembershipOut]


class UserOut(Schema):
    id: int
    email: str


class ApiKeyIn(BoundedSchema):
    name: column(ApiKey, "name", min_length=1)
    scopes: list[str] = Field(default_factory=lambda: ["read"], max_length=20)
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def expires_in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= timezone.now():
            raise ValueError("must be in the future")
        return value


class ApiKeyUpdate(BoundedSchema):
    name: column(ApiKey, "name", min_length=1) | None = None


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The full key; shown only in this response.")
