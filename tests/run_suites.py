"""Run the test suite on SQLite, then on PostgreSQL + Redis + the RQ backend.

When PostgreSQL or Redis cannot be reached the second half is skipped with a loud banner,
never silently. Set REQUIRE_SERVICES=1 (CI does) to make their absence a failure. The same
goes for the browser tests without Chromium or playwright, and REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shelfwatch")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CACHE_REDIS_URL = os.environ.get("TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/12")
# Any fixed number: runs of this suite against one server take it in turn.
SERVICES_LOCK_KEY = 0x5357_5445_5354  # "SWTEST"


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


def browser_missing() -> str:
    """What the browser tests lack ("" when nothing), as tests/browser/conftest.py decides
    it, asked in a child so this process stays free of the test packages' imports."""
    check = "from tests.browser.conftest import browser_missing; print(browser_missing() or '')"
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, check=False
    )
    if result.returncode:
        return "the check for Chromium failed: " + (result.stderr.strip() or "no output")
    return result.stdout.strip()


def browser_verdict(missing: str) -> int:
    """A banner when the browser tests could not run; 1 if REQUIRE_BROWSER=1 forbids that."""
    if not missing:
        return 0
    required = os.environ.get("REQUIRE_BROWSER") == "1"
    banner(
        [
            "The BROWSER tests (tests/browser) "
            + ("FAILED (REQUIRE_BROWSER=1)" if required else "were SKIPPED")
            + ": headless Chromium is unavailable.",
            missing,
            "Install: apt-get install chromium; pip install -e '.[dev]' (playwright).",
        ]
    )
    return 1 if required else 0


@contextlib.contextmanager
def services_taken_in_turn(pg_url: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while the PostgreSQL + Redis half runs.

    That half uses fixed names (the test database, two Redis databases it empties), so two
    checkouts testing at once against the same servers would wreck each other's runs; the
    second one waits here instead, and says so.
    """
    import psycopg

    parts = urlsplit(pg_url)
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        taken = connection.execute("SELECT pg_try_advisory_lock(%s)", [SERVICES_LOCK_KEY])
        if not taken.fetchone()[0]:
            print(
                "Another test run is using the PostgreSQL + Redis test databases; waiting...",
                file=sys.stderr,
                flush=True,
            )
            connection.execute("SELECT pg_advisory_lock(%s)", [SERVICES_LOCK_KEY])
        yield  # the lock goes with the connection


def run(label: str, extra_env: dict[str, str], args: list[str]) -> int:
    env = {**os.environ, **extra_env}
    env["DATA_DIR"] = tempfile.mkdtemp(prefix=f"shelfwatch-test-{label}-")
    print(f"\n===== test suite on {label} =====\n", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", *args], env=env)


def main() -> int:
    args = sys.argv[1:]
    sqlite_env = {"DATABASE_URL": "", "REDIS_URL": "", "CACHE_REDIS_URL": ""}
    code = run("sqlite", sqlite_env, args)
    missing_browser = browser_missing()
    if not (reachable("127.0.0.1", 5432) and reachable("127.0.0.1", 6379)):
        banner(
            [
                "PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) is NOT reachable.",
                "The PostgreSQL + Redis half of the test suite was SKIPPED.",
                "Only the SQLite half ran; start both services to run the rest.",
            ]
        )
        code_browser = browser_verdict(missing_browser)
        if os.environ.get("REQUIRE_SERVICES") == "1":
            return 1
        return code or code_browser
    pg_env = {
        "DATABASE_URL": PG_URL,
        "REDIS_URL": REDIS_URL,
        "CACHE_REDIS_URL": CACHE_REDIS_URL,
        "SECRET_KEY": "test-only-secret-key-" + "x" * 40,
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "SECURE_HSTS_SECONDS": "0",
    }
    with services_taken_in_turn(PG_URL):
        code_pg = run("postgresql+redis", pg_env, args)
    code_browser = browser_verdict(missing_browser)  # printed last, where it is seen
    return code or code_pg or code_browser


if __name__ == "__main__":
    sys.exit(main())
