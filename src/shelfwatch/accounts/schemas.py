from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import Field, field_validator


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


class ApiKeyIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=lambda: ["read"])
    expires_at: datetime | None = None


class ApiKeyUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=100)


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
