"""Apprise: the services an Apprise URL names (ntfy, Discord, Slack, Telegram, JSON posts...).

Three walls stand between a contact's URL and the network. Only the schemes in
`NOTIFY_APPRISE_SCHEMES` are taken (no syslog or other local targets; mailto only when an
operator adds it, and its `smtp=` override only with `NOTIFY_APPRISE_SMTP_OVERRIDES`). A
server the URL names itself (json://host, ntfy://host, mailto's SMTP host) must be public
when the contact is saved; tokens of hosted services (Discord, Slack, Pushover, Telegram)
are never looked up as host names. And while Apprise sends, every lookup and connection it
makes, redirects included, is checked by `socket_guard` against the address actually
contacted. A send counts only when Apprise reports success; a refused address is permanent.
"""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Any
from urllib.parse import parse_qs, urlsplit

import apprise
from apprise.manager_plugins import NotificationManager
from django.conf import settings

from shelfwatch.http.hostnames import host_name_problem
from shelfwatch.http.outbound import (
    AddressNotAllowed,
    ConnectFailed,
    FetchError,
    address_refusal,
    allowed_networks,
    resolve_checked,
)
from shelfwatch.notify.channels.base import SendResult, accepted, permanent, transient
from shelfwatch.notify.channels.email import header_text
from shelfwatch.notify.channels.socket_guard import guarded_sockets
from shelfwatch.notify.messages import Message
from shelfwatch.notify.models import Contact

name = "apprise"
MAIL_SCHEMES = frozenset({"mailto", "mailtos"})
# Query keys by which a mailto URL names the server Apprise connects to.
SMTP_OVERRIDE_KEYS = frozenset({"smtp", "port"})


class InvalidTarget(FetchError):
    code = "invalid_apprise_url"
    transient = False


class SchemeNotAllowed(FetchError):
    code = "apprise_scheme_not_allowed"
    transient = False


class SmtpOverrideNotAllowed(FetchError):
    code = "apprise_smtp_override_not_allowed"
    transient = False


def account_key() -> str:
    """The key Apprise sends are paced and paused under, one shared by every URL."""
    return "apprise"


def rate_per_second() -> float | None:
    """None: Apprise sends share no provider limit."""
    return None


def allowed_schemes() -> frozenset[str]:
    """The Apprise URL schemes NOTIFY_APPRISE_SCHEMES allows, lowercased."""
    return frozenset(scheme.strip().lower() for scheme in settings.NOTIFY_APPRISE_SCHEMES)


def _named_servers(plugin: Any) -> list[tuple[str, int]]:
    """The servers the URL itself names, as (host, port); none for hosted services, whose
    URL fields are tokens (Apprise's own template says which field is a host name)."""
    servers: list[tuple[str, int]] = []
    port = int(getattr(plugin, "port", None) or 443)
    if "host" in getattr(plugin, "template_tokens", {}) and getattr(plugin, "host", None):
        servers.append((str(plugin.host), port))
    smtp_host = getattr(plugin, "smtp_host", None)
    if smtp_host and (str(smtp_host), port) not in servers:
        servers.append((str(smtp_host), port))
    return servers


def _check_server(host: str, port: int, *, resolve: bool) -> None:
    problem = host_name_problem(host)
    if problem:
        raise InvalidTarget(problem)
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None:
        reason = address_refusal(ip, allowed_networks())
        if reason:
            raise AddressNotAllowed(f"{ip} is a {reason} address")
        return
    if resolve:
        # Not resolvable today is no refusal: every send checks the address it connects to.
        with contextlib.suppress(ConnectFailed):
            resolve_checked(host, port)


def check_target(url: str, *, resolve: bool = True) -> Any:
    """The Apprise plugin for `url`, or FetchError with a stable code: scheme not allowed,
    SMTP override not allowed, not an Apprise URL, or a named server that is not public.
    With `resolve`, named servers' host names are looked up (never a service's tokens)."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in NotificationManager():
        raise InvalidTarget("not an Apprise URL that any installed service understands", url=url)
    if scheme not in allowed_schemes():
        raise SchemeNotAllowed(f"Apprise {scheme}:// targets are not allowed here", url=url)
    if scheme in MAIL_SCHEMES and not settings.NOTIFY_APPRISE_SMTP_OVERRIDES:
        query = {key.lower() for key in parse_qs(urlsplit(url).query, keep_blank_values=True)}
        if query & SMTP_OVERRIDE_KEYS:
            raise SmtpOverrideNotAllowed("mailto URLs may not name their SMTP server", url=url)
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise InvalidTarget("not an Apprise URL that any installed service understands", url=url)
    for host, port in _named_servers(plugin):
        _check_server(host, port, resolve=resolve)
    return plugin


def send(*, contact: Contact, message: Message) -> SendResult:
    """Send the message to the contact's Apprise URL with every connection checked; a refused
    address or URL is a permanent failure, any other failure transient."""
    try:
        # No lookup here: the guard below checks the address each connection really uses.
        check_target(contact.address, resolve=False)
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
    with guarded_sockets() as guard:
        sent = sender.notify(title=header_text(message.subject), body=body)
    if sent:
        return accepted(f"apprise-{contact.pk}")
    if guard.refusals:
        return permanent(AddressNotAllowed.code, "; ".join(guard.refusals))
    return transient("apprise_failed", "Apprise reported the send as failed")
