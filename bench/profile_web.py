"""Where one endpoint's time goes: sample a live `shelfwatch web` worker with py-spy under load.

py-spy is not a project dependency; install it anywhere, e.g.
    python3 -m venv /tmp/spy && /tmp/spy/bin/pip install py-spy
then, from the repository root:
    .venv/bin/python bench/profile_web.py --py-spy /tmp/spy/bin/py-spy \
        [--deployment sqlite|postgres] [--path /api/v1/auth/me] [--seconds 10] [--gil]
        [--env THROTTLE_ENABLED=0 ...]

It starts `shelfwatch web --workers 1 --threads 4` on a fresh deployment (see
deployments.py), drives the path with wrk at 32 connections, records the worker with
`py-spy record --format raw` meanwhile, and prints the share of samples spent under the
parts of a request that matter (inclusive), then the frames with the most self time.
Without `--gil` a sample is any non-idle thread (waits on SQLite locks and sockets count);
with `--gil` only the thread holding the GIL (CPU spent in Python).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
from collections import Counter
from pathlib import Path

import deployments
import loadgen
from servers import BENCH_DIR, HOST, SHELFWATCH, free_port, http_probe, process_tree, running

# (label, function name, part of its file path): a sample counts once per label when any
# of its frames matches.
PARTS = [
    ("whole request (Django WSGIHandler)", "WSGIHandler.__call__", "handlers/wsgi.py"),
    ("  Ninja operation (auth, throttle, view, response)", "Operation.run", "ninja/operation.py"),
    ("    authentication", "Operation._run_authentication", "ninja/operation.py"),
    ("      JWT decode", "decode_access_token", "accounts/tokens.py"),
    ("    throttles", "Operation._check_throttles", "ninja/operation.py"),
    ("    view function", "me", "accounts/api.py"),
    ("    response validation + JSON", "Operation._result_to_response", "ninja/operation.py"),
    ("  any ORM query (SQL build + execute + rows)", "QuerySet._fetch_all", "models/query.py"),
    ("  any cache call", "", "core/cache/backends/"),
    ("  DB connect (a new connection)", "BaseDatabaseWrapper.connect", "backends/base/"),
    ("  DB close at request end", "close_old_connections", "django/db/"),
    ("  middleware: Request", "RequestMiddleware.__call__", "ops/middleware.py"),
    ("  middleware: Metrics observe", "observe_request", "ops/metrics.py"),
    ("  middleware: sessions", "SessionMiddleware.process_response", "sessions/middleware.py"),
    ("  middleware: CSRF", "CsrfViewMiddleware.process_view", "middleware/csrf.py"),
]  # fmt: skip


def _frame_matches(frame: str, function: str, path_part: str) -> bool:
    """A py-spy raw frame reads `function (path:line)`; an empty `function` matches any."""
    name, _, location = frame.partition(" (")
    return (not function or name == function) and path_part in location


def summarize(raw: Path, top: int = 20) -> str:
    total = 0
    parts: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for label, function, path_part in PARTS:
            if any(_frame_matches(f, function, path_part) for f in frames):
                parts[label] += n
        name, _, location = frames[-1].partition(" (")
        own[f"{name} ({location.rstrip(')').rsplit('/', 3)[-1] if location else ''})"] += n
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "share of samples under (inclusive):"]
    lines += [f"  {parts[label] / total * 100:5.1f}%  {label}" for label, _, _ in PARTS]
    lines += ["", "most self time:"]
    lines += [f"  {n / total * 100:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines)


def worker_pid(main_pid: int) -> int:
    """The granian worker: the descendant with the most threads."""

    def threads(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    tree = process_tree(main_pid)
    return max(tree[1:] or tree, key=threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--py-spy", required=True, help="path of the py-spy executable")
    parser.add_argument("--deployment", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--path", default="/api/v1/auth/me")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--gil", action="store_true", help="sample only the GIL holder")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)

    with tempfile.TemporaryDirectory(prefix="shelfwatch-profile-") as tmp:
        workdir = Path(tmp)
        make = deployments.embedded if args.deployment == "sqlite" else deployments.scale_out
        with make(workdir, **extra) as deployment:
            tokens = deployments.issue_tokens(deployment.env, workdir / "tokens")
            port = free_port()
            argv = [SHELFWATCH, "web", "--host", HOST, "--port", str(port), "--workers", "1"]
            argv += ["--threads", str(args.threads)]
            with running(
                "web",
                argv,
                env=deployment.env,
                port=port,
                log_dir=workdir,
                probe=http_probe("/health"),
            ) as server:
                url = server.url(args.path)
                # Many users' tokens in turn: default rate limits apply and none is reached.
                wrk = {
                    "connections": 32,
                    "threads": 2,
                    "script": BENCH_DIR / "rotate_tokens.lua",
                    "script_env": {"BENCH_TOKENS_FILE": str(tokens)},
                }
                loadgen.run_wrk(url, seconds=3, **wrk)  # type: ignore[arg-type]
                load: dict[str, loadgen.WrkResult] = {}

                def drive() -> None:
                    seconds = args.seconds + 2
                    load["result"] = loadgen.run_wrk(url, seconds=seconds, **wrk)  # type: ignore[arg-type]

                driver = threading.Thread(target=drive)
                driver.start()
                raw = workdir / "profile.raw"
                spy = [args.py_spy, "record", "-p", str(worker_pid(server.proc.pid))]
                spy += ["-d", str(args.seconds), "-r", "200", "--format", "raw", "-o", str(raw)]
                spy += ["--nonblocking"] + (["--gil"] if args.gil else [])
                subprocess.run(spy, capture_output=True, check=True)
                driver.join()
            result = load["result"]
            print(f"{deployment.name}, {args.path}, {extra or 'default settings'}:")
            print(
                f"{result.requests_per_s:,.0f} req/s under the profiler (p50 {result.p50_ms} ms,"
                f" {result.non_2xx} non-2xx)"
            )
            print(summarize(raw))


if __name__ == "__main__":
    main()
