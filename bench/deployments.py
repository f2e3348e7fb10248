"""The two deployments the benchmarks run Shelfwatch in, each fresh and thrown away after.

- embedded: SQLite under a new DATA_DIR (database cache, table tailing for events);
- scale-out: PostgreSQL (a throwaway `shelfwatch_bench` database, or BENCH_PG_DATABASE) +
  Redis (db 14, flushed; or BENCH_REDIS_URL) as cache, rate-limit store and event bus.

Used by http_baseline.py and sse_fanout.py; not run on its own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from servers import BENCH_DIR, SHELFWATCH, clean_env, run_checked

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
# Overridable, so runs on a shared machine each use their own database and Redis db.
PG_DATABASE = os.environ.get("BENCH_PG_DATABASE", "shelfwatch_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

# What every measured Shelfwatch process gets: quiet logs, tokens that outlive the run, and
# rate limits on at their default rates (callers are spread over many users, see
# issue_tokens, so that none is refused).
BENCH_SETTINGS = {
    "LOG_LEVEL": "WARNING",
    "DEBUG": "0",
    "JWT_ACCESS_TTL_SECONDS": str(7 * 24 * 3600),
    "THROTTLE_ENABLED": "1",
}


@dataclass(frozen=True)
class Deployment:
    name: str  # shown in tables
    key: str  # "sqlite" or "postgres"
    env: dict[str, str]
    database: str | None = None  # the PostgreSQL database, to attribute its CPU use

    def with_env(self, **extra: str) -> dict[str, str]:
        return {**self.env, **extra}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def scale_out_reachable() -> bool:
    """PostgreSQL and Redis both answer on 127.0.0.1."""
    return _reachable(PG_HOST, PG_PORT) and _reachable("127.0.0.1", 6379)


def chosen(*, skip_embedded: bool = False, skip_scale_out: bool = False) -> list:
    """The deployment context managers to measure: embedded unless skipped, scale-out
    when not skipped and PostgreSQL and Redis answer."""
    picked = [] if skip_embedded else [embedded]
    if not skip_scale_out and scale_out_reachable():
        picked.append(scale_out)
    return picked


def migrate(env: Mapping[str, str]) -> None:
    run_checked([SHELFWATCH, "migrate", "--no-input"], env=env)
    run_checked([SHELFWATCH, "createcachetable"], env=env)


def issue_tokens(env: Mapping[str, str], path: Path, count: int = 500) -> Path:
    """Create `count` bench users (if needed) and write one access token per line to `path`."""
    out = run_checked(
        [sys.executable, BENCH_DIR / "app_side.py", "tokens", "--count", str(count)], env=env
    )
    path.write_text(out)
    return path


@contextlib.contextmanager
def embedded(workdir: Path, **extra: str) -> Iterator[Deployment]:
    """SQLite under a fresh DATA_DIR, migrated."""
    data_dir = workdir / f"data-{secrets.token_hex(4)}"
    data_dir.mkdir(parents=True)
    env = clean_env({**BENCH_SETTINGS, "DATA_DIR": str(data_dir), **extra})
    migrate(env)
    yield Deployment(name="SQLite", key="sqlite", env=env)


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(sql)  # type: ignore[arg-type]  # fixed statements, no user input


def _flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


@contextlib.contextmanager
def scale_out(workdir: Path, **extra: str) -> Iterator[Deployment]:
    """A new `shelfwatch_bench` PostgreSQL database and an empty Redis db 14, migrated;
    the database is dropped afterwards."""
    data_dir = workdir / f"data-{secrets.token_hex(4)}"
    data_dir.mkdir(parents=True)
    _pg_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {PG_DATABASE}")
    _flush_redis()
    env = clean_env(
        {
            **BENCH_SETTINGS,
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}",
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "0",
            **extra,
        }
    )
    try:
        migrate(env)
        yield Deployment(name="PostgreSQL + Redis", key="postgres", env=env, database=PG_DATABASE)
    finally:
        with contextlib.suppress(Exception):
            _pg_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        with contextlib.suppress(Exception):
            _flush_redis()
