"""A one-hop WSGI-in-ASGI bridge around Shelfwatch's WSGI app: how fast could the
single-port front of `shelfwatch serve` hand ordinary requests to Django?

A diagnostic for `http_baseline.py --breakdown`, not a server to deploy. The whole WSGI
call runs in one thread-pool job that returns status, headers and the joined body, so a
request crosses between the event loop and a worker thread once each way (a2wsgi's
responder crosses for every message). Streaming responses are joined too, which is fine
for /health and /me and wrong for long streams. Serve it like the front (from the
repository root, with a Shelfwatch environment):

    PYTHONPATH=bench WEB_THREADS=4 .venv/bin/granian --interface asgi --workers 1 \
        --backpressure 10000 --backlog 2048 one_hop_bridge:application
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")

wsgi_app = get_wsgi_application()
pool = ThreadPoolExecutor(max_workers=int(os.environ.get("WEB_THREADS", "4") or 4))

Message = dict[str, Any]
WsgiResult = tuple[int, list[tuple[bytes, bytes]], bytes]


def _environ(scope: Message, body: bytes) -> dict[str, Any]:
    server_host, server_port = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": scope["path"],
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server_host),
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[name] = value
        else:
            key = f"HTTP_{name}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _call_wsgi(environ: dict[str, Any]) -> WsgiResult:
    head: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        head[:] = [status, headers]

    result = wsgi_app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = head
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return int(status[:3]), encoded, body


async def _lifespan(receive: Callable[[], Awaitable[Message]], send: Callable) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            pool.shutdown(wait=False)
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(
    scope: Message, receive: Callable[[], Awaitable[Message]], send: Callable
) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    loop = asyncio.get_running_loop()
    status, headers, payload = await loop.run_in_executor(pool, _call_wsgi, _environ(scope, body))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
