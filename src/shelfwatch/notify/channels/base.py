"""What every delivery channel takes and returns.

A channel sends one rendered message to one contact and says how it went, classifying its
provider's answer: accepted (with the provider's message id), transient (worth retrying,
perhaps after `retry_after` seconds) or permanent (retrying cannot help; `code` says why).
Channels never touch the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from shelfwatch.notify.messages import Message
from shelfwatch.notify.models import AttemptOutcome, Contact


@dataclass(frozen=True)
class SendResult:
    outcome: str  # an AttemptOutcome
    provider_message_id: str = ""
    code: str = ""  # the provider's own code (HTTP status, Graph error code, ...)
    detail: str = ""
    retry_after: float | None = None
    # Channel-specific follow-ups the delivery loop applies, e.g. {"window_closed": True}.
    effects: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        """True when the provider accepted the message."""
        return self.outcome == AttemptOutcome.ACCEPTED


def accepted(message_id: str, **extra: Any) -> SendResult:
    """An accepted result carrying the provider's message id."""
    return SendResult(AttemptOutcome.ACCEPTED, provider_message_id=message_id, **extra)


def transient(
    code: str, detail: str, *, retry_after: float | None = None, **extra: Any
) -> SendResult:
    """A failure worth retrying, perhaps after `retry_after` seconds; `detail` is cut to 2000
    characters."""
    return SendResult(
        AttemptOutcome.TRANSIENT, code=code, detail=detail[:2000], retry_after=retry_after, **extra
    )


def permanent(code: str, detail: str, **extra: Any) -> SendResult:
    """A failure retrying cannot fix; `detail` is cut to 2000 characters."""
    return SendResult(AttemptOutcome.PERMANENT, code=code, detail=detail[:2000], **extra)


class Channel(Protocol):
    name: str

    def account_key(self) -> str:
        """Whose provider limit this send counts against (e.g. one WhatsApp number)."""
        ...

    def rate_per_second(self) -> float | None:
        """The provider account's limit; None for no shared limit."""
        ...

    def send(self, *, contact: Contact, message: Message) -> SendResult:
        """Send `message` to `contact` and classify the answer; failures are returned, not
        raised."""
        ...
