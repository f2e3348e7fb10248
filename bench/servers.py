"""Start, probe, measure and stop the server processes a benchmark targets.

Used by http_baseline.py and sse_fanout.py; not run on its own. Every server is a
subprocess in its own session (so granian's worker children go down with it), listens on
a free 127.0.0.1 port, is waited for by polling, and is stopped in a `finally`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
SHELFWATCH = VENV_BIN / "shelfwatch"
GRANIAN = VENV_BIN / "granian"
HOST = "127.0.0.1"

# Settings the Shelfwatch processes read; dropped from the inherited environment so that
# nothing from the caller's shell leaks into a measurement.
SHELFWATCH_ENV_KEYS = (
    "DATA_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "SQLITE_PATH",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "THROTTLE_ENABLED",
    "THROTTLE_ANON",
    "THROTTLE_USER",
    "SECURE_SSL_REDIRECT",
    "PROMETHEUS_MULTIPROC_DIR",
    "EVENTS_TAIL_INTERVAL",
)


class ServerFailed(RuntimeError):
    """A server exited or never became ready."""


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def web_argv(port: int, threads: int) -> list[str]:
    """`shelfwatch web` on `port` with one worker and `threads` threads."""
    return [
        str(SHELFWATCH),
        "web",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--threads",
        str(threads),
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without Shelfwatch settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in SHELFWATCH_ENV_KEYS}
    # No stray .env file may change a measured configuration.
    env["SHELFWATCH_ENV_FILE"] = os.devnull
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_checked(argv: Sequence[str | os.PathLike[str]], *, env: Mapping[str, str]) -> str:
    """Run a short command to completion; raise with its output when it fails."""
    done = subprocess.run(
        [str(a) for a in argv],
        env=dict(env),
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(str(a) for a in argv)} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return done.stdout


def http_probe(path: str, *, headers: Mapping[str, str] | None = None) -> Callable[[Server], bool]:
    """A readiness probe: GET `path` answers with a status below 500."""

    def probe(server: Server) -> bool:
        try:
            response = httpx.get(server.url(path), headers=dict(headers or {}), timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code < 500

    return probe


def stream_probe(path: str) -> Callable[[Server], bool]:
    """A readiness probe for endpoints that never finish: the response head arrives."""

    def probe(server: Server) -> bool:
        try:
            with httpx.stream("GET", server.url(path), timeout=2.0) as response:
                return response.status_code < 500
        except httpx.HTTPError:
            return False

    return probe


def stop(server: Server, *, grace: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left after `grace`."""
    pgid = server.proc.pid  # the server leads its own session, so its pid is the group id
    if server.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.proc.wait(timeout=grace)
    # Children of a server that has already exited may still hold the port.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.proc.wait(timeout=5)


@contextlib.contextmanager
def running(
    name: str,
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str],
    port: int,
    log_dir: Path,
    probe: Callable[[Server], bool],
    timeout: float = 60.0,
) -> Iterator[Server]:
    """Start a server, wait until `probe` passes, yield it, and always stop it."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(a) for a in argv],
            env=dict(env),
            cwd=REPO_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name=name, proc=proc, port=port, log_path=log_path)
    try:
        deadline = time.monotonic() + timeout
        while not probe(server):
            if proc.poll() is not None:
                raise ServerFailed(f"{name} exited {proc.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"{name} not ready after {timeout:.0f}s:\n{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        stop(server)


# --- memory of a process tree ------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces; fields follow the ")".
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children = _children_map()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _status_kib(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class TreeMemory:
    processes: int
    rss_kib: int  # sum of VmRSS (pages shared by forked children are counted in each)
    pss_kib: int  # proportional set size: shared pages split between their sharers


def tree_memory(pid: int) -> TreeMemory:
    pids = process_tree(pid)
    return TreeMemory(
        processes=len(pids),
        rss_kib=sum(_status_kib(p, "VmRSS") for p in pids),
        pss_kib=sum(_pss_kib(p) for p in pids),
    )


def process_cmdlines(pid: int) -> list[str]:
    """The command lines of a process tree (to record what a CLI actually started)."""
    lines = []
    for p in process_tree(pid):
        try:
            raw = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        lines.append(" ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part))
    return lines
