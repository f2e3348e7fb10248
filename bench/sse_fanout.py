"""SSE fan-out benchmark: N clients on one stream process, emit -> last client, memory, CPU.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/sse_fanout.py --clients 2000 20000 --skip-embedded
        [--events 20] [--interval 1.0] [--client-procs 2] [--quick] [--skip-scale-out]

For each client count and deployment (embedded SQLite: the stream process tails the
events table; scale-out: PostgreSQL + Redis pub/sub) it
1. starts one `shelfwatch stream` process (STREAM_MAX_CLIENTS set to let every client in,
   STREAM_MAX_CLIENTS_PER_IP=0 since they all come from loopback)
   on a free 127.0.0.1 port, with the open-files limit raised for it and the clients;
2. samples the memory of that process and its children (VmRSS and PSS from /proc), opens
   the clients, anonymous and following one public topic (`product:1`), from
   `--client-procs` separate processes (bench/sse_clients.py: raw sockets on one epoll
   loop, each process from its own loopback address 127.0.0.2, .3, ... so none runs out
   of ephemeral ports), and samples the memory again: the difference divided by the
   connections is the memory per connection;
3. has a separate process emit `--events` events on that topic through the normal path
   (each committed in its own transaction; the commit publishes it on Redis, the stream
   process receives it and fans it out), `--interval` seconds apart, each carrying the
   wall-clock time of the emit;
4. reports per event the time from emit to the FIRST and to the LAST client receiving it
   (p50/p99 over events), p50/p99 over all deliveries, and correctness (pass/fail): every
   client must receive every event exactly once (missing, duplicates, streams the server
   closed), plus the CPU the stream process used while delivering and the load average.
The clients only recv() and timestamp while the events flow; parsing happens afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
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


# --- the client processes ---------------------------------------------------------------


class ClientProcess:
    """One bench/sse_clients.py process holding `count` connections from `source`."""

    def __init__(self, *, port: int, source: str, count: int, run_id: str) -> None:
        self.argv = [
            sys.executable,
            str(BENCH_DIR / "sse_clients.py"),
            "--port",
            str(port),
            "--source",
            source,
            "--path",
            STREAM_PATH,
            "--count",
            str(count),
            "--run-id",
            run_id,
        ]
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def _ask(self, command: str | None) -> str:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        if command is not None:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"client process exited {self.proc.wait()}")
        return line

    def connected(self) -> dict:
        return json.loads(self._ask(None))

    def count(self) -> int:
        return int(self._ask("count"))

    def stop(self) -> dict:
        summary = json.loads(self._ask("stop"))
        assert self.proc is not None
        self.proc.wait(timeout=60)
        return summary

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def source_addresses(count: int) -> list[str]:
    """127.0.0.2, 127.0.0.3, ...: each client process connects from its own loopback
    address, so that each has the whole ephemeral port range to itself."""
    return [f"127.0.0.{2 + n}" for n in range(count)]


def ephemeral_ports() -> int:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except (OSError, ValueError):
        return 28_000
    return int(high) - int(low) + 1


# --- the measurement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FanoutPlan:
    clients: int = 2000
    events: int = 20
    interval: float = 1.0  # seconds between emits
    settle: float = 2.0  # seconds before each memory sample
    quiet_wait: float = 60.0  # max seconds to wait for a quiet machine first
    client_procs: int = 2  # processes holding the client connections


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
    duplicates: int = 0
    closed_by_server: int = 0
    first_client_ms: list[float] = field(default_factory=list)  # per event
    last_client_ms: list[float] = field(default_factory=list)  # per event
    all_deliveries_ms: list[float] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)  # emit call -> commit, per event
    errors: list[str] = field(default_factory=list)
    cpu: cpuload.CpuShare | None = None  # while the events were emitted and delivered
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    open_files_limit: int = 0  # of the stream process

    @property
    def rss_per_connection_kib(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(1, self.connected)

    @property
    def pss_per_connection_kib(self) -> float:
        return (self.pss_after_kib - self.pss_before_kib) / max(1, self.connected)

    @property
    def lost(self) -> int:
        return self.expected - self.delivered

    @property
    def correct(self) -> bool:
        """Every connected client got every event exactly once."""
        return (
            self.connected == self.clients
            and self.lost == 0
            and self.duplicates == 0
            and self.closed_by_server == 0
        )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def raise_fd_limit(needed: int) -> None:
    """Lift this process's open-files limit (inherited by the stream process and the
    clients) to `needed`; the hard limit too when allowed (root)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return
        except (ValueError, OSError):
            print(f"warning: open-files hard limit {hard} < {needed} needed", file=sys.stderr)
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


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
        self.proc: subprocess.Popen[str] | None = None
        self.cpu_seconds = 0.0  # what emitting cost the emitter (its start-up excluded)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if first.strip() != "ready":
            raise RuntimeError(f"emitter did not start: {first!r}")

    def run(self) -> list[dict]:
        """Emit; return one record per event: seq, sent_at, committed_at (wall clock)."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        lines = [json.loads(line) for line in self.proc.stdout if line.strip()]
        if self.proc.wait() != 0:
            raise RuntimeError(f"emitter exited {self.proc.returncode}")
        self.cpu_seconds = sum(line.get("cpu_seconds", 0.0) for line in lines)
        return [line for line in lines if "seq" in line]

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _warm_up(server: Server) -> None:
    """One client first: whatever the stream app sets up lazily is outside the sample."""
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        sock.sendall(f"GET {STREAM_PATH} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        sock.recv(4096)
        time.sleep(0.5)


def measure_fanout(
    server: Server, deployment: deployments.Deployment, plan: FanoutPlan
) -> FanoutResult:
    run_id = secrets.token_hex(6)
    pid = server.proc.pid
    _warm_up(server)
    if plan.quiet_wait > 0:
        # Other work on the machine would skew the latencies: wait for it to calm down.
        cpuload.wait_for_quiet(max_wait=plan.quiet_wait)
    time.sleep(plan.settle)
    before = tree_memory(pid)
    load_before = os.getloadavg()

    procs = max(1, min(plan.client_procs, plan.clients))
    shares = [plan.clients // procs + (1 if n < plan.clients % procs else 0) for n in range(procs)]
    if max(shares) > ephemeral_ports() - 1000:
        print("warning: more connections per source address than ephemeral ports", file=sys.stderr)
    clients = [
        ClientProcess(port=server.port, source=source, count=share, run_id=run_id)
        for source, share in zip(source_addresses(procs), shares, strict=True)
    ]
    emitter = Emitter(deployment.env, count=plan.events, interval=plan.interval, run_id=run_id)
    errors: list[str] = []
    try:
        started = time.monotonic()
        for client in clients:
            client.start()
        connected = 0
        for client in clients:
            report = client.connected()
            connected += report["connected"]
            errors.extend(report["errors"])
        connect_seconds = time.monotonic() - started
        time.sleep(plan.settle)
        after = tree_memory(pid)

        emitter.start()
        window = cpuload.CpuWindow(pid, database=deployment.database, count_self=True)
        window.start()
        records = emitter.run()
        # Wait for the stragglers: until every client counted every event, or 15 s.
        expected = connected * plan.events
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline and sum(c.count() for c in clients) < expected:
            time.sleep(0.1)
        summaries = [client.stop() for client in clients]
        client_cpu = sum(s["cpu_seconds"] for s in summaries)
        cpu = window.stop(extra_load=emitter.cpu_seconds + client_cpu)
        load_after = os.getloadavg()
    finally:
        emitter.close()
        for client in clients:
            client.kill()

    sent_at = {r["seq"]: r["sent_at"] for r in records}
    result = FanoutResult(
        deployment=deployment.name,
        clients=plan.clients,
        connected=connected,
        connect_seconds=connect_seconds,
        processes=after.processes,
        rss_before_kib=before.rss_kib,
        rss_after_kib=after.rss_kib,
        pss_before_kib=before.pss_kib,
        pss_after_kib=after.pss_kib,
        events=len(records),
        expected=connected * len(records),
        delivered=0,
        clients_missing_events=0,
        errors=errors,
        cpu=cpu,
        open_files_limit=resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        load_before=load_before,
        load_after=load_after,
    )
    result.commit_ms = [(r["committed_at"] - r["sent_at"]) * 1000 for r in records]
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for summary in summaries:
        result.duplicates += summary["duplicates"]
        result.closed_by_server += summary["closed_by_server"]
        result.all_deliveries_ms.extend(d / 10 for d in summary["deliveries"])
        for raw_seq, (count, low, high) in summary["per_seq"].items():
            seq = int(raw_seq)
            if seq not in sent_at:
                continue
            result.delivered += count
            first[seq] = min(first.get(seq, low), low)
            last[seq] = max(last.get(seq, high), high)
        result.clients_missing_events += sum(
            1 for received in summary["received_by_client"] if received < len(sent_at)
        )
    result.first_client_ms = [first[seq] * 1000 for seq in sorted(first)]
    result.last_client_ms = [last[seq] * 1000 for seq in sorted(last)]
    return result


def run_one(deployment: deployments.Deployment, plan: FanoutPlan, *, workdir: Path) -> FanoutResult:
    port = free_port()
    argv = [SHELFWATCH, "stream", "--host", HOST, "--port", str(port)]
    print(f"  SSE fan-out on {deployment.name}: {plan.clients} clients ...", flush=True)
    # Every client connects from loopback: no per-address limit.
    env = deployment.with_env(
        STREAM_MAX_CLIENTS=str(plan.clients + 100), STREAM_MAX_CLIENTS_PER_IP="0"
    )
    with running(
        f"stream-{deployment.key}-{plan.clients}",
        argv,
        env=env,
        port=port,
        log_dir=workdir / "logs",
        probe=stream_probe(STREAM_PATH),
    ) as server:
        return measure_fanout(server, deployment, plan)


def run_all(
    plan: FanoutPlan,
    *,
    workdir: Path,
    scale_out: bool,
    embedded: bool = True,
    sizes: list[int] | None = None,
) -> list[FanoutResult]:
    """For each client count: the embedded deployment (unless `embedded` is False), then
    the scale-out one when PostgreSQL and Redis answer. A fresh stream process each time."""
    sizes = sizes or [plan.clients]
    # Stream process: its clients plus its own files; clients: theirs.
    raise_fd_limit(max(sizes) + 4096)
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if limit < max(sizes) + 100:
        print(
            f"warning: the stream process may open {limit} files, fewer than {max(sizes)}"
            " clients need (a socket each, plus about 30 of its own)",
            file=sys.stderr,
        )
    results = []
    for size in sizes:
        sized = replace(plan, clients=size)
        # One deployment at a time, so the scale-out database exists only while it is used.
        if embedded:
            with deployments.embedded(workdir) as local:
                results.append(run_one(local, sized, workdir=workdir))
        if scale_out and deployments.scale_out_reachable():
            with deployments.scale_out(workdir) as scaled:
                results.append(run_one(scaled, sized, workdir=workdir))
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
                f"{r.lost} / {r.duplicates}",
                "PASS" if r.correct else "FAIL",
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
    "lost / dup",
    "every event once",
]


def notes(results: list[FanoutResult]) -> list[str]:
    """Markdown bullets: connection, commit and CPU details, errors."""
    lines = []
    for r in results:
        lines.append(
            f"- {r.deployment}, {r.clients} clients: {r.connected} connected in"
            f" {r.connect_seconds:.1f} s; {r.processes} processes; {r.events} events;"
            f" emit->commit p50 {percentile(r.commit_ms, 50):.1f} ms;"
            f" {r.clients_missing_events} clients missed at least one event,"
            f" {r.duplicates} duplicate deliveries, {r.closed_by_server} streams closed by"
            f" the server; load average {_load(r.load_before)} before, {_load(r.load_after)}"
            f" after; open-files limit {r.open_files_limit}"
        )
        if r.cpu is not None and r.delivered:
            lines.append(
                f"  - while {r.events} events were emitted and delivered ({r.cpu.seconds:.1f} s):"
                f" stream process {r.cpu.server:.2f} cores"
                f" ({r.cpu.server * r.cpu.seconds / r.delivered * 1e6:.1f} us per delivery),"
                f" clients + emitter {r.cpu.load:.2f}, PostgreSQL + Redis {r.cpu.services:.2f},"
                f" other {r.cpu.other:.2f}"
            )
            lines.append(
                "  - emit->last client per event, ms: "
                + " ".join(f"{ms:.0f}" for ms in r.last_client_ms)
            )
        for error in sorted(set(r.errors))[:5]:
            lines.append(f"  - {r.errors.count(error)} x {error}")
    return lines


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description="SSE fan-out: memory and delivery latency.")
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[2000], help="client counts, run in turn"
    )
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between emits")
    parser.add_argument("--client-procs", type=int, default=2, help="client processes")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before memory samples")
    parser.add_argument(
        "--quiet-wait", type=float, default=60.0, help="max seconds to wait for a quiet machine"
    )
    parser.add_argument("--quick", action="store_true", help="200 clients, 5 events")
    parser.add_argument("--skip-embedded", action="store_true", help="PostgreSQL + Redis only")
    parser.add_argument("--skip-scale-out", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.events, args.settle = [min(min(args.clients), 200)], 5, 1.0
    plan = FanoutPlan(
        clients=args.clients[0],
        events=args.events,
        interval=args.interval,
        settle=args.settle,
        quiet_wait=args.quiet_wait,
        client_procs=args.client_procs,
    )

    print(machine.render(machine.describe()), flush=True)
    print("load average at start: " + _load(os.getloadavg()), flush=True)
    with tempfile.TemporaryDirectory(prefix="shelfwatch-sse-") as tmp:
        results = run_all(
            plan,
            workdir=Path(tmp),
            scale_out=not args.skip_scale_out,
            embedded=not args.skip_embedded,
            sizes=args.clients,
        )
    print()
    print(render_table(TABLE_HEADER, table_rows(results)))
    print("\n".join(notes(results)))
    print("load average at end: " + _load(os.getloadavg()))
    if not all(r.correct for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
