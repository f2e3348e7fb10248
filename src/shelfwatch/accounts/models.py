"""Users, store membership, refresh tokens and API keys.

Secrets (refresh tokens, API keys) are stored only as SHA-256 digests; the plain value is
shown to its owner once.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        """A new user, its email lowercased, neither staff nor superuser unless `fields` say so;
        raises ValueError without an email."""
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        """A new user with is_staff and is_superuser set, whatever `fields` say; raises ValueError
        without an email."""
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address.

    Platform admins are superusers; store staff hold StoreMembership rows; everyone else is
    a customer.
    """

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)
    tokens_revoked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Access tokens issued at or before this instant are refused (sign-out, "
        "a new password).",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        """Save; when the password was set (a change, a reset, the admin, the CLI), every
        refresh and access token of the user is revoked, so whoever held one (or the old
        password) must log in again: other page sessions end by Django's session hash already.

        Any other save of an existing user leaves `tokens_revoked_at` as the database holds
        it: a copy loaded before a sign-out elsewhere must not write the older value back.
        """
        password_set = self._password is not None and not self._state.adding
        update_fields = kwargs.get("update_fields")
        if password_set:
            self.tokens_revoked_at = timezone.now()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "tokens_revoked_at"}
        elif (
            update_fields is None
            and not self._state.adding
            and self.pk is not None
            and not args
            and not kwargs.get("force_insert")
        ):
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key
                and field.attname not in deferred
                and field.name != "tokens_revoked_at"
            ]
        super().save(*args, **kwargs)
        if password_set:
            RefreshToken.objects.filter(user=self, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )

    @property
    def is_platform_admin(self) -> bool:
        """True for an active superuser."""
        return self.is_active and self.is_superuser


class StoreMembership(models.Model):
    """A user's role in one store."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    store = models.ForeignKey(
        "inventory.Store", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "store"], name="membership_unique_user_store")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.store}"


class RefreshToken(models.Model):
    """One link in a rotating refresh-token family.

    Using a token marks it rotated and issues the next one in the same family; presenting a
    rotated token again means it leaked, so the whole family is revoked.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="refresh_tokens"
    )
    family = models.UUIDField(default=uuid.uuid4, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refresh token {self.pk} of {self.user_id}"


class ApiKey(models.Model):
    """A long-lived credential for machine clients, sent as `X-API-Key`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Visible part of the key.")
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        """True unless the key is revoked or expired at `now` (default: the current time)."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now
