"""The bus across real processes: web processes emit, every stream process's clients hear it.

Runs on whatever the suite runs on: PostgreSQL + Redis (Redis pub/sub, RQ worker) or the
embedded default (SQLite, table tailing, database worker).
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from django.conf import settings
from django.db import transaction

from shelfwatch.accounts.models import User
from shelfwatch.accounts.tokens import issue_access_token
from shelfwatch.events.models import Event
from shelfwatch.events.publishing import emit
from tests.events.sse_harness import Frame, parse_frame
from tests.processes import running, serving_all, stop, wait_for

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]

STREAM = "/api/v1/events/stream"


class Listener(threading.Thread):
    """An SSE client on its own thread; events land in `frames` as they arrive."""

    def __init__(self, base: str, topics: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(daemon=True)
        self.url = base + STREAM
        self.params = {"topics": topics}
        self.headers = headers or {}
        self.frames: queue.Queue[Frame] = queue.Queue()
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            timeout = httpx.Timeout(10.0, read=5.0)
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream("GET", self.url, params=self.params, headers=self.headers) as resp,
            ):
                assert resp.status_code == 200, resp.read()
                buffer = ""
                for chunk in resp.iter_text():
                    buffer += chunk
                    while "\n\n" in buffer:
                        raw, buffer = buffer.split("\n\n", 1)
                        frame = parse_frame(raw)
                        if "connected" in frame.comments:
                            self.connected.set()
                        if frame.is_event:
                            self.frames.put(frame)
                    if self.stopping.is_set():
                        return
        except BaseException as exc:  # reported by the test thread
            self.failure = exc

    def next_event(self, timeout: float = 15.0) -> Frame:
        try:
            return self.frames.get(timeout=timeout)
        except queue.Empty:
            message = f"no event on {self.url} within {timeout}s: {self.failure}"
            raise AssertionError(message) from None

    def stop(self) -> None:
        self.stopping.set()  # noticed at the next heartbeat


@contextlib.contextmanager
def listening(base: str, topics: str, **kwargs) -> Iterator[Listener]:
    listener = Listener(base, topics, **kwargs)
    listener.start()
    try:
        assert listener.connected.wait(15), f"stream {base} never connected: {listener.failure}"
        yield listener
    finally:
        listener.stop()
        listener.join(5)


def child_env(subprocess_env: dict[str, str]) -> dict[str, str]:
    return {
        **subprocess_env,
        "EVENTS_TAIL_INTERVAL": "0.1",
        "EVENTS_HEARTBEAT_SECONDS": "0.5",
        "LOG_LEVEL": "WARNING",
    }


def ping(base: str, token: str, topic: str, message: str) -> int:
    response = httpx.post(
        base + "/api/v1/events/test",
        json={"topic": topic, "message": message},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_events_cross_from_web_processes_to_every_stream_process(subprocess_env, tmp_path):
    admin = User.objects.create_superuser("ops@example.com", None)
    token, _ = issue_access_token(user=admin)
    env = child_env(subprocess_env)
    mode = "redis" if settings.REDIS_URL else "table"
    servers = {
        "web-a": ["web", "--workers", "1", "--threads", "2"],
        "web-b": ["web", "--workers", "1", "--threads", "2"],
        "stream-1": ["stream", "--workers", "1"],
        "stream-2": ["stream", "--workers", "1"],
    }
    with contextlib.ExitStack() as stack:
        worker = stack.enter_context(running(["worker"], env, tmp_path / "worker.log"))
        bases, _processes = stack.enter_context(serving_all(servers, env, tmp_path))
        web_a, web_b = bases["web-a"], bases["web-b"]
        stream_1, stream_2 = bases["stream-1"], bases["stream-2"]
        one = stack.enter_context(listening(stream_1, "product:7"))
        two = stack.enter_context(listening(stream_2, "product:7"))

        first = ping(web_a, token, "product:7", f"via web A ({mode})")
        for listener in (one, two):
            frame = listener.next_event()
            assert frame.id == str(first)
            assert frame.event == "system.ping"
            assert frame.json["payload"]["message"] == f"via web A ({mode})"

        second = ping(web_b, token, "product:7", "via web B")
        assert one.next_event().json["id"] == second
        assert two.next_event().json["id"] == second

        # Web B reads what web A wrote; a reconnecting client replays from either stream.
        listing = httpx.get(web_b + "/api/v1/events/", params={"topics": "product:7"}).json()
        assert [event["id"] for event in listing["events"]] == [first, second]
        with listening(stream_2, "product:7", headers={"Last-Event-ID": str(first)}) as late:
            assert late.next_event().json["id"] == second

        # The worker ran the dispatch task of each batch.
        dispatched = Event.objects.filter(pk__in=[first, second], dispatched_at__isnull=False)
        try:
            wait_for(lambda: dispatched.count() == 2, timeout=20)
        except AssertionError:
            print((tmp_path / "worker.log").read_text(errors="replace"))
            raise
        assert worker.poll() is None


def test_the_single_port_front_streams_serves_django_and_stops_promptly(subprocess_env, tmp_path):
    admin = User.objects.create_superuser("ops@example.com", None)
    token, _ = issue_access_token(user=admin)
    env = child_env(subprocess_env)
    with serving_all({"front": ["front"]}, env, tmp_path) as (bases, processes):
        front = bases["front"]
        with listening(front, "product:3") as listener:
            # The POST (with a body) goes through the WSGI bridge; the event comes back natively.
            event_id = ping(front, token, "product:3", "one port")
            assert listener.next_event().json["id"] == event_id
            assert httpx.get(front + "/health").json() == {"status": "ok"}
            # An open stream must not hold up a stop until the server's kill timeout.
            started = time.monotonic()
            stop(processes["front"])
            assert time.monotonic() - started < 3
            assert processes["front"].returncode == 0
            listener.join(5)
            assert not listener.is_alive()  # the server ended the stream


def _emit_padded(topic: str, n: int, size: int) -> int:
    with transaction.atomic():
        return emit(type="stock.changed", payload={"n": n, "pad": "x" * size}, topics=[topic]).pk


def _read_until(sock: socket.socket, needle: bytes, timeout: float) -> bytes:
    """What `sock` receives until `needle` has arrived, the peer closes, or `timeout` s."""
    deadline = time.monotonic() + timeout
    data = b""
    while needle not in data and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_a_client_that_stops_reading_is_dropped_by_the_real_server_while_others_get_everything(
    subprocess_env, tmp_path
):
    env = {**child_env(subprocess_env), "EVENTS_CLIENT_QUEUE_SIZE": "4"}
    with serving_all({"stream": ["stream", "--workers", "1"]}, env, tmp_path) as (bases, _):
        base = bases["stream"]
        host, port = base.removeprefix("http://").split(":")
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect((host, int(port)))
        slow.sendall(f"GET {STREAM}?topics=product:9 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert b"connected" in _read_until(slow, b"connected", 15)
        with listening(base, "product:9") as fast:
            # The slow client reads nothing from here: kernel buffers, the server's own
            # buffer and our backlog of 4 fill, and an event after that drops it.
            def clients() -> int:
                return httpx.get(base + "/health", timeout=5).json()["clients"]

            assert clients() == 2
            for n in range(400):
                event_id = _emit_padded("product:9", n, 100_000)
                # The other client gets each event while the slow one is stuck.
                assert fast.next_event().json["id"] == event_id
                if clients() == 1:
                    break
            assert clients() == 1, "the slow client was never dropped"
        rest = _read_until(slow, b"\r\n0\r\n\r\n", 60)  # the server ended its response
        slow.close()
        assert b"too slow; reconnect to resume" in rest
        assert rest.endswith(b"\r\n0\r\n\r\n")
