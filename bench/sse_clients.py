"""One SSE client process of the fan-out benchmark: many raw sockets on one epoll loop.

Started by sse_fanout.py (several at once, each from its own source address); not meant to
be run by hand. It talks over stdin/stdout, one line each way:

    start:  connects --count sockets from --source to 127.0.0.1:--port, each sending one GET
            for --path; prints {"connected": n, "errors": [...]} once every response head
            (200) has arrived or failed
    "count" -> prints how many bench events (any run) have been seen so far (approximate:
            a cheap substring count over the received bytes, only to stop waiting early)
    "stop"  -> prints the summary (see `summarize`) and exits

While streaming, the loop only reads: each recv() is kept with the time the poll returned;
HTTP de-chunking and SSE parsing happen after "stop", so the client's own cost per event is
one recv() and a list append, and the receive times are not skewed by parsing.
"""

from __future__ import annotations

import argparse
import errno
import json
import resource
import select
import socket
import sys
import time
from collections import defaultdict

MARKER = b'"bench_seq"'
CONNECT_WINDOW = 256  # connections in progress at once (the server's accept backlog)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Clients:
    def __init__(self, *, port: int, source: str, path: str, count: int) -> None:
        self.port = port
        self.source = source
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
        ).encode()
        self.count = count
        self.epoll = select.epoll()
        self.socks: dict[int, socket.socket] = {}
        self.chunks: dict[int, list[tuple[float, bytes]]] = defaultdict(list)
        self.heads: dict[int, bytes] = {}
        self.closed: set[int] = set()
        self.markers = 0
        self.errors: list[str] = []

    # --- connecting -----------------------------------------------------------------------

    def connect_all(self) -> int:
        todo = self.count
        pending: dict[int, bytes] = {}  # fd -> head bytes so far
        connecting: set[int] = set()
        ok = 0
        while todo or pending or connecting:
            while todo and len(pending) + len(connecting) < CONNECT_WINDOW:
                todo -= 1
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.bind((self.source, 0))
                code = sock.connect_ex(("127.0.0.1", self.port))
                if code not in (0, errno.EINPROGRESS):
                    self.errors.append(f"connect: {errno.errorcode.get(code, code)}")
                    sock.close()
                    continue
                fd = sock.fileno()
                self.socks[fd] = sock
                connecting.add(fd)
                self.epoll.register(fd, select.EPOLLOUT)
            for fd, _mask in self.epoll.poll(1.0):
                sock = self.socks[fd]
                if fd in connecting:
                    connecting.discard(fd)
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code:
                        self._fail(fd, f"connect: {errno.errorcode.get(code, code)}")
                        continue
                    sock.sendall(self.request)
                    pending[fd] = b""
                    self.epoll.modify(fd, select.EPOLLIN)
                    continue
                data = self._recv(fd)
                if fd in self.heads:  # streaming already, while others still connect
                    if data is None:
                        self.closed.add(fd)
                        self.epoll.unregister(fd)
                    elif data:
                        self.chunks[fd].append((time.time(), data))
                    continue
                if data is None:
                    pending.pop(fd, None)
                    self._fail(fd, "closed before the response head")
                    continue
                head = pending[fd] + data
                end = head.find(b"\r\n\r\n")
                if end < 0:
                    pending[fd] = head
                    continue
                del pending[fd]
                status = head.split(b"\r\n", 1)[0]
                if b" 200" not in status:
                    self._fail(fd, f"answered {status.decode(errors='replace')}")
                    continue
                self.heads[fd] = head[:end].lower()
                rest = head[end + 4 :]
                if rest:
                    self.chunks[fd].append((time.time(), rest))
                ok += 1
        return ok

    def _fail(self, fd: int, why: str) -> None:
        self.errors.append(why)
        self.epoll.unregister(fd)
        self.socks.pop(fd).close()

    def _recv(self, fd: int) -> bytes | None:
        try:
            data = self.socks[fd].recv(65536)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            return None
        return data or None

    # --- streaming ------------------------------------------------------------------------

    def stream(self) -> None:
        """Read until "stop" arrives on stdin, answering "count" meanwhile."""
        stdin = sys.stdin.fileno()
        self.epoll.register(stdin, select.EPOLLIN)
        chunks, markers = self.chunks, 0
        while True:
            events = self.epoll.poll(1.0)
            now = time.time()
            for fd, _mask in events:
                if fd == stdin:
                    command = sys.stdin.readline().strip()
                    if command == "count":
                        self.markers = markers
                        print(markers, flush=True)
                        continue
                    self.markers = markers
                    return
                data = self._recv(fd)
                if data is None:
                    self.closed.add(fd)
                    self.epoll.unregister(fd)
                    continue
                if data:
                    chunks[fd].append((now, data))
                    markers += data.count(MARKER)

    # --- after the run ----------------------------------------------------------------------

    def summarize(self, run_id: str) -> dict:
        """Per event: how many clients got it, the first and last arrival (s after emit);
        every delivery's latency in units of 0.1 ms; distinct events per client, duplicates."""
        per_seq: dict[int, list[float]] = {}
        deliveries: list[int] = []
        duplicates = 0
        seqs_per_client: list[set[int]] = []
        for fd in self.heads:
            seen: set[int] = set()
            for seq, latency in client_events(self.heads[fd], self.chunks.get(fd, []), run_id):
                if seq in seen:
                    duplicates += 1
                    continue
                seen.add(seq)
                deliveries.append(round(latency * 10_000))
                stats = per_seq.setdefault(seq, [0, latency, latency])
                stats[0] += 1
                stats[1] = min(stats[1], latency)
                stats[2] = max(stats[2], latency)
            seqs_per_client.append(seen)
        return {
            "clients": len(self.heads),
            "closed_by_server": len(self.closed),
            "per_seq": {str(seq): stats for seq, stats in per_seq.items()},
            "deliveries": deliveries,
            "duplicates": duplicates,
            "received_by_client": [len(seen) for seen in seqs_per_client],
        }


def client_events(head: bytes, chunks: list[tuple[float, bytes]], run_id: str):
    """(bench_seq, seconds from emit to the arrival of the chunk completing it) per event."""
    body = Dechunker() if b"transfer-encoding: chunked" in head else None
    pending = b""
    for arrived, data in chunks:
        text = body.feed(data) if body is not None else data
        pending = (pending + text).replace(b"\r\n", b"\n")
        *blocks, pending = pending.split(b"\n\n")
        for block in blocks:
            if MARKER not in block:
                continue
            found = bench_event(block, run_id)
            if found is not None:
                yield found[0], arrived - found[1]


def bench_event(block: bytes, run_id: str) -> tuple[int, float] | None:
    data = b"\n".join(
        line[5:].removeprefix(b" ") for line in block.split(b"\n") if line.startswith(b"data:")
    )
    try:
        message = json.loads(data)
    except ValueError:
        return None
    payload = message.get("payload") if isinstance(message, dict) else None
    if not isinstance(payload, dict) or payload.get("bench_run") != run_id:
        return None
    return int(payload["bench_seq"]), float(payload["sent_at"])


class Dechunker:
    """Incremental HTTP/1.1 chunked transfer decoding."""

    def __init__(self) -> None:
        self.buffer = b""
        self.remaining = -1  # bytes left in the current chunk; -1 while reading a size line

    def feed(self, data: bytes) -> bytes:
        self.buffer += data
        out = bytearray()
        while True:
            if self.remaining < 0:
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    break
                size = int(self.buffer[:end].split(b";", 1)[0] or b"0", 16)
                self.buffer = self.buffer[end + 2 :]
                self.remaining = size
                if size == 0:
                    break
            if len(self.buffer) < self.remaining + 2:
                break
            out += self.buffer[: self.remaining]
            self.buffer = self.buffer[self.remaining + 2 :]
            self.remaining = -1
        return bytes(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--source", default="127.0.0.1", help="local address to connect from")
    parser.add_argument("--path", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--run-id", required=True)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    clients = Clients(port=args.port, source=args.source, path=args.path, count=args.count)
    connected = clients.connect_all()
    cpu_start = _cpu_seconds()
    print(json.dumps({"connected": connected, "errors": clients.errors}), flush=True)
    clients.stream()
    cpu_streaming = _cpu_seconds() - cpu_start
    summary = clients.summarize(args.run_id)
    summary["cpu_seconds"] = cpu_streaming
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
