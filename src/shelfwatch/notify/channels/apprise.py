"""Apprise: any of the 100+ services an Apprise URL names (Telegram, Discord, Slack, ntfy...).

A send counts only when Apprise reports success. The URL's host is checked like every
user-supplied address before Apprise connects to it.
"""

from __future__ import annotations

import apprise

from shelfwatch.alerts.models import Contact
from shelfwatch.notify.channels.base import SendResult, accepted, permanent, transient
from shelfwatch.notify.messages import Message
from shelfwatch.watch.guarded_client import FetchError, resolve_checked

name = "apprise"


def account_key() -> str:
    return "apprise"


def rate_per_second() -> float | None:
    return None


def check_target(url: str) -> None:
    """Refuse (FetchError) an Apprise URL whose host is not a public address."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise FetchError("not an Apprise URL", url=url)
    host = getattr(plugin, "host", None)
    if host and not str(host).startswith("/"):
        resolve_checked(str(host), int(getattr(plugin, "port", None) or 443))


def send(*, contact: Contact, message: Message) -> SendResult:
    try:
        check_target(contact.address)
    except FetchError as exc:
        return permanent(exc.code, str(exc))
    sender = apprise.Apprise()
    if not sender.add(contact.address):
        return permanent("invalid_url", "Apprise does not accept this URL")
    body = (
        message.text
        if not message.url or message.url in message.text
        else f"{message.text}\n{message.url}"
    )
    if sender.notify(title=message.subject, body=body):
        return accepted(f"apprise-{contact.pk}")
    return transient("apprise_failed", "Apprise reported the send as failed")
