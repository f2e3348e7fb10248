"""A minimal asyncio HTTP/1.1 client for load generators: one keep-alive connection per
simulated user, JSON in and out, nothing else (no redirects, no TLS, no cookies).

Used by flash_sale_checkout.py, where the clients run on the same cores as the server: an
httpx AsyncClient cost about 3.5 ms of CPU per request there, which the server could not
use. This one parses only the status line, Content-Length or chunked framing and the body.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class KeepAliveClient:
    """POSTs JSON to one server over one persistent connection, one request at a time."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float = 120.0) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Host": f"{self.host}:{self.port}", **headers}
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> KeepAliveClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def post(self, path: str, json_body: Any, headers: dict[str, str] | None = None) -> Reply:
        body = json.dumps(json_body).encode()
        lines = [f"POST {path} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in {**self.headers, **(headers or {})}.items()]
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
        request = "\r\n".join(lines).encode() + body
        for attempt in (1, 2):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            try:
                self._writer.write(request)
                return await asyncio.wait_for(self._read_reply(), self.timeout)
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection: reconnect once.
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _read_reply(self) -> Reply:
        reader = self._reader
        assert reader is not None
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length, chunked, close = None, False, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await reader.readexactly(length or 0)
        if close:
            await self.close()
        return Reply(status, body)
