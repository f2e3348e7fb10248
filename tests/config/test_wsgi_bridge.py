"""The WSGI bridge of the single-port front: bodies in, whole and streamed responses out."""

from __future__ import annotations

import asyncio
import json

from shelfwatch.config.wsgi_bridge import SPOOL_BYTES, WsgiBridge


def echo_app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"] or 0))
    start_response("201 Created", [("Content-Type", "application/json"), ("X-Echo", "yes")])
    return [
        json.dumps(
            {
                "method": environ["REQUEST_METHOD"],
                "path": environ["PATH_INFO"],
                "query": environ["QUERY_STRING"],
                "length": len(body),
                "type": environ.get("CONTENT_TYPE"),
                "accept": environ.get("HTTP_ACCEPT"),
                "client": environ["REMOTE_ADDR"],
            }
        ).encode()
    ]


class Chunks:
    """A streamed response that records whether the server closed it."""

    closed = False

    def __init__(self, count: int) -> None:
        self.count = count

    def __iter__(self):
        for index in range(self.count):
            yield f"chunk {index};".encode()

    def close(self) -> None:
        Chunks.closed = True


def streaming_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Chunks(5)


def call(app, *, method="GET", path="/", query=b"", headers=(), body_parts=(b"",)):
    sent = []
    incoming = [
        {"type": "http.request", "body": part, "more_body": i < len(body_parts) - 1}
        for i, part in enumerate(body_parts)
    ]

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": list(headers),
        "client": ("203.0.113.9", 5555),
        "server": ("127.0.0.1", 8000),
    }
    bridge = WsgiBridge(app, threads=2)
    try:
        asyncio.run(bridge(scope, receive, send))
    finally:
        bridge.pool.shutdown()
    return sent


def test_a_whole_response_is_sent_in_one_body_message():
    sent = call(
        echo_app,
        method="POST",
        path="/api/v1/things",
        query=b"a=1&b=2",
        headers=[(b"content-type", b"application/json"), (b"accept", b"*/*")],
        body_parts=(b'{"x":', b" 1}"),
    )
    start, body = sent
    assert start["status"] == 201
    assert (b"x-echo", b"yes") in start["headers"]
    assert body.get("more_body", False) is False
    assert json.loads(body["body"]) == {
        "method": "POST",
        "path": "/api/v1/things",
        "query": "a=1&b=2",
        "length": 8,
        "type": "application/json",
        "accept": "*/*",
        "client": "203.0.113.9",
    }


def test_a_large_body_arrives_whole():
    part = b"x" * (SPOOL_BYTES // 2 + 7)
    sent = call(echo_app, method="POST", body_parts=(part, part, part))
    assert json.loads(sent[1]["body"])["length"] == 3 * len(part)


def test_a_streamed_response_is_sent_chunk_by_chunk_and_closed():
    Chunks.closed = False
    sent = call(streaming_app)
    assert sent[0]["status"] == 200
    bodies = [message["body"] for message in sent[1:]]
    assert b"".join(bodies) == b"".join(f"chunk {i};".encode() for i in range(5))
    assert all(message.get("more_body") for message in sent[1:-1])
    assert sent[-1].get("more_body", False) is False
    assert Chunks.closed
