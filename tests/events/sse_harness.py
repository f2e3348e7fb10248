"""Drive an ASGI app in-process and read Server-Sent Events from it.

httpx's ASGI transport buffers whole responses, which never ends for a stream, so this
speaks ASGI directly: it can read frames as they come and disconnect at will.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


@dataclass
class Frame:
    """One SSE frame: an event, a comment, or a retry hint."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.data or "null")

    @property
    def is_event(self) -> bool:
        return self.data is not None


def parse_frame(raw: str) -> Frame:
    frame = Frame()
    for line in raw.split("\n"):
        if line.startswith(":"):
            frame.comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            frame.id = value
        elif name == "event":
            frame.event = value
        elif name == "data":
            frame.data = value if frame.data is None else frame.data + "\n" + value
        elif name == "retry":
            frame.retry = int(value)
    return frame


class FrameReader:
    """Splits a byte stream into SSE frames."""

    def __init__(self) -> None:
        self._buffer = ""
        self.frames: asyncio.Queue[Frame] = asyncio.Queue()

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk.decode()
        while "\n\n" in self._buffer:
            raw, self._buffer = self._buffer.split("\n\n", 1)
            self.frames.put_nowait(parse_frame(raw))


class AsgiStream:
    """One GET request against an ASGI app, kept open until `disconnect()`."""

    def __init__(
        self,
        app,
        path: str,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        method: str = "GET",
    ) -> None:
        self.app = app
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": urlencode(query or {}).encode(),
            "headers": [
                (name.lower().encode(), value.encode()) for name, value in (headers or {}).items()
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self._incoming: asyncio.Queue[dict] = asyncio.Queue()
        self._incoming.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        self._started = asyncio.Event()
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self.complete = asyncio.Event()
        self.reader = FrameReader()
        self.task: asyncio.Task | None = None
        # Clear it to make this client stop reading (a slow client): sends then block.
        self.reading = asyncio.Event()
        self.reading.set()

    async def _receive(self) -> dict:
        return await self._incoming.get()

    async def _send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
            self._started.set()
        elif message["type"] == "http.response.body":
            await self.reading.wait()
            chunk = message.get("body", b"")
            self.body += chunk
            if self.headers.get("content-type", "").startswith("text/event-stream"):
                self.reader.feed(chunk)
            if not message.get("more_body", False):
                self.complete.set()

    async def open(self, timeout: float = 5.0) -> AsgiStream:
        self.task = asyncio.create_task(self.app(self.scope, self._receive, self._send))
        await asyncio.wait_for(self._started.wait(), timeout)
        return self

    async def wait_complete(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self.complete.wait(), timeout)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    async def next_frame(self, timeout: float = 5.0) -> Frame:
        return await asyncio.wait_for(self.reader.frames.get(), timeout)

    async def next_event(self, timeout: float = 5.0) -> Frame:
        """The next frame carrying data, skipping comments and retry hints."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.next_frame(max(0.01, deadline - loop.time()))
            if frame.is_event:
                return frame

    async def events(self, count: int, timeout: float = 5.0) -> list[Frame]:
        return [await self.next_event(timeout) for _ in range(count)]

    async def no_event_within(self, seconds: float) -> bool:
        try:
            await self.next_event(seconds)
        except TimeoutError:
            return True
        return False

    async def disconnect(self, timeout: float = 5.0) -> None:
        self._incoming.put_nowait({"type": "http.disconnect"})
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout)


async def request(app, path: str, **kwargs) -> AsgiStream:
    """A complete (non-stream) request; returns with status, headers and body."""
    stream = AsgiStream(app, path, **kwargs)
    await stream.open()
    await stream.wait_complete()
    await asyncio.wait_for(stream.task, 5)
    return stream
