"""Real server processes under many connections: no client is left unanswered.

A web process accepts every keep-alive client it has room for and serves their requests in
turn; a stream process at its client limit refuses the next stream with 503 at once; the
single-port front and a web process refuse a body declared too large before reading it.
All on 127.0.0.1, bounded in clients, requests and time.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time

import pytest

from tests.conftest import free_port
from tests.processes import running, wait_for_http

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]

CLIENTS = 64
REQUESTS_PER_CLIENT = 10
RUN_SECONDS = 6.0
STREAM = "/api/v1/events/stream?topics=product:1"


def _keep_alive_client(port: int, start: threading.Barrier, deadline: float, got: list) -> None:
    """Send up to REQUESTS_PER_CLIENT requests on one connection, then hold it open (idle,
    as a browser does) until `deadline`; record the status of every answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=RUN_SECONDS + 5)
    try:
        start.wait(timeout=30)
        while len(got) < REQUESTS_PER_CLIENT and time.monotonic() < deadline:
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            got.append(response.status)
        time.sleep(max(0.0, deadline - time.monotonic()))
    except OSError as exc:
        got.append(repr(exc))
    finally:
        conn.close()


def test_every_keep_alive_client_of_a_web_process_is_served_within_the_run(
    subprocess_env, tmp_path
):
    port = free_port()
    args = ["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--threads", "4"]
    with running(args, subprocess_env, tmp_path / "web.log") as process:
        wait_for_http(f"http://127.0.0.1:{port}/health", process=process)
        start = threading.Barrier(CLIENTS)
        deadline = time.monotonic() + RUN_SECONDS
        answers: list[list] = [[] for _ in range(CLIENTS)]
        threads = [
            threading.Thread(target=_keep_alive_client, args=(port, start, deadline, got))
            for got in answers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(RUN_SECONDS + 15)
    assert not any(thread.is_alive() for thread in threads)
    # Every client got all its answers while all 64 held their connections open: none
    # waited in the listen backlog behind the four request threads.
    starved = [n for n, got in enumerate(answers) if got != [200] * REQUESTS_PER_CLIENT]
    assert not starved, {n: answers[n] for n in starved}


def _open_stream(port: int) -> tuple[socket.socket, bytes]:
    """Open an event stream; the socket (left open) and the head of the answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(f"GET {STREAM} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, head


@pytest.mark.parametrize("command", ["stream", "front"])
def test_a_stream_server_at_its_limit_refuses_the_next_client_at_once(
    command, subprocess_env, tmp_path
):
    port = free_port()
    env = {**subprocess_env, "STREAM_MAX_CLIENTS": "5"}
    args = [command, "--host", "127.0.0.1", "--port", str(port)]
    with running(args, env, tmp_path / f"{command}.log") as process:
        wait_for_http(f"http://127.0.0.1:{port}/health", process=process, timeout=60)
        streams = []
        try:
            for _ in range(5):
                sock, head = _open_stream(port)
                streams.append(sock)
                assert head.startswith(b"HTTP/1.1 200"), head
            started = time.monotonic()
            sock, head = _open_stream(port)
            refused_after = time.monotonic() - started
            rest = sock.recv(4096)
            sock.close()
            assert head.startswith(b"HTTP/1.1 503"), head
            assert b"retry-after: 5" in head.lower()
            assert refused_after < 3
            body = json.loads((head.split(b"\r\n\r\n", 1)[1] + rest).decode())
            assert body["code"] == "stream_capacity"

            # A client that leaves makes room for the next one.
            streams.pop().close()
            deadline = time.monotonic() + 10
            while True:
                sock, head = _open_stream(port)
                if head.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                    break
                sock.close()
                time.sleep(0.2)
            streams.append(sock)
            assert head.startswith(b"HTTP/1.1 200"), head
        finally:
            for sock in streams:
                sock.close()


def _reset(sock: socket.socket) -> None:
    """Drop a connection abruptly: a TCP reset, no orderly close."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("command", ["stream", "front"])
def test_one_client_address_past_its_stream_limit_is_refused_until_one_of_its_streams_ends(
    command, subprocess_env, tmp_path
):
    port = free_port()
    env = {**subprocess_env, "STREAM_MAX_CLIENTS_PER_IP": "2"}
    args = [command, "--host", "127.0.0.1", "--port", str(port)]
    with running(args, env, tmp_path / f"{command}.log") as process:
        wait_for_http(f"http://127.0.0.1:{port}/health", process=process, timeout=60)
        streams = []
        try:
            for _ in range(2):
                sock, head = _open_stream(port)
                streams.append(sock)
                assert head.startswith(b"HTTP/1.1 200"), head
            sock, head = _open_stream(port)
            rest = sock.recv(4096)
            sock.close()
            assert head.startswith(b"HTTP/1.1 429"), head
            assert b"retry-after: " in head.lower()
            assert b"content-type: application/problem+json" in head.lower()
            body = json.loads((head.split(b"\r\n\r\n", 1)[1] + rest).decode())
            assert body["code"] == "too_many_streams"

            # A client that vanishes with a reset gives its place back.
            _reset(streams.pop())
            deadline = time.monotonic() + 10
            while True:
                sock, head = _open_stream(port)
                if head.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                    break
                sock.close()
                time.sleep(0.2)
            streams.append(sock)
            assert head.startswith(b"HTTP/1.1 200"), head
        finally:
            for sock in streams:
                sock.close()


@pytest.mark.parametrize("command", [["front"], ["web", "--workers", "1"]])
def test_a_body_declared_too_large_is_refused_before_it_is_read(command, subprocess_env, tmp_path):
    port = free_port()
    args = [*command, "--host", "127.0.0.1", "--port", str(port)]
    with running(args, subprocess_env, tmp_path / "server.log") as process:
        wait_for_http(f"http://127.0.0.1:{port}/health", process=process, timeout=60)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            # Only the headers: a server that waits for the body never answers.
            sock.sendall(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n"
            )
            started = time.monotonic()
            response = http.client.HTTPResponse(sock)
            response.begin()
            body = response.read()
            took = time.monotonic() - started
    assert response.status == 413, body
    assert response.getheader("content-type") == "application/problem+json"
    assert json.loads(body)["code"] == "body_too_large"
    assert took < 3
