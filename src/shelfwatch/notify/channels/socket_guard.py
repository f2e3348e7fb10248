"""Checking every connection a third-party library opens, for code we do not write ourselves.

Apprise's plugins open their own connections (`requests` for HTTP, `smtplib` for mail), so
the guarded HTTP client cannot carry them. Inside `guarded_sockets()` every name lookup and
every socket connect made by this context (and by threads started with a copy of it, as
Apprise's executors are) is checked with the guarded client's rule: the lookup is refused
when any address it yields is not public, and a connect is refused unless its literal
address is public. Because the address checked is the address connected to, a DNS answer
that changes after the check (rebinding) cannot slip through, and each redirect hop, being a
new connection, is checked on its own. Unix sockets and datagrams to refused addresses are
refused too. Outside the context nothing changes.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from shelfwatch.http.outbound import address_refusal, allowed_networks, resolve_checked


class ConnectionRefusedByGuard(OSError):
    """A lookup or connect the guard refused; libraries treat it as a network failure."""


@dataclass
class GuardRecord:
    """What the guard refused during one guarded block (shared by the threads it spans)."""

    refusals: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def refuse(self, reason: str) -> ConnectionRefusedByGuard:
        """Record `reason` and return the exception to raise for it."""
        with self._lock:
            self.refusals.append(reason)
        return ConnectionRefusedByGuard(reason)


_ACTIVE: contextvars.ContextVar[GuardRecord | None] = contextvars.ContextVar(
    "shelfwatch_socket_guard", default=None
)
_install_lock = threading.Lock()
_installed = False
_original_getaddrinfo = socket.getaddrinfo
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_sendto = socket.socket.sendto


def _refusal(host: str) -> str | None:
    ip = ipaddress.ip_address(host.split("%", 1)[0])
    reason = address_refusal(ip, allowed_networks())
    return f"{ip} is a {reason} address" if reason else None


def _checked_address(record: GuardRecord, sock: socket.socket, address: Any) -> Any:
    """`address` when it may be contacted, a checked literal for a name, else a refusal."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        raise record.refuse(f"{socket.AddressFamily(sock.family).name} sockets are refused")
    host, port = str(address[0]), int(address[1])
    try:
        reason = _refusal(host)
    except ValueError:
        # A name handed straight to connect() would be resolved in C, out of our sight:
        # resolve it here instead and connect to an address that passed the check.
        try:
            return (resolve_checked(host, port)[0], port, *address[2:])
        except Exception as exc:
            raise record.refuse(str(exc)) from None
    if reason:
        raise record.refuse(reason)
    return address


def _getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list:
    record = _ACTIVE.get()
    infos = _original_getaddrinfo(host, port, *args, **kwargs)
    if record is None:
        return infos
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        reason = _refusal(str(sockaddr[0]))
        if reason:
            # The whole answer is refused: which address a connect would get is unknown.
            raise record.refuse(f"{host} resolves to {reason}")
    return infos


def _connect(self: socket.socket, address: Any) -> None:
    record = _ACTIVE.get()
    if record is not None:
        address = _checked_address(record, self, address)
    return _original_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    record = _ACTIVE.get()
    if record is not None:
        address = _checked_address(record, self, address)
    return _original_connect_ex(self, address)


def _sendto(self: socket.socket, data: Any, *args: Any) -> int:
    record = _ACTIVE.get()
    if record is not None and args:
        # sendto(data, address) or sendto(data, flags, address): the address comes last.
        args = (*args[:-1], _checked_address(record, self, args[-1]))
    return _original_sendto(self, data, *args)


def install() -> None:
    """Put the checking hooks in place (once per process); inert outside a guarded block."""
    global _installed
    with _install_lock:
        if _installed:
            return
        socket.getaddrinfo = _getaddrinfo
        socket.socket.connect = _connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = _sendto  # type: ignore[method-assign]
        _installed = True


@contextlib.contextmanager
def guarded_sockets() -> Iterator[GuardRecord]:
    """Check every lookup and connect made inside the block; yields what was refused."""
    install()
    record = GuardRecord()
    token = _ACTIVE.set(record)
    try:
        yield record
    finally:
        _ACTIVE.reset(token)
