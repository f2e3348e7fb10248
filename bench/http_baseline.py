"""HTTP baseline: Shelfwatch's request throughput against a minimal Ninja app and bare WSGI.

Run from the repository root (needs wrk: `apt-get install -y wrk`):

    .venv/bin/python bench/http_baseline.py [--duration 10] [--connections 32] [--quick]
        [--threads 4] [--breakdown] [--write-results] [--skip-scale-out] [--skip-serve]
        [--skip-sse] [--sse-clients 2000] [--sse-events 30] [--quiet-wait 60] [--keep-logs]

What it measures, with wrk (`--latency`, 32 connections, a warm-up run first whose figures
are dropped): requests/s, p50 and p99 latency of
  a. `shelfwatch web` (one granian WSGI worker, `--threads` threads) for `/health` and for
     `/api/v1/auth/me` with a bearer JWT: on the embedded default (SQLite in a fresh
     DATA_DIR, migrated) and on PostgreSQL + Redis when both answer on 127.0.0.1 (a
     throwaway `shelfwatch_bench` database, Redis db 14);
  b. with the same granian settings, a minimal Django + Ninja project without middleware
     (bench/minimal_ninja/) and a bare WSGI app (bench/bare_wsgi.py) returning the same JSON,
     and the ratios ours / minimal Ninja (targets: /health >= 0.70, /me >= 0.50) and
     ours / bare WSGI;
  c. `/health` and `/api/v1/auth/me` through the single port of `shelfwatch serve`
     (embedded: the ASGI front bridging to the WSGI app, plus its worker and scheduler);
  d. the SSE fan-out of one `shelfwatch stream` process (bench/sse_fanout.py).
The headline /me rows send one user's JWT, as a client would, with that user's rate limit
raised so no request is refused (the limit is still counted on every request); a diagnostic
row rotates over the tokens of 500 users at the default limits (bench/rotate_tokens.lua),
so user-cache misses and shared-counter syncs show; /me is measured once more with
THROTTLE_ENABLED=0 to show the rate limit's cost. `--breakdown` adds
diagnostic runs that split the cost: the minimal project plus one ORM query, and
Shelfwatch with rate-limit counts in process memory, persistent SQLite connections, or no
middleware (bench/breakdown_settings.py). Every server is a subprocess on a free 127.0.0.1
port, started fresh, waited for by polling and killed in a `finally`; before each row the
run waits for the machine to go quiet, and the CPU used meanwhile by anything else is
reported with the row. `--write-results` refreshes the generated section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cpuload
import deployments
import loadgen
import machine
import sse_fanout
from results_file import RESULTS, write_section
from servers import (
    BENCH_DIR,
    GRANIAN,
    HOST,
    REPO_DIR,
    SHELFWATCH,
    Server,
    ServerFailed,
    clean_env,
    free_port,
    http_probe,
    process_cmdlines,
    run_checked,
    running,
    web_argv,
)
from tables import render_table

HEALTH = "/health"
ME = "/api/v1/auth/me"
MINIMAL_PATH = "/api/health"
MINIMAL_USER_PATH = "/api/user"
TOKENS_SCRIPT = BENCH_DIR / "rotate_tokens.lua"
TOKENS = 500  # users the diagnostic /me run rotates over, so that default rate limits hold
# The headline /me rows use one JWT, as a client would; its per-user limit is raised so the
# run measures serving the request, not refusing it (the limit is still counted).
ONE_CALLER = {"THROTTLE_USER": "100000000/m"}
TARGET_HEALTH = 0.70
TARGET_ME = 0.50
BARE = "bare WSGI"
MINIMAL = "minimal Django + Ninja"


@dataclass(frozen=True)
class Settings:
    duration: float
    warmup: float
    connections: int
    threads: int
    wrk_threads: int
    quiet_wait: float


@dataclass(frozen=True)
class Row:
    target: str
    path: str
    result: loadgen.WrkResult | None  # None: the target could not be measured
    cpu: cpuload.CpuShare | None = None
    diagnostic: bool = False
    note: str = ""


@dataclass(frozen=True)
class Variant:
    """A diagnostic run of `shelfwatch web` with something switched off."""

    slug: str
    label: str
    env: dict[str, str]
    paths: tuple[str, ...]
    only: str | None = None  # a deployment key, when it applies to one only


def diagnostic_variants(*, breakdown: bool) -> list[Variant]:
    variants = [Variant("nothrottle", "THROTTLE_ENABLED=0", {"THROTTLE_ENABLED": "0"}, (ME,))]
    if not breakdown:
        return variants
    patched = {"PYTHONPATH": str(BENCH_DIR), "DJANGO_SETTINGS_MODULE": "breakdown_settings"}
    persistent = {**patched, "BENCH_CONN_MAX_AGE": "600"}
    in_memory = {**patched, "BENCH_CACHE": "locmem"}
    return [
        *variants,
        Variant("locmem", "rate-limit counts in process memory", in_memory, (ME,)),
        Variant("persistent", "CONN_MAX_AGE=600", persistent, (HEALTH, ME), only="sqlite"),
        Variant(
            "persistent-locmem",
            "CONN_MAX_AGE=600 + rate-limit counts in process memory",
            {**persistent, "BENCH_CACHE": "locmem"},
            (ME,),
            only="sqlite",
        ),
        Variant("nomw", "no middleware", {**patched, "BENCH_MIDDLEWARE_DROP": "all"}, (HEALTH, ME)),
    ]  # fmt: skip


def granian_wsgi_argv(target: str, port: int, threads: int) -> list[str]:
    """The granian options `shelfwatch web --workers 1 --threads N` uses (ops/servers.py):
    one worker, N blocking threads, backpressure N, backlog 1024, no websockets, no access
    log."""
    return [
        str(GRANIAN),
        "--interface",
        "wsgi",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--blocking-threads",
        str(threads),
        "--backpressure",
        str(threads),
        "--backlog",
        "1024",
        "--no-ws",
        "--no-access-log",
        "--log-level",
        "warning",
        target,
    ]


class Bench:
    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.s = settings
        self.workdir = workdir
        self.rows: list[Row] = []
        self.commands: dict[str, str] = {}

    # -- one server, several paths ----------------------------------------------------------

    @contextlib.contextmanager
    def server(
        self, name: str, argv: list[str], env: dict[str, str], *, probe_path: str = HEALTH
    ) -> Iterator[Server]:
        port = int(argv[argv.index("--port") + 1])
        with running(
            name,
            argv,
            env=env,
            port=port,
            log_dir=self.workdir / "logs",
            probe=http_probe(probe_path),
        ) as server:
            # The same command line shows once per process (granian master and worker).
            lines = dict.fromkeys(process_cmdlines(server.proc.pid))
            text = " | ".join(lines).replace(str(port), "PORT")
            self.commands[name] = text.replace(f"{REPO_DIR}/", "")
            yield server

    def measure(
        self,
        server: Server,
        target: str,
        path: str,
        *,
        tokens: Path | None = None,
        database: str | None = None,
        diagnostic: bool = False,
    ) -> Row:
        print(f"  {target:<62} {path:<16}", end="", flush=True)
        if self.s.quiet_wait > 0:
            # Other work on the machine skews every figure: wait for it to calm down.
            cpuload.wait_for_quiet(max_wait=self.s.quiet_wait)
        wrk = {
            "connections": self.s.connections,
            "threads": self.s.wrk_threads,
            "script": TOKENS_SCRIPT if tokens else None,
            "script_env": {"BENCH_TOKENS_FILE": str(tokens)} if tokens else None,
        }
        if self.s.warmup > 0:
            loadgen.run_wrk(server.url(path), seconds=self.s.warmup, **wrk)  # type: ignore[arg-type]
        window = cpuload.CpuWindow(server.proc.pid, database=database)
        window.start()
        result = loadgen.run_wrk(server.url(path), seconds=self.s.duration, **wrk)  # type: ignore[arg-type]
        cpu = window.stop()
        flag = "" if result.clean else f"  ({result.non_2xx} non-2xx, {result.socket_errors} err)"
        print(
            f"{result.requests_per_s:>8,.0f} req/s  p50 {result.p50_ms:6.2f} ms"
            f"  other CPU {cpu.other:.2f}{flag}"
        )
        row = Row(target, path, result, cpu, diagnostic=diagnostic)
        self.rows.append(row)
        return row

    def attempt(self, stage: str, run: Callable[[], None]) -> None:
        """Run one stage; a server that fails is reported as a row, and the rest goes on."""
        try:
            run()
        except (ServerFailed, RuntimeError) as exc:
            print(f"\n  {stage}: FAILED: {exc}", file=sys.stderr)
            self.rows.append(Row(target=stage, path="-", result=None, note=str(exc)[:300]))

    # -- the targets --------------------------------------------------------------------------

    def yardsticks(self, *, breakdown: bool) -> None:
        env = clean_env({"PYTHONPATH": str(BENCH_DIR)})
        port = free_port()
        argv = granian_wsgi_argv("bare_wsgi:application", port, self.s.threads)
        with self.server("bare-wsgi", argv, env, probe_path="/") as server:
            self.measure(server, BARE, "/")
        env["DJANGO_SETTINGS_MODULE"] = "minimal_ninja.settings"
        port = free_port()
        argv = granian_wsgi_argv("minimal_ninja.wsgi:application", port, self.s.threads)
        with self.server("minimal-ninja", argv, env, probe_path=MINIMAL_PATH) as server:
            self.measure(server, MINIMAL, MINIMAL_PATH)
        if breakdown:
            self.minimal_with_query(env)

    def minimal_with_query(self, env: dict[str, str]) -> None:
        """The minimal project plus one ORM query on SQLite: what any query costs here."""
        env = {**env, "MINIMAL_NINJA_DB": str(self.workdir / "minimal.sqlite3")}
        run_checked([sys.executable, "-m", "django", "migrate", "-v", "0"], env=env)
        create = "from django.contrib.auth.models import User; User.objects.create(username='b')"
        run_checked([sys.executable, "-m", "django", "shell", "-c", create], env=env)
        for max_age, label in (("0", "connection per request"), ("none", "persistent connection")):
            port = free_port()
            argv = granian_wsgi_argv("minimal_ninja.wsgi:application", port, self.s.threads)
            run_env = {**env, "MINIMAL_NINJA_CONN_MAX_AGE": max_age}
            name = f"minimal-ninja-query-{max_age}"
            with self.server(name, argv, run_env, probe_path=MINIMAL_PATH) as server:
                target = f"{MINIMAL} + 1 ORM query, SQLite, {label}"
                self.measure(server, target, MINIMAL_USER_PATH, diagnostic=True)

    def web(self, deployment: deployments.Deployment, *, breakdown: bool) -> None:
        label = f"web, {deployment.name}"
        tokens = self.tokens_for(deployment)
        one = self.one_token(tokens)
        db = deployment.database
        port = free_port()
        argv = web_argv(port, self.s.threads)
        with self.server(f"web-{deployment.key}", argv, deployment.with_env(**ONE_CALLER)) as srv:
            self.measure(srv, label, HEALTH, database=db)
            self.measure(srv, label, ME, tokens=one, database=db)
        argv = web_argv(free_port(), self.s.threads)
        with self.server(f"web-{deployment.key}-users", argv, deployment.env) as srv:
            target = f"{label}, {TOKENS} users round-robin, default rate limits"
            self.measure(srv, target, ME, tokens=tokens, database=db, diagnostic=True)
        for variant in diagnostic_variants(breakdown=breakdown):
            if variant.only not in (None, deployment.key):
                continue
            port = free_port()
            env = deployment.with_env(**variant.env)
            name = f"web-{deployment.key}-{variant.slug}"
            with self.server(name, web_argv(port, self.s.threads), env) as srv:
                for path in variant.paths:
                    self.measure(
                        srv,
                        f"{label}, {variant.label}",
                        path,
                        tokens=tokens if path == ME else None,
                        database=db,
                        diagnostic=True,
                    )

    def serve(self, deployment: deployments.Deployment, *, breakdown: bool) -> None:
        label = f"serve (one port), {deployment.name}"
        tokens = self.tokens_for(deployment)
        # The front bridges to the WSGI app with WEB_THREADS threads: the same count as above.
        env = deployment.with_env(WEB_THREADS=str(self.s.threads), **ONE_CALLER)
        port = free_port()
        argv = [str(SHELFWATCH), "serve", "--host", HOST, "--port", str(port)]
        with self.server("serve", argv, env) as srv:
            self.measure(srv, label, HEALTH, database=deployment.database)
            one = self.one_token(tokens)
            self.measure(srv, label, ME, tokens=one, database=deployment.database)
        if breakdown:
            # The front alone: the WSGI bridge without the worker and scheduler beside it.
            port = free_port()
            argv = [str(SHELFWATCH), "front", "--host", HOST, "--port", str(port)]
            with self.server("front", argv, env) as srv:
                target = f"front only (no worker, scheduler), {deployment.name}"
                self.measure_both(srv, target, tokens, deployment)

    def one_token(self, tokens: Path) -> Path:
        """A tokens file with only the first token: every /me request from one caller."""
        path = tokens.with_suffix(".one")
        path.write_text(tokens.read_text().splitlines()[0] + "\n")
        return path

    def tokens_for(self, deployment: deployments.Deployment) -> Path:
        path = self.workdir / f"{deployment.key}-{id(deployment)}.tokens"
        return deployments.issue_tokens(deployment.env, path, TOKENS)

    def measure_both(
        self, server: Server, target: str, tokens: Path, deployment: deployments.Deployment
    ) -> None:
        """/health and /me, as diagnostic rows."""
        for path in (HEALTH, ME):
            self.measure(
                server,
                target,
                path,
                tokens=tokens if path == ME else None,
                database=deployment.database,
                diagnostic=True,
            )


# --- figures --------------------------------------------------------------------------------


def _find(rows: list[Row], target: str, path: str) -> loadgen.WrkResult | None:
    for row in rows:
        if row.target == target and row.path == path:
            return row.result
    return None


def _ratio(ours: loadgen.WrkResult | None, base: loadgen.WrkResult | None) -> float:
    if ours is None or base is None or base.requests_per_s == 0:
        return math.nan
    return ours.requests_per_s / base.requests_per_s


FIGURES_HEADER = [
    "target",
    "path",
    "req/s",
    "p50 ms",
    "p99 ms",
    "÷ minimal",
    "non-2xx/err",
    "CPU server",
    "CPU PG+Redis",
    "CPU wrk",
    "CPU other",
]


def figures_table(rows: list[Row]) -> str:
    """Every row; CPU columns are average cores busy during the measured run."""
    minimal = _find(rows, MINIMAL, MINIMAL_PATH)
    body = []
    for row in rows:
        r = row.result
        if r is None:
            body.append([row.target, row.path, "failed", *["-"] * 8])
            continue
        name = f"{row.target} (diagnostic)" if row.diagnostic else row.target
        cpu = row.cpu
        body.append(
            [
                name,
                row.path,
                f"{r.requests_per_s:,.0f}",
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                f"{_ratio(r, minimal):.2f}",
                f"{r.non_2xx}/{r.socket_errors}",
                *(
                    [
                        f"{cpu.server:.2f}",
                        f"{cpu.services:.2f}",
                        f"{cpu.load:.2f}",
                        f"{cpu.other:.2f}",
                    ]
                    if cpu
                    else ["-"] * 4
                ),
            ]
        )
    return render_table(FIGURES_HEADER, body)


def ratios_table(rows: list[Row]) -> str:
    minimal = _find(rows, MINIMAL, MINIMAL_PATH)
    bare = _find(rows, BARE, "/")
    header = ["ours", "÷ minimal Ninja", "target", "met", "÷ bare WSGI"]
    body = []
    for row in rows:
        if row.diagnostic or row.path not in (HEALTH, ME) or row.result is None:
            continue
        target = TARGET_HEALTH if row.path == HEALTH else TARGET_ME
        vs_minimal = _ratio(row.result, minimal)
        met = "n/a" if math.isnan(vs_minimal) else ("yes" if vs_minimal >= target else "NO")
        body.append(
            [
                f"{row.target} {row.path}",
                f"{vs_minimal:.2f}",
                f">= {target:.2f}",
                met,
                f"{_ratio(row.result, bare):.3f}",
            ]
        )
    return render_table(header, body)


def report(
    info: dict[str, str],
    command: str,
    s: Settings,
    rows: list[Row],
    fanout: list[sse_fanout.FanoutResult],
    commands: dict[str, str],
) -> str:
    lines = [
        "Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()),
        "",
        f"Command: `{command}`",
        "",
        f"{loadgen.wrk_version()}: {s.wrk_threads} threads, {s.connections} connections, "
        f"{s.warmup:g} s warm-up then {s.duration:g} s measured per row; granian: 1 worker, "
        f"{s.threads} blocking threads, backpressure {s.threads} for every WSGI target "
        f"(`serve`: its ASGI front with WEB_THREADS={s.threads} bridge threads). Before each "
        f"row the run waits (up to {s.quiet_wait:g} s) for the machine to go quiet. CPU columns:"
        " average cores busy during the measured run, by the server (all its processes), our"
        " PostgreSQL backends + Redis, wrk, and everything else on the machine (noise).",
        "",
        figures_table(rows),
        "",
        ratios_table(rows),
    ]
    if fanout:
        lines += [
            "",
            "SSE fan-out, one `shelfwatch stream` process (memory: that process and its"
            " children, before and after the clients connected):",
            "",
            render_table(sse_fanout.TABLE_HEADER, sse_fanout.table_rows(fanout)),
            "",
            *sse_fanout.notes(fanout),
        ]
    lines += ["", "Processes measured:", ""]
    lines += [f"- {name}: `{cmd}`" for name, cmd in commands.items()]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per row")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=4, help="granian threads per worker")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="3 s runs, 200 SSE clients")
    parser.add_argument("--skip-scale-out", action="store_true", help="no PostgreSQL + Redis")
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--skip-sse", action="store_true")
    parser.add_argument(
        "--breakdown", action="store_true", help="add diagnostic runs that split the cost"
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=60.0, help="max seconds to wait for a quiet machine"
    )
    parser.add_argument("--keep-logs", action="store_true", help="copy server logs to bench/out")
    parser.add_argument("--sse-clients", type=int, default=2000)
    parser.add_argument("--sse-events", type=int, default=30)
    parser.add_argument("--write-results", action="store_true", help="refresh bench/RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup = min(args.duration, 3.0), 1.0
        args.sse_clients, args.sse_events = min(args.sse_clients, 200), 10
    return args


def main() -> None:
    args = parse_args()
    if not SHELFWATCH.exists():
        raise SystemExit(f"{SHELFWATCH} not found: install the project (make install)")
    loadgen.wrk_path()
    s = Settings(
        args.duration,
        args.warmup,
        args.connections,
        args.threads,
        args.wrk_threads,
        args.quiet_wait,
    )
    info = machine.describe()
    print(machine.render(info), flush=True)
    command = " ".join(
        ["python bench/http_baseline.py", *(shlex.quote(a) for a in sys.argv[1:])]
    ).strip()
    scale_out = not args.skip_scale_out and deployments.scale_out_reachable()
    if not args.skip_scale_out and not scale_out:
        print("PostgreSQL or Redis not reachable on 127.0.0.1: scale-out rows skipped")

    fanout: list[sse_fanout.FanoutResult] = []
    with tempfile.TemporaryDirectory(prefix="shelfwatch-bench-") as tmp:
        workdir = Path(tmp)
        bench = Bench(s, workdir)
        print("\nHTTP (wrk):")
        bench.attempt("yardsticks", lambda: bench.yardsticks(breakdown=args.breakdown))

        def web_embedded() -> None:
            with deployments.embedded(workdir) as embedded:
                bench.web(embedded, breakdown=args.breakdown)

        def web_scale_out() -> None:
            with deployments.scale_out(workdir) as scaled:
                bench.web(scaled, breakdown=args.breakdown)

        def serve_embedded() -> None:
            with deployments.embedded(workdir) as embedded:
                bench.serve(embedded, breakdown=args.breakdown)

        bench.attempt("web, SQLite", web_embedded)
        if scale_out:
            bench.attempt("web, PostgreSQL + Redis", web_scale_out)
        if not args.skip_serve:
            bench.attempt("serve, SQLite", serve_embedded)
        if not args.skip_sse:
            print("\nSSE fan-out:")
            try:
                plan = sse_fanout.FanoutPlan(
                    clients=args.sse_clients,
                    events=args.sse_events,
                    settle=1.0 if args.quick else 2.0,
                    quiet_wait=args.quiet_wait,
                )
                fanout = sse_fanout.run_all(
                    plan, workdir=workdir, scale_out=not args.skip_scale_out
                )
            except ServerFailed as exc:
                print(f"  SSE fan-out FAILED: {exc}", file=sys.stderr)
        text = report(info, command, s, bench.rows, fanout, bench.commands)
        if args.keep_logs:
            keep = BENCH_DIR / "out"
            keep.mkdir(exist_ok=True)
            for log in (workdir / "logs").glob("*.log"):
                (keep / log.name).write_bytes(log.read_bytes())
    print()
    print(text)
    if args.write_results:
        write_section("http_baseline", text)
        print(f"\n{RESULTS} updated.")


if __name__ == "__main__":
    main()
