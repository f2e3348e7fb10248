"""Drive wrk against one URL and read its figures (requests/s, p50, p99, errors).

Used by http_baseline.py; not run on its own. wrk runs with `--latency`, and its text
output is parsed; bearer tokens go in with a Lua script (rotate_tokens.lua) or `-H`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m|h)"


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    @property
    def clean(self) -> bool:
        return self.non_2xx == 0 and self.socket_errors == 0


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    return path


def wrk_version() -> str:
    done = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0].strip()


def _ms(value: str, unit: str) -> float:
    return float(value) * UNIT_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Read the figures out of `wrk --latency` text output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+" + _DURATION, output, re.M)
    p99 = re.search(r"^\s+99%\s+" + _DURATION, output, re.M)
    total = re.search(r"^\s+(\d+) requests in", output, re.M)
    if not (rps and p50 and p99 and total):
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p50_ms=_ms(*p50.groups()),
        p99_ms=_ms(*p99.groups()),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int,
    headers: Mapping[str, str] | None = None,
    script: Path | None = None,
    script_env: Mapping[str, str] | None = None,
) -> WrkResult:
    """One wrk run; `script` (a Lua file) gets `script_env` added to wrk's environment."""
    argv = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    env = {**os.environ, **(script_env or {})}
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}")
    return parse_wrk(done.stdout)
