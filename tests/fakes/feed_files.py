"""A fake data host for feed sources: serves CSV and JSON files put on it by path.

    with FeedFiles() as host:
        host.put("/stock.csv", "id,qty\n1,5\n", content_type="text/csv")
        ... source url = host.url("/stock.csv")

Built on `JsonService`, so it has the same request log and fault injection (slow, drop,
fail) as the other fakes. Unknown paths answer 404.
"""

from __future__ import annotations

import threading
from typing import Any

from tests.fakes.json_service import Call, JsonService, Reply
from tests.fakes.threaded_http import json_body


class FeedFiles(JsonService):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._files: dict[str, tuple[bytes, str]] = {}
        self._held: dict[str, tuple[int, threading.Event]] = {}
        self._lock = threading.Lock()

    def put(self, path: str, body: bytes | str, *, content_type: str = "text/plain") -> None:
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._files[path] = (data, content_type)

    def hold(self, path: str, *, after: int) -> threading.Event:
        """Send `path`'s first `after` bytes, then the rest once the returned event is set."""
        gate = threading.Event()
        with self._lock:
            self._held[path] = (after, gate)
        return gate

    def put_json(self, path: str, document: Any) -> None:
        self.put(path, json_body(document), content_type="application/json")

    def handle(self, call: Call) -> Reply:
        with self._lock:
            found = self._files.get(call.path)
            after, gate = self._held.get(call.path, (0, None))
        if found is None:
            return self.error_reply(404, call)
        body, content_type = found
        return Reply(status=200, body=body, content_type=content_type, hold_after=after, gate=gate)

    def error_reply(self, status: int, call: Call) -> Reply:
        return Reply.json({"error": "not found" if status == 404 else "error"}, status=status)
