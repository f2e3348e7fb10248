"""Creating accounts and checking credentials."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from shelfwatch.accounts.models import User
from shelfwatch.errors import Conflict, Invalid, NotSignedIn


def register_user(*, email: str, password: str) -> User:
    """Create a customer account; the password must pass Django's validators."""
    email = email.strip().lower()
    candidate = User(email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise Invalid(
            "The password is not acceptable.",
            code="weak_password",
            extra={
                "errors": [
                    {"field": "password", "location": "body", "message": m, "type": "password"}
                    for m in exc.messages
                ]
            },
        ) from None
    if User.objects.filter(email=email).exists():
        raise Conflict("An account with this email already exists.", code="email_taken")
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password)
    except IntegrityError:
        raise Conflict("An account with this email already exists.", code="email_taken") from None


def check_credentials(*, email: str, password: str) -> User:
    """The user with this email (case-insensitive) and password; a wrong pair or an inactive user
    raises NotSignedIn."""
    user = authenticate(email=email.strip().lower(), password=password)
    if user is None:
        raise NotSignedIn("Email or password is wrong.", code="invalid_login")
    return user
