"""An HTTP receiver for Shelfwatch's outgoing webhooks (and Apprise ``json://`` posts).

Shelfwatch signs each webhook POST with::

    X-Shelfwatch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}." + raw body)>
    X-Shelfwatch-Event: <event type, e.g. product.back_in_stock>
    X-Shelfwatch-Delivery: <delivery id, the same on every retry of one delivery>

(``v1=`` may appear more than once, one per active secret while secrets rotate.) The receiver
records every request as a `Delivery` with ``signature_valid`` — the timestamp within
``tolerance`` (300 s) of now, and some ``v1`` equal, compared in constant time, to the HMAC
under one of its secrets — and ``signature_error`` (``missing``, ``malformed``, ``stale``,
``future``, ``mismatch``) when not. By default it answers ``200 {"ok": true}`` whatever the
signature; ``reject_invalid=True`` answers 401 to a bad one, as a real receiver would.

Programmable answers (inherited from `JsonService`): ``fail_next(n, 500)``, ``gone()`` (410
from now on, optionally for one path), ``rate_limit_next(n, retry_after)`` (429 with
Retry-After), ``slow_next(n, seconds)``, ``drop_next(n)``, ``respond_with(status, n)``. Every
attempt is recorded, including those a fault answered, with the status it got.

Apprise's ``json://127.0.0.1:PORT/path`` posts (apprise 2.3: ``POST`` with ``User-Agent:
Apprise``, ``Content-Type: application/json`` and the body ``{"version": "1.0", "title",
"message", "attachments": [], "type": "info"|"success"|"warning"|"failure"}``) are recorded
with ``kind == "apprise"``; `apprise_messages()` returns their bodies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes.json_service import Call, JsonService, Reply

SIGNATURE_HEADER = "X-Shelfwatch-Signature"
EVENT_HEADER = "X-Shelfwatch-Event"
DELIVERY_HEADER = "X-Shelfwatch-Delivery"
DEFAULT_SECRET = "whsec-fake-shelfwatch-secret"
TOLERANCE = 300
APPRISE_KEYS = frozenset({"version", "title", "message", "type"})


def shelfwatch_signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Shelfwatch-Signature`` value for `body` signed at `timestamp` (now)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def check_signature(
    header: str | None,
    body: bytes,
    secrets: str | Sequence[str],
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE,
) -> tuple[bool, str | None, int | None]:
    """(valid, error, timestamp) for a ``X-Shelfwatch-Signature`` header over `body`."""
    if not header:
        return False, "missing", None
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False, "malformed", None
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False, "malformed", None
        elif key == "v1":
            macs.append(value.strip().lower())
    if timestamp is None or not macs:
        return False, "malformed", timestamp
    now = time.time() if now is None else now
    if timestamp < now - tolerance:
        return False, "stale", timestamp
    if timestamp > now + tolerance:
        return False, "future", timestamp
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    signed = f"{timestamp}.".encode() + body
    matched = False
    for key in keys:
        expected = hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
        for mac in macs:  # no early exit: every comparison is constant-time and all run
            matched |= hmac.compare_digest(expected, mac)
    return (True, None, timestamp) if matched else (False, "mismatch", timestamp)


@dataclass
class Delivery:
    """One request the receiver got (any method, any path)."""

    call: Call
    kind: str  # "shelfwatch" (has our signature or event header), "apprise", or "other"
    event: str | None
    delivery_id: str | None
    timestamp: int | None
    signature_valid: bool
    signature_error: str | None
    json: Any  # the parsed body, or None when it is not JSON

    @property
    def path(self) -> str:
        return self.call.path

    @property
    def method(self) -> str:
        return self.call.method

    @property
    def body(self) -> bytes:
        return self.call.body

    @property
    def headers(self) -> dict[str, str]:
        return self.call.headers

    @property
    def received_at(self) -> float:
        return self.call.time

    @property
    def status(self) -> int | None:
        """What the receiver answered (None while answering or when the connection dropped)."""
        return self.call.status

    def header(self, name: str) -> str | None:
        return self.call.header(name)


class WebhookReceiver(JsonService):
    """Records and verifies deliveries; see the module docstring."""

    kind = "webhook-receiver"
    server_header = "receiver"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        secret: str | Sequence[str] = DEFAULT_SECRET,
        tolerance: float = TOLERANCE,
        reject_invalid: bool = False,
    ) -> None:
        super().__init__(host, port)
        self.secret = secret
        self.tolerance = tolerance
        self.reject_invalid = reject_invalid
        self._lock = threading.Condition()
        self._deliveries: list[Delivery] = []

    # -- answers --------------------------------------------------------------------------------
    def gone(self, path: str | None = None) -> None:
        """Answer 410 Gone from now on (to `path` only, if given) until `clear_faults`."""
        self.fail_next(None, 410, path=path)

    def respond_with(
        self, status: int, n: int | None = 1, *, path: str | None = None, body: bytes = b""
    ) -> None:
        """Answer the next `n` requests with `status` and `body`."""
        self.fail_next(n, status, path=path, body=body)

    def error_reply(self, status: int, call: Call) -> Reply:
        return Reply.json({"error": status}, status)

    def on_request(self, call: Call) -> None:
        try:
            doc = call.json() if call.body else None
        except ValueError:
            doc = None
        signature = call.header(SIGNATURE_HEADER)
        event = call.header(EVENT_HEADER)
        valid, error, timestamp = check_signature(
            signature, call.body, self.secret, tolerance=self.tolerance
        )
        if signature is not None or event is not None:
            kind = "shelfwatch"
        elif (call.header("user-agent") or "").startswith("Apprise") or (
            isinstance(doc, dict) and doc.keys() >= APPRISE_KEYS
        ):
            kind = "apprise"
        else:
            kind = "other"
        delivery = Delivery(
            call=call,
            kind=kind,
            event=event,
            delivery_id=call.header(DELIVERY_HEADER),
            timestamp=timestamp,
            signature_valid=valid,
            signature_error=error,
            json=doc,
        )
        with self._lock:
            self._deliveries.append(delivery)
            self._lock.notify_all()

    def handle(self, call: Call) -> Reply:
        delivery = self._delivery_for(call)
        if self.reject_invalid and delivery is not None and not delivery.signature_valid:
            return Reply.json({"error": f"invalid signature: {delivery.signature_error}"}, 401)
        return Reply.json({"ok": True})

    def _delivery_for(self, call: Call) -> Delivery | None:
        with self._lock:
            for delivery in reversed(self._deliveries):
                if delivery.call is call:
                    return delivery
        return None

    # -- what arrived ---------------------------------------------------------------------------
    def deliveries(
        self,
        *,
        path: str | None = None,
        event: str | None = None,
        kind: str | None = None,
        valid: bool | None = None,
    ) -> list[Delivery]:
        """Recorded requests in arrival order, filtered by path prefix, event, kind, validity."""
        with self._lock:
            items = list(self._deliveries)
        return [
            d
            for d in items
            if (path is None or d.path.startswith(path))
            and (event is None or d.event == event)
            and (kind is None or d.kind == kind)
            and (valid is None or d.signature_valid == valid)
        ]

    @property
    def last(self) -> Delivery | None:
        with self._lock:
            return self._deliveries[-1] if self._deliveries else None

    def attempts(self, delivery_id: str) -> list[Delivery]:
        """Every request carrying this ``X-Shelfwatch-Delivery`` id (retries of one delivery)."""
        return [d for d in self.deliveries() if d.delivery_id == delivery_id]

    def apprise_messages(self) -> list[dict[str, Any]]:
        """The JSON bodies Apprise's ``json://`` plugin posted."""
        return [d.json for d in self.deliveries(kind="apprise") if isinstance(d.json, dict)]

    def wait_for(self, n: int, timeout: float = 5.0, *, kind: str | None = None) -> list[Delivery]:
        """Block until `n` requests (of `kind`) were answered or dropped; returns them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                done = [
                    d
                    for d in self._deliveries
                    if (kind is None or d.kind == kind)
                    and (d.call.status is not None or d.call.fault == "drop")
                ]
                if len(done) >= n:
                    return done
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(done)} of {n} deliveries arrived in {timeout}s")
                self._lock.wait(min(left, 0.05))

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()
        self.clear_calls()
        self.clear_faults()


def sign_body(
    doc: Any, secret: str = DEFAULT_SECRET, timestamp: int | None = None
) -> tuple[bytes, str]:
    """(raw body, signature header) for a JSON document, as Shelfwatch would send it."""
    body = json.dumps(doc, separators=(",", ":")).encode()
    return body, shelfwatch_signature(secret, body, timestamp)
