"""Recovery drill: how long getting the data back takes, and how much a crash loses, on
the 200,000-product benchmark catalog, against the recovery objectives (RTO 4 h, RPO 1 h).

Run from the repository root, as root (the private cluster runs as the postgres user) or
as a user that may run PostgreSQL's initdb:

    .venv/bin/python bench/recovery_drill.py [--products 200000] [--write-seconds 60]
        [--archive-timeout 30]

Everything happens on a private PostgreSQL cluster (initdb in a scratch folder, on a free
port, WAL archiving on), so the machine's own server is not touched:

1. The catalog is built (migrated; products, stores and stock bulk-loaded by
   catalog_data.py), then a base backup is taken (`pg_basebackup`).
2. A writer moves stock through `inventory.stock.move_stock` (ledger row and event in the
   same transaction, as in production), noting each committed movement; meanwhile
   `shelfwatch backup` writes the nightly archive. Then the cluster crashes (an immediate
   stop) while the writer is still writing, and its disk is taken as lost: only the base
   backup and the archived WAL are left.
3. Point-in-time recovery: the base backup is copied into a new data folder and started
   with `restore_command` over the WAL archive; PostgreSQL replays it all and is promoted.
   Timed from the copy to the first query answered. The writes lost are the committed
   movements the recovered database does not hold, in number and in seconds of writing.
4. The nightly archive is restored with `shelfwatch restore` into an empty database and
   data folder, then migrated; timed, and its rows compared by the restore's own checks.

Printed: each step's seconds and sizes and the writes lost, beside the objectives.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from machine import describe, render
from servers import REPO_DIR, SHELFWATCH, clean_env, free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RTO_SECONDS, RPO_SECONDS = 4 * 3600, 3600


def _as_postgres() -> list[str]:
    """The prefix that runs a PostgreSQL tool as the cluster's owner."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 7200) -> str:
    done = subprocess.run(
        argv, env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout


def _own(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Cluster:
    """A private PostgreSQL cluster in `root`, archiving its WAL into `wal`."""

    def __init__(self, root: Path, wal: Path, port: int) -> None:
        self.root, self.wal, self.port = root, wal, port
        self.data = root / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/shelfwatch"

    def init(self, archive_timeout: int) -> None:
        _own(self.root)
        _own(self.wal)
        _run([*_as_postgres(), str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres"])
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "wal_level = replica\narchive_mode = on\n"
                f"archive_command = 'test ! -f {self.wal}/%f && cp %p {self.wal}/%f'\n"
                f"archive_timeout = {archive_timeout}\nmax_wal_senders = 4\n"
                "fsync = on\nsynchronous_commit = on\n"
            )
        with (self.data / "pg_hba.conf").open("w") as hba:
            hba.write("local all all trust\nhost all all 127.0.0.1/32 trust\n")
            hba.write("host replication all 127.0.0.1/32 trust\n")

    def start(self) -> None:
        log = self.root / "server.log"
        try:
            _run(
                [
                    *_as_postgres(),
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "3600",
                    "start",
                ]
            )
        except RuntimeError as exc:
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise RuntimeError(f"{exc}\n{tail}") from None

    def crash(self) -> None:
        _run(
            [
                *_as_postgres(),
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ]
        )

    def stop(self) -> None:
        subprocess.run(
            [*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
            capture_output=True,
            check=False,
        )

    def psql(self, sql: str, database: str = "shelfwatch") -> str:
        return _run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-Atc",
                sql,
            ]
        ).strip()


# --- the parts run inside Django (a subprocess with the cluster's DATABASE_URL) -----------


def inner_build(products: int) -> dict:
    import catalog_data
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    started = time.perf_counter()
    loaded = catalog_data.load(catalog_data.generate(products), seed=2026)
    return {"products": loaded["products"], "seconds": time.perf_counter() - started}


def inner_write(seconds: float, log: str) -> dict:
    """Move stock until `seconds` pass or the database goes away; each committed movement
    is noted (id, time) as soon as its transaction has committed."""
    import random

    from shelfwatch.inventory.models import StockItem
    from shelfwatch.inventory.stock import move_stock

    items = list(StockItem.objects.order_by("?")[:500])
    rng = random.Random(7)
    deadline = time.monotonic() + seconds
    written = 0
    with open(log, "a", buffering=1) as notes:
        while time.monotonic() < deadline:
            item = rng.choice(items)
            try:
                moved = move_stock(item=item, delta=rng.choice((1, 2, 3)), reason="restock")
            except Exception:
                break  # the crash
            notes.write(f"{moved.movement.pk} {time.time():.3f}\n")
            written += 1
    return {"written": written}


# --- the drill ------------------------------------------------------------------------------


def _inner(args: list[str], env: dict[str, str], timeout: float = 7200) -> dict:
    out = _run([sys.executable, __file__, "--inner", *args], env=env, timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


def _last_noted(log: Path) -> tuple[int, float]:
    lines = [line.split() for line in log.read_text().splitlines() if line.strip()]
    return int(lines[-1][0]), float(lines[-1][1])


def drill(args: argparse.Namespace, scratch: Path) -> list[tuple[str, str]]:
    port = free_port()
    cluster = Cluster(scratch / "primary", scratch / "wal", port)
    cluster.init(args.archive_timeout)
    cluster.start()
    rows: list[tuple[str, str]] = []
    try:
        cluster.psql("CREATE DATABASE shelfwatch", database="postgres")
        data_dir = scratch / "app-data"
        env = clean_env(
            {
                "DATABASE_URL": cluster.url,
                "DATA_DIR": str(data_dir),
                "SECRET_KEY": "drill-" + "x" * 50,
                "PYTHONPATH": str(REPO_DIR / "bench"),
            }
        )
        built = _inner(["build", "--products", str(args.products)], env)
        rows.append(
            ("catalog built", f"{built['products']:,} products in {built['seconds']:.0f} s")
        )
        database_bytes = int(cluster.psql("SELECT pg_database_size('shelfwatch')"))
        rows.append(("database size", f"{database_bytes / 2**20:.0f} MiB"))

        base = scratch / "base"
        started = time.perf_counter()
        _run(
            [
                *_as_postgres(),
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-D",
                str(_own(base)),
                "-Fp",
                "-X",
                "fetch",
                "-c",
                "fast",
            ]
        )
        rows.append(
            (
                "base backup (pg_basebackup)",
                f"{time.perf_counter() - started:.1f} s, {_size(base) / 2**20:.0f} MiB",
            )
        )

        # The writer goes on while the nightly archive is written, and until the crash.
        log = scratch / "writes.log"
        writer = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--inner",
                "write",
                "--seconds",
                str(args.write_seconds * 4),
                "--log",
                str(log),
            ],
            env=env,
            cwd=REPO_DIR,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(args.write_seconds / 2)
        archives = scratch / "archives"
        started = time.perf_counter()
        _run([str(SHELFWATCH), "backup", "--to", str(archives)], env=env)
        (archive,) = archives.glob("shelfwatch-backup-*.tar")
        rows.append(
            (
                "nightly archive (shelfwatch backup, under writes)",
                f"{time.perf_counter() - started:.1f} s, {_size(archive) / 2**20:.1f} MiB",
            )
        )
        time.sleep(max(0.0, args.write_seconds / 2))
        cluster.crash()
        crashed_at = time.time()
        writer.wait(timeout=120)
        last_id, last_at = _last_noted(log)
        noted = len(log.read_text().splitlines())
        wal_files = [p for p in (scratch / "wal").iterdir() if p.is_file()]
        rows.append(
            (
                "writes before the crash",
                f"{noted:,} stock moves over {args.write_seconds} s; WAL archived: "
                f"{len(wal_files)} files, {_size(scratch / 'wal') / 2**20:.0f} MiB",
            )
        )

        # Point-in-time recovery from the base backup and the archive (the disk is lost).
        recovered = Cluster(scratch / "recovered", scratch / "wal", port)
        _own(recovered.root)
        started = time.perf_counter()
        _run(["cp", "-a", str(base), str(recovered.data)])
        recovered.data.chmod(0o700)  # PostgreSQL refuses a data folder others may read
        with (recovered.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"unix_socket_directories = '{recovered.root}'\n"
                f"restore_command = 'cp {scratch / 'wal'}/%f %p'\n"
                "recovery_target_action = 'promote'\narchive_mode = off\n"
            )
        (recovered.data / "recovery.signal").touch()
        if os.geteuid() == 0:
            _run(["chown", "-R", "postgres:postgres", str(recovered.root)])
        recovered.start()
        while recovered.psql("SELECT pg_is_in_recovery()") != "f":
            time.sleep(0.2)
        held = int(recovered.psql("SELECT count(*) FROM inventory_stockmovement"))
        recovery_seconds = time.perf_counter() - started
        newest = recovered.psql("SELECT coalesce(max(id), 0) FROM inventory_stockmovement")
        newest_id = int(newest)
        lost = sum(
            1 for line in log.read_text().splitlines() if line and int(line.split()[0]) > newest_id
        )
        kept_at = [
            float(t)
            for i, t in (line.split() for line in log.read_text().splitlines() if line)
            if int(i) <= newest_id
        ]
        lost_seconds = last_at - (max(kept_at) if kept_at else last_at)
        rows.append(
            (
                "point-in-time recovery (copy + WAL replay + promote)",
                f"{recovery_seconds:.1f} s; {held:,} ledger rows back",
            )
        )
        rows.append(
            (
                "writes lost in the crash",
                f"{lost:,} of {noted:,} committed moves, the last {lost_seconds:.1f} s "
                f"(archive_timeout {args.archive_timeout} s; crash {crashed_at - last_at:.1f} s "
                f"after the last noted write, id {last_id})",
            )
        )

        # The nightly archive into an empty database and data folder.
        recovered.psql("CREATE DATABASE restored", database="postgres")
        restore_env = {
            **env,
            "DATABASE_URL": recovered.url.rsplit("/", 1)[0] + "/restored",
            "DATA_DIR": str(scratch / "restored-data"),
        }
        started = time.perf_counter()
        _run([str(SHELFWATCH), "restore", str(archive)], env=restore_env)
        rows.append(
            (
                "nightly archive restored (shelfwatch restore + migrate)",
                f"{time.perf_counter() - started:.1f} s",
            )
        )
        restored_products = recovered.psql("SELECT count(*) FROM catalog_product", "restored")
        rows.append(("products in the restored archive", f"{int(restored_products):,}"))
        recovered.stop()
        rows.append(
            (
                "objectives",
                f"RTO {RTO_SECONDS // 3600} h: machine time above is "
                f"{recovery_seconds / RTO_SECONDS:.2%} of it; RPO {RPO_SECONDS // 3600} h: "
                f"{lost_seconds:.1f} s lost = {lost_seconds / RPO_SECONDS:.2%} of it",
            )
        )
    finally:
        cluster.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--write-seconds", type=int, default=60)
    parser.add_argument("--archive-timeout", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--log", default="")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        sys.path.insert(0, str(REPO_DIR / "bench"))
        from inner_process import setup_django

        setup_django()
        result = {
            "build": lambda: inner_build(args.products),
            "write": lambda: inner_write(args.seconds, args.log),
        }[args.inner]()
        print(json.dumps(result))
        return
    print(render(describe()))
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load}")
    scratch = Path(tempfile.mkdtemp(prefix="recovery-drill-"))
    if os.geteuid() == 0:
        shutil.chown(scratch, "postgres", "postgres")
    try:
        rows = drill(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
