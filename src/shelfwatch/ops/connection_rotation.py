"""Keep-alive connections spread over the web workers: every Nth response of a worker
asks its client to reconnect.

`shelfwatch web` runs several granian worker processes on one shared listening socket,
and a keep-alive connection stays with the worker that accepted it. A burst of new
connections is accepted by whichever worker wakes first, often all of them: measured
with 100 clients at once, one worker served 2,102 of 2,104 requests while the other
idled, so the rush ran on one core and queued twice as long. A reverse proxy's pooled
upstream connections stay pinned the same way. Answering every Nth response with
`Connection: close` (as nginx's `keepalive_requests` does) makes clients open a new
connection now and then, which any worker may accept, so no imbalance lasts; the cost
is one TCP handshake per N requests.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any


class ConnectionRotation:
    """WSGI middleware: every `every`th response (counted per process) closes its
    connection after it is sent; `every` 0 turns it off."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, every: int) -> None:
        self.app, self.every = app, every
        self._served = itertools.count(1)  # next() on a count is atomic under the GIL

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if not self.every or next(self._served) % self.every:
            return self.app(environ, start_response)

        def closing(status: str, headers: list[tuple[str, str]], exc_info=None):
            if not any(name.lower() == "connection" for name, _ in headers):
                headers = [*headers, ("Connection", "close")]
            return start_response(status, headers, exc_info)

        return self.app(environ, closing)
