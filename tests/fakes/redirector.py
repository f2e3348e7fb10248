"""An HTTP server that answers every request with a redirect, to test hop-by-hop checks.

    with Redirector(host="127.0.0.2", status=307, location="http://127.0.0.1:9/x") as hop:
        ... POST to hop.url("/hook") ...
        assert hop.calls()   # it was asked; where it pointed must not be reached

`set_target(status, location)` changes the answer while it runs.
"""

from __future__ import annotations

from tests.fakes.json_service import Call, JsonService, Reply


class Redirector(JsonService):
    kind = "redirector"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, status: int = 302, location: str = "/"
    ) -> None:
        super().__init__(host, port)
        self.status = status
        self.location = location

    def set_target(self, status: int, location: str) -> None:
        self.status, self.location = status, location

    def handle(self, call: Call) -> Reply:
        return Reply.empty(self.status, headers=[("Location", self.location)])
