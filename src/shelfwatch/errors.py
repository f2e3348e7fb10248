"""Domain errors: what a service function raises when a rule refuses what was asked.

They know nothing of HTTP. `code` is the stable identifier clients branch on, `detail` is
for people, `extra` adds machine-readable facts, `retry_after` says (in seconds) when asking
again may succeed. The HTTP layer turns each family below into a status through one table
(`shelfwatch.http.problems.STATUS_FOR`).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """The base of every domain error; raise one of the families below."""

    code = "refused"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}
        self.retry_after = retry_after


class Malformed(DomainError):
    """The request cannot be read as asked (a bad cursor, topic or option)."""

    code = "bad_request"


class NotSignedIn(DomainError):
    """Only a signed-in person may do this."""

    code = "not_authenticated"


class PaymentRefused(DomainError):
    """The payment provider declined."""

    code = "payment_failed"


class NotAllowed(DomainError):
    """The caller is known but may not do this."""

    code = "forbidden"


class NotFound(DomainError):
    """The thing does not exist, or is not the caller's to see."""

    code = "not_found"


class Conflict(DomainError):
    """The current state does not allow it (sold out, already done, taken)."""

    code = "conflict"


class Expired(DomainError):
    """It existed but has run out (a code, a link)."""

    code = "expired"


class Invalid(DomainError):
    """The input is well formed but breaks a rule of the domain."""

    code = "invalid"


class TooMany(DomainError):
    """Asked too often; `retry_after` says when to try again."""

    code = "rate_limited"


class TooLarge(DomainError):
    """The input is larger than this installation accepts (a file, a batch)."""

    code = "too_large"
