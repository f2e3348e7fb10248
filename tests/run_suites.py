"""Run the test suite on SQLite, then on PostgreSQL + Redis + the RQ backend.

When PostgreSQL or Redis cannot be reached the second half is skipped with a loud banner,
never silently. Set REQUIRE_SERVICES=1 (CI does) to make their absence a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shelfwatch")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CACHE_REDIS_URL = os.environ.get("TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/12")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def banner(lines: list[str]) -> None:
    width = max(len(line) for line in lines) + 4
    print("\n" + "!" * width, file=sys.stderr)
    for line in lines:
        print(f"! {line.ljust(width - 4)} !", file=sys.stderr)
    print("!" * width + "\n", file=sys.stderr, flush=True)


def run(label: str, extra_env: dict[str, str], args: list[str]) -> int:
    env = {**os.environ, **extra_env}
    env["DATA_DIR"] = tempfile.mkdtemp(prefix=f"shelfwatch-test-{label}-")
    print(f"\n===== test suite on {label} =====\n", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", *args], env=env)


def main() -> int:
    args = sys.argv[1:]
    sqlite_env = {"DATABASE_URL": "", "REDIS_URL": "", "CACHE_REDIS_URL": ""}
    code = run("sqlite", sqlite_env, args)
    if not (reachable("127.0.0.1", 5432) and reachable("127.0.0.1", 6379)):
        banner(
            [
                "PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) is NOT reachable.",
                "The PostgreSQL + Redis half of the test suite was SKIPPED.",
                "Only the SQLite half ran; start both services to run the rest.",
            ]
        )
        if os.environ.get("REQUIRE_SERVICES") == "1":
            return 1
        return code
    pg_env = {
        "DATABASE_URL": PG_URL,
        "REDIS_URL": REDIS_URL,
        "CACHE_REDIS_URL": CACHE_REDIS_URL,
        "SECRET_KEY": "test-only-secret-key-" + "x" * 40,
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "SECURE_HSTS_SECONDS": "0",
    }
    code_pg = run("postgresql+redis", pg_env, args)
    return code or code_pg


if __name__ == "__main__":
    sys.exit(main())
