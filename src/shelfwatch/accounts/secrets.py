"""Generating and digesting opaque secrets (refresh tokens, API keys)."""

from __future__ import annotations

import hashlib
import secrets


def new_secret(nbytes: int = 32) -> str:
    """A random URL-safe string made from `nbytes` random bytes."""
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    """SHA-256 hex digest; the secrets are high-entropy, so no salt or slow hash is needed."""
    return hashlib.sha256(value.encode()).hexdigest()
