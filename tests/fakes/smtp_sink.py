"""An SMTP server on loopback that keeps every message it is given (aiosmtpd in a thread).

::

    with SmtpSink() as sink:                       # 127.0.0.1, a free port
        settings: EMAIL_HOST = sink.host, EMAIL_PORT = sink.port
        ... the app sends ...
        [mail] = sink.wait_for(1)
        assert mail.subject == "Back in stock" and "Whey" in mail.text
        assert mail.header("List-Unsubscribe") == "<https://...>"

Each `ReceivedMail` has the envelope (``mail_from``, ``rcpt_tos``), the parsed
`email.message.EmailMessage` (modern policy: headers decoded), ``text`` and ``html`` bodies,
attachments, and the raw bytes. With ``username``/``password`` the server offers ``AUTH
PLAIN LOGIN`` without TLS and refuses mail from clients that did not log in (530); the
credentials used are on each message. `reject_next(n, code, text)` answers the next ``n``
messages' DATA with that reply (e.g. ``451 4.3.0 Try again later`` or ``550 5.1.1 No such
user``) instead of keeping them.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class ReceivedMail:
    """One message the sink accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    received_at: float
    peer: Any = None
    login: str | None = None  # the AUTH user, when the client logged in

    @property
    def subject(self) -> str | None:
        return self.message["Subject"]

    @property
    def from_(self) -> str | None:
        return self.message["From"]

    @property
    def to(self) -> list[str]:
        return [str(a) for a in self.message.get_all("To", [])]

    def header(self, name: str) -> str | None:
        value = self.message[name]
        return None if value is None else str(value)

    @property
    def headers(self) -> dict[str, str]:
        """Header names as sent (the last value wins when repeated)."""
        return {name: str(value) for name, value in self.message.items()}

    def _body(self, subtype: str) -> str | None:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            return None
        return part.get_content()

    @property
    def text(self) -> str | None:
        return self._body("plain")

    @property
    def html(self) -> str | None:
        return self._body("html")

    @property
    def attachments(self) -> list[tuple[str | None, str, bytes]]:
        """(filename, content type, bytes) of each attachment."""
        return [
            (part.get_filename(), part.get_content_type(), part.get_payload(decode=True) or b"")
            for part in self.message.iter_attachments()
        ]


@dataclass
class _Rejection:
    remaining: int
    reply: str


@dataclass
class _Handler:
    sink: SmtpSink

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        # Login is enforced here rather than with aiosmtpd's auth_required, which warns when
        # TLS is not required too (the sink has no TLS).
        if self.sink.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self.sink._deliver(session, envelope)


class _Controller(Controller):
    """aiosmtpd's Controller, able to bind port 0 and report the port it got."""

    def _create_server(self):  # type: ignore[override]
        async def create():
            server = await self.loop.create_server(
                self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context
            )
            self.port = server.sockets[0].getsockname()[1]
            return server

        return create()


class SmtpSink:
    """A started-on-demand SMTP server collecting messages; thread-safe."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self._messages: list[ReceivedMail] = []
        self._cond = threading.Condition()
        self._rejections: list[_Rejection] = []
        self._controller: _Controller | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Self:
        if self._controller is not None:
            return self
        kwargs: dict[str, Any] = {}
        if self.username is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        controller = _Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            enable_SMTPUTF8=True,
            server_hostname="smtp-sink.test",
            **kwargs,
        )
        controller.start()
        self.port = controller.port
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = (
            auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode())

    # -- control ------------------------------------------------------------------------------
    def reject_next(self, n: int = 1, code: int = 451, text: str = "4.3.0 Try again later") -> None:
        """Answer the DATA of the next `n` messages with ``<code> <text>`` and keep nothing."""
        with self._cond:
            self._rejections.append(_Rejection(n, f"{code} {text}"))

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._cond:
            return list(self._messages)

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()
            self._rejections.clear()

    def wait_for(self, n: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Block until at least `n` messages arrived; returns all of them. Raises TimeoutError
        naming how many did arrive."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self._messages)} of {n} messages arrived in {timeout}s"
                    )
                self._cond.wait(left)
            return list(self._messages)

    def messages_to(self, address: str) -> list[ReceivedMail]:
        address = address.lower()
        return [m for m in self.messages if address in (r.lower() for r in m.rcpt_tos)]

    def _deliver(self, session: Any, envelope: Any) -> str:
        with self._cond:
            for rejection in self._rejections:
                rejection.remaining -= 1
                if rejection.remaining <= 0:
                    self._rejections.remove(rejection)
                return rejection.reply
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        login = getattr(session, "auth_data", None)
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            raw=raw,
            message=message,  # type: ignore[arg-type]
            received_at=time.time(),
            peer=session.peer,
            login=login if isinstance(login, str) else None,
        )
        with self._cond:
            self._messages.append(mail)
            self._cond.notify_all()
        return "250 Message accepted for delivery"
