"""SSE fan-out benchmark: memory per idle stream connection and emit-to-delivery latency.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/sse_fanout.py [--clients 2000] [--events 30] [--interval 0.1]
                                         [--quick] [--skip-scale-out]

For each deployment (embedded SQLite: the stream process tails the events table;
scale-out: PostgreSQL + Redis pub/sub) it
1. starts one `shelfwatch stream` process on a free 127.0.0.1 port;
2. samples the memory of that process and every child it spawned (VmRSS and PSS from
   /proc), opens `--clients` concurrent anonymous SSE connections following one public
   topic (`product:1`) from this process (raw asyncio sockets), and samples it again:
   the difference divided by the number of connections is the memory per connection;
3. has a separate process emit `--events` events on that topic, `--interval` seconds apart,
   each in its own transaction with the wall-clock time of the emit in its payload;
4. records when each client received each event and reports, per event, the time from
   emit to the LAST client receiving it (p50/p99 over events), the p50/p99 over all
   deliveries, and any losses (every client must receive every event).
The receive times include this process's own work of reading 2,000 sockets on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cpuload
import deployments
import machine
from servers import (
    BENCH_DIR,
    HOST,
    SHELFWATCH,
    Server,
    free_port,
    running,
    stream_probe,
    tree_memory,
)
from tables import render_table

TOPIC = "product:1"
STREAM_PATH = f"/api/v1/events/stream?topics={TOPIC}"
CONNECT_BATCH = 100


# --- one SSE client -----------------------------------------------------------------------


class SseClient(asyncio.Protocol):
    """Keeps every chunk it receives with its arrival time; decoding happens afterwards, so
    the measured path is only the socket read."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.chunks: list[tuple[float, bytes]] = []
        self.head: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.markers = 0  # a cheap running count of bench events, to stop waiting early
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._pending_head = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.chunks.append((time.time(), data))
        self.markers += data.count(b'"bench_seq"')
        if not self.head.done():
            self._pending_head += data
            end = self._pending_head.find(b"\r\n\r\n")
            if end >= 0:
                self.head.set_result(self._pending_head[:end])

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.head.done():
            self.head.set_exception(ConnectionError(f"closed before the response head: {exc}"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _request(port: int) -> bytes:
    return (
        f"GET {STREAM_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    ).encode()


async def open_client(port: int, timeout: float = 30.0) -> SseClient:
    loop = asyncio.get_running_loop()
    _transport, client = await loop.create_connection(lambda: SseClient(_request(port)), HOST, port)
    head = await asyncio.wait_for(client.head, timeout)
    status = head.split(b"\r\n", 1)[0]
    if b" 200" not in status:
        client.close()
        raise ConnectionError(f"stream answered {status.decode(errors='replace')}")
    return client


# --- decoding what a client received --------------------------------------------------------


class _Dechunker:
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


class _IdentityBody(_Dechunker):
    """A body delimited by the connection's end: bytes pass through."""

    def feed(self, data: bytes) -> bytes:
        return data


def received_events(client: SseClient, run_id: str) -> dict[int, float]:
    """bench_seq -> the arrival time of the chunk that completed that event."""
    arrivals: dict[int, float] = {}
    head = b""
    body: _Dechunker | None = None
    pending = b""
    for arrived, data in client.chunks:
        if body is None:
            head += data
            end = head.find(b"\r\n\r\n")
            if end < 0:
                continue
            head, data = head[:end].lower(), head[end + 4 :]
            chunked = b"transfer-encoding: chunked" in head
            body = _Dechunker() if chunked else _IdentityBody()
        pending = (pending + body.feed(data)).replace(b"\r\n", b"\n")
        *blocks, pending = pending.split(b"\n\n")
        for block in blocks:
            seq = _bench_seq(block, run_id)
            if seq is not None and seq not in arrivals:
                arrivals[seq] = arrived
    return arrivals


def _bench_seq(block: bytes, run_id: str) -> int | None:
    data = b"\n".join(
        line[5:].removeprefix(b" ") for line in block.split(b"\n") if line.startswith(b"data:")
    )
    if b"bench_seq" not in data:
        return None
    try:
        message = json.loads(data)
    except ValueError:
        return None
    payload = message.get("payload", message) if isinstance(message, dict) else None
    if not isinstance(payload, dict) or payload.get("bench_run") != run_id:
        return None
    return int(payload["bench_seq"])


# --- the measurement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FanoutPlan:
    clients: int = 2000
    events: int = 30
    interval: float = 0.1  # seconds between emits
    settle: float = 2.0  # seconds before each memory sample
    quiet_wait: float = 60.0  # max seconds to wait for a quiet machine first


@dataclass
class FanoutResult:
    deployment: str
    clients: int
    connected: int
    connect_seconds: float
    processes: int
    rss_before_kib: int
    rss_after_kib: int
    pss_before_kib: int
    pss_after_kib: int
    events: int
    expected: int
    delivered: int
    clients_missing_events: int
    first_client_ms: list[float] = field(default_factory=list)  # per event
    last_client_ms: list[float] = field(default_factory=list)  # per event
    all_deliveries_ms: list[float] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)  # emit call -> commit, per event
    errors: list[str] = field(default_factory=list)
    cpu: cpuload.CpuShare | None = None  # while the events were emitted and delivered

    @property
    def rss_per_connection_kib(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(1, self.connected)

    @property
    def pss_per_connection_kib(self) -> float:
        return (self.pss_after_kib - self.pss_before_kib) / max(1, self.connected)

    @property
    def lost(self) -> int:
        return self.expected - self.delivered


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        print(f"warning: fd limit {target} < {needed} needed", file=sys.stderr)


async def _connect_all(port: int, count: int) -> tuple[list[SseClient], list[str]]:
    clients: list[SseClient] = []
    errors: list[str] = []
    for start in range(0, count, CONNECT_BATCH):
        batch = min(CONNECT_BATCH, count - start)
        results = await asyncio.gather(
            *(open_client(port) for _ in range(batch)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                errors.append(f"{type(result).__name__}: {result}")
            else:
                clients.append(result)
    return clients, errors


class Emitter:
    """The separate process that emits the events (bench/app_side.py emit): started and
    set up first, so that its start-up is outside every measurement, then told to go."""

    def __init__(self, env: dict[str, str], *, count: int, interval: float, run_id: str) -> None:
        self.env = env
        self.argv = [
            sys.executable,
            str(BENCH_DIR / "app_side.py"),
            "emit",
            "--topic",
            TOPIC,
            "--count",
            str(count),
            "--interval",
            str(interval),
            "--run-id",
            run_id,
        ]
        self.proc: asyncio.subprocess.Process | None = None
        self.cpu_seconds = 0.0  # what emitting cost the emitter (its start-up excluded)

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        first = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if first.strip() != b"ready":
            raise RuntimeError(f"emitter did not start: {first!r}")

    async def run(self) -> list[dict]:
        """Emit; return one record per event: seq, sent_at, committed_at (wall clock)."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(b"go\n")
        await self.proc.stdin.drain()
        lines = [json.loads(line) async for line in self.proc.stdout if line.strip()]
        if await self.proc.wait() != 0:
            raise RuntimeError(f"emitter exited {self.proc.returncode}")
        self.cpu_seconds = sum(line.get("cpu_seconds", 0.0) for line in lines)
        return [line for line in lines if "seq" in line]

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def measure_fanout(
    server: Server, deployment: deployments.Deployment, plan: FanoutPlan
) -> FanoutResult:
    run_id = secrets.token_hex(6)
    pid = server.proc.pid
    # A first client warms whatever the stream app sets up lazily; then memory at rest.
    warm = await open_client(server.port)
    await asyncio.sleep(0.5)
    warm.close()
    if plan.quiet_wait > 0:
        # Other work on the machine would skew the latencies: wait for it to calm down.
        cpuload.wait_for_quiet(max_wait=plan.quiet_wait)
    await asyncio.sleep(plan.settle)
    before = tree_memory(pid)

    started = time.monotonic()
    conns, errors = await _connect_all(server.port, plan.clients)
    connect_seconds = time.monotonic() - started
    await asyncio.sleep(plan.settle)
    after = tree_memory(pid)
    dropped = sum(1 for c in conns if c.closed)
    if dropped:
        errors.append(f"{dropped} connections closed by the server while idle")

    result = FanoutResult(
        deployment=deployment.name,
        clients=plan.clients,
        connected=len(conns),
        connect_seconds=connect_seconds,
        processes=after.processes,
        rss_before_kib=before.rss_kib,
        rss_after_kib=after.rss_kib,
        pss_before_kib=before.pss_kib,
        pss_after_kib=after.pss_kib,
        events=plan.events,
        expected=len(conns) * plan.events,
        delivered=0,
        clients_missing_events=0,
        errors=errors,
    )
    emitter = Emitter(deployment.env, count=plan.events, interval=plan.interval, run_id=run_id)
    window = cpuload.CpuWindow(pid, database=deployment.database, count_self=True)
    try:
        await emitter.start()
        window.start()
        records = await emitter.run()
        # Wait for the stragglers: until every client counted every event, or 10 s.
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and sum(c.markers for c in conns) < result.expected:
            await asyncio.sleep(0.05)
        result.cpu = window.stop(extra_load=emitter.cpu_seconds)
    finally:
        await emitter.close()
        for conn in conns:
            conn.close()

    sent_at = {r["seq"]: r["sent_at"] for r in records}
    result.commit_ms = [(r["committed_at"] - r["sent_at"]) * 1000 for r in records]
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for conn in conns:
        arrivals = received_events(conn, run_id)
        result.delivered += sum(1 for seq in arrivals if seq in sent_at)
        if len(arrivals.keys() & sent_at.keys()) < len(sent_at):
            result.clients_missing_events += 1
        for seq, arrived in arrivals.items():
            if seq in sent_at:
                result.all_deliveries_ms.append((arrived - sent_at[seq]) * 1000)
                first[seq] = min(first.get(seq, arrived), arrived)
                last[seq] = max(last.get(seq, 0.0), arrived)
    result.first_client_ms = [(first[seq] - sent_at[seq]) * 1000 for seq in sorted(first)]
    result.last_client_ms = [(last[seq] - sent_at[seq]) * 1000 for seq in sorted(last)]
    return result


def run_one(deployment: deployments.Deployment, plan: FanoutPlan, *, workdir: Path) -> FanoutResult:
    port = free_port()
    argv = [SHELFWATCH, "stream", "--host", HOST, "--port", str(port)]
    print(f"  SSE fan-out on {deployment.name}: {plan.clients} clients ...", flush=True)
    with running(
        f"stream-{deployment.key}",
        argv,
        env=deployment.env,
        port=port,
        log_dir=workdir / "logs",
        probe=stream_probe(STREAM_PATH),
    ) as server:
        return asyncio.run(measure_fanout(server, deployment, plan))


def run_all(plan: FanoutPlan, *, workdir: Path, scale_out: bool) -> list[FanoutResult]:
    """The embedded deployment, then the scale-out one when PostgreSQL and Redis answer."""
    raise_fd_limit(plan.clients + 1024)
    # One deployment at a time, so the scale-out database exists only while it is used.
    with deployments.embedded(workdir) as embedded:
        results = [run_one(embedded, plan, workdir=workdir)]
    if scale_out and deployments.scale_out_reachable():
        with deployments.scale_out(workdir) as scaled:
            results.append(run_one(scaled, plan, workdir=workdir))
    elif scale_out:
        print("  PostgreSQL or Redis not reachable on 127.0.0.1: scale-out fan-out skipped")
    return results


# --- reporting ---------------------------------------------------------------------------------


def table_rows(results: list[FanoutResult]) -> list[list[str]]:
    rows = []
    for r in results:
        rows.append(
            [
                r.deployment,
                f"{r.connected}/{r.clients}",
                f"{r.rss_before_kib / 1024:.1f} -> {r.rss_after_kib / 1024:.1f}",
                f"{r.rss_per_connection_kib:.1f}",
                f"{r.pss_per_connection_kib:.1f}",
                f"{percentile(r.first_client_ms, 50):.0f}",
                f"{percentile(r.last_client_ms, 50):.0f}",
                f"{percentile(r.last_client_ms, 99):.0f}",
                f"{percentile(r.all_deliveries_ms, 50):.0f}",
                f"{percentile(r.all_deliveries_ms, 99):.0f}",
                f"{r.delivered}/{r.expected}",
                str(r.lost),
            ]
        )
    return rows


TABLE_HEADER = [
    "stream process",
    "clients",
    "RSS MiB before -> after",
    "RSS KiB/conn",
    "PSS KiB/conn",
    "emit->first p50 ms",
    "emit->last p50 ms",
    "emit->last p99 ms",
    "all p50 ms",
    "all p99 ms",
    "delivered",
    "lost",
]


def notes(results: list[FanoutResult]) -> list[str]:
    """Markdown bullets: connection, commit and CPU details, errors."""
    lines = []
    for r in results:
        lines.append(
            f"- {r.deployment}: {r.connected} clients connected in {r.connect_seconds:.1f} s; "
            f"{r.processes} processes; emit->commit p50 {percentile(r.commit_ms, 50):.1f} ms; "
            f"{r.clients_missing_events} clients missed at least one event"
        )
        if r.cpu is not None and r.delivered:
            lines.append(
                f"  - while {r.events} events were emitted and delivered ({r.cpu.seconds:.1f} s):"
                f" stream process {r.cpu.server:.2f} cores"
                f" ({r.cpu.server * r.cpu.seconds / r.delivered * 1e6:.0f} us per delivery),"
                f" clients + emitter {r.cpu.load:.2f}, PostgreSQL + Redis {r.cpu.services:.2f},"
                f" other {r.cpu.other:.2f}"
            )
        for error in sorted(set(r.errors))[:5]:
            lines.append(f"  - {r.errors.count(error)} x {error}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="SSE fan-out: memory and delivery latency.")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between emits")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before memory samples")
    parser.add_argument(
        "--quiet-wait", type=float, default=60.0, help="max seconds to wait for a quiet machine"
    )
    parser.add_argument("--quick", action="store_true", help="200 clients, 10 events")
    parser.add_argument("--skip-scale-out", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.events, args.settle = min(args.clients, 200), 10, 1.0
    plan = FanoutPlan(args.clients, args.events, args.interval, args.settle, args.quiet_wait)

    print(machine.render(machine.describe()), flush=True)
    with tempfile.TemporaryDirectory(prefix="shelfwatch-sse-") as tmp:
        results = run_all(plan, workdir=Path(tmp), scale_out=not args.skip_scale_out)
    print()
    print(render_table(TABLE_HEADER, table_rows(results)))
    print("\n".join(notes(results)))


if __name__ == "__main__":
    main()
