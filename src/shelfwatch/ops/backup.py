"""Backups that restore: the database and the files, one archive with a manifest.

`create_backup` writes `shelfwatch-backup-<UTC time>.tar` while the system keeps taking
writes: SQLite through its online backup API (a consistent copy of one moment), PostgreSQL
through `pg_dump` in its custom format (one snapshot transaction), plus the media and feed
files, or, when those live in an S3 bucket, the bucket's name only. The manifest records
the version, the applied migrations, each member's SHA-256 and the row count of every
table as the copy holds it.

`restore_backup` brings an archive back into an empty database and empty file folders. It
checks everything before it writes anything: the checksums, the kind of database, where
the media are (in the archive, or in a bucket this installation must also use), and that
this code knows every migration the backup had applied (an archive from a newer version is
refused with a message naming them, instead of failing half-way). A backup from an older
version restores and is then migrated forward by `shelfwatch migrate`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

import shelfwatch

FORMAT = 1
MANIFEST = "manifest.json"
FILE_TREES = ("media", "feeds")

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Restored:
    archive: Path
    version: str
    tables: int
    rows: int
    files: int


def _trees() -> dict[str, Path]:
    # With media in a bucket, MEDIA_ROOT is unused and FEEDS_DIR holds only scratch files.
    if _media_bucket() is not None:
        return {}
    return {"media": Path(settings.MEDIA_ROOT), "feeds": Path(settings.FEEDS_DIR)}


def _media_bucket() -> dict[str, str] | None:
    """Where media live when they are in an S3 bucket (never its keys), else None.

    A backup does not copy a bucket: it names it, and the bucket keeps its own history
    (versioning, replication; see docs/backup.md).
    """
    bucket = getattr(settings, "MEDIA_S3_BUCKET", "")
    if not bucket:
        return None
    options = getattr(settings, "MEDIA_S3_OPTIONS", {}) or {}
    return {
        "kind": "s3",
        "bucket": bucket,
        "prefix": str(options.get("location") or ""),
        "endpoint_url": str(options.get("endpoint_url") or ""),
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _applied_migrations() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        rows = cursor.fetchall()
    applied: dict[str, list[str]] = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return applied


def _sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as copy:
        tables = [
            name
            for (name,) in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: copy.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608


def _postgres_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def _pg_env() -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for pg_dump / pg_restore (password by env)."""
    db = connection.settings_dict
    args = ["--host", db.get("HOST") or "127.0.0.1", "--port", str(db.get("PORT") or 5432)]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _dump_database(workdir: Path, progress: Progress) -> tuple[str, dict[str, int]]:
    """The database copied into `workdir`; (member name, row counts of the copy)."""
    if connection.vendor == "sqlite":
        target = workdir / "database.sqlite3"
        progress("copying the SQLite database (online backup API)...")
        connection.ensure_connection()
        with sqlite3.connect(target) as copy:
            # All pages in one step, under one read transaction: writers go on (WAL) and the
            # copy is the database of one moment.
            connection.connection.backup(copy)
        return target.name, _sqlite_counts(target)
    if connection.vendor == "postgresql":
        target = workdir / "database.pgdump"
        progress("dumping the PostgreSQL database (pg_dump, custom format)...")
        args, env = _pg_env()
        name = connection.settings_dict["NAME"]
        with transaction.atomic(), connection.cursor() as cursor:
            # The counts and the dump read one exported snapshot: the same moment, however
            # many writes land meanwhile.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = _postgres_counts()
            command = [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                f"--snapshot={snapshot}",
                "--file",
                str(target),
                *args,
                name,
            ]
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
        return target.name, counts
    raise BackupError(f"backups of {connection.vendor} databases are not supported")


def _add_trees(archive: tarfile.TarFile, files: dict[str, str], progress: Progress) -> int:
    count = 0
    for tree, root in _trees().items():
        if not root.exists():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            member = f"{tree}/{path.relative_to(root).as_posix()}"
            files[member] = _sha256(path)
            archive.add(path, arcname=member, recursive=False)
            count += 1
            if count % 1000 == 0:
                progress(f"  {count} files...")
    return count


def create_backup(*, destination: Path, progress: Progress = print) -> Path:
    """Write a backup archive into `destination` (created if missing); returns its path."""
    destination.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = destination / f"shelfwatch-backup-{stamp}.tar"
    with tempfile.TemporaryDirectory(dir=destination, prefix=".backup-") as work:
        workdir = Path(work)
        member, counts = _dump_database(workdir, progress)
        files = {member: _sha256(workdir / member)}
        partial = workdir / "archive.tar"
        with tarfile.open(partial, "w") as archive:
            archive.add(workdir / member, arcname=member)
            copied = _add_trees(archive, files, progress)
            manifest = {
                "format": FORMAT,
                "version": shelfwatch.__version__,
                "created_at": datetime.now(UTC).isoformat(),
                "database": connection.vendor,
                "migrations": _applied_migrations(),
                "files": files,
                "row_counts": counts,
                "media_bucket": _media_bucket(),
            }
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        os.replace(partial, final)  # a half-written archive never carries the final name
    progress(f"backup written: {final} ({copied} files, {final.stat().st_size:,} bytes)")
    bucket = _media_bucket()
    if bucket is not None:
        progress(f"media and feed snapshots are in bucket {bucket['bucket']}, not in the archive")
    return final


def read_manifest(archive_path: Path) -> dict:
    """The manifest of an archive; BackupError when it is not a Shelfwatch backup."""
    try:
        with tarfile.open(archive_path, "r") as archive:
            handle = archive.extractfile(MANIFEST)
            if handle is None:
                raise KeyError(MANIFEST)
            return json.loads(handle.read())
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"{archive_path} is not a Shelfwatch backup ({exc})") from None


def incompatibility(manifest: dict) -> str | None:
    """Why this code cannot restore the backup, or None when it can."""
    if manifest.get("format") != FORMAT:
        return f"the archive format {manifest.get('format')!r} is not {FORMAT}"
    if manifest.get("database") != connection.vendor:
        return (
            f"the backup is of a {manifest.get('database')} database and this installation "
            f"uses {connection.vendor}"
        )
    known = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    unknown = [
        f"{app}.{name}"
        for app, names in (manifest.get("migrations") or {}).items()
        for name in names
        if (app, name) not in known
    ]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        return (
            f"the backup was made by Shelfwatch {manifest.get('version')} with migrations this "
            f"version ({shelfwatch.__version__}) does not know: {shown}; restore it with that "
            "version or a newer one"
        )
    return None


def _media_mismatch(manifest: dict) -> str | None:
    """Why the backup's media cannot be found by this installation, or None when they can."""
    theirs, ours = manifest.get("media_bucket"), _media_bucket()
    if theirs and not ours:
        return (
            f"the backup's media are in S3 bucket {theirs['bucket']!r}, not in the archive; "
            "set MEDIA_S3_BUCKET (and its endpoint and keys) to that bucket or a copy of it"
        )
    if ours and not theirs:
        return (
            "the backup's media are files in the archive and this installation keeps media in "
            f"S3 bucket {ours['bucket']!r}; restore without MEDIA_S3_BUCKET, then copy "
            "MEDIA_ROOT into the bucket"
        )
    return None


def _database_is_empty() -> bool:
    with connection.cursor() as cursor:
        return not connection.introspection.table_names(cursor)


def _trees_are_empty() -> bool:
    return all(not root.exists() or not any(root.iterdir()) for root in _trees().values())


def _verified_members(archive: tarfile.TarFile, manifest: dict) -> Iterator[tarfile.TarInfo]:
    files = manifest.get("files") or {}
    for member in archive.getmembers():
        if member.name == MANIFEST:
            continue
        if member.name not in files or not member.isfile():
            raise BackupError(f"unexpected member {member.name!r} in the archive")
        yield member


def restore_backup(*, archive_path: Path, progress: Progress = print) -> Restored:
    """Restore `archive_path` into this installation's empty database and file folders."""
    manifest = read_manifest(archive_path)
    reason = incompatibility(manifest)
    if reason:
        raise BackupError(f"refusing to restore: {reason}")
    reason = _media_mismatch(manifest)
    if reason:
        raise BackupError(f"refusing to restore: {reason}")
    if not _database_is_empty():
        raise BackupError("refusing to restore: the database is not empty (restore into a new one)")
    if not _trees_are_empty():
        raise BackupError("refusing to restore: the media or feeds folder is not empty")
    files = manifest["files"]
    with tempfile.TemporaryDirectory(prefix="shelfwatch-restore-") as work:
        workdir = Path(work)
        progress("checking the archive...")
        with tarfile.open(archive_path, "r") as archive:
            members = list(_verified_members(archive, manifest))
            archive.extractall(workdir, members=members, filter="data")
        for name, digest in files.items():
            if _sha256(workdir / name) != digest:
                raise BackupError(f"refusing to restore: {name} does not match its checksum")
        database = next(name for name in files if name.startswith("database."))
        progress("restoring the database...")
        counts = _load_database(workdir / database)
        copied = 0
        for tree, root in _trees().items():
            source = workdir / tree
            if source.exists():
                shutil.copytree(source, root, dirs_exist_ok=True)
                copied += sum(1 for p in source.rglob("*") if p.is_file())
    expected = manifest.get("row_counts") or {}
    wrong = {t: (n, counts.get(t)) for t, n in expected.items() if counts.get(t) != n}
    if wrong:
        raise BackupError(f"restored row counts differ from the backup's: {wrong}")
    progress(f"restored {sum(counts.values()):,} rows in {len(counts)} tables, {copied} files")
    theirs = manifest.get("media_bucket")
    if theirs and theirs["bucket"] != _media_bucket()["bucket"]:
        progress(f"the backup's media were in bucket {theirs['bucket']}: copy them into this one")
    return Restored(
        archive=archive_path,
        version=str(manifest.get("version")),
        tables=len(counts),
        rows=sum(counts.values()),
        files=copied,
    )


def _load_database(dump: Path) -> dict[str, int]:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        with sqlite3.connect(dump) as source:
            source.backup(connection.connection)
        return _sqlite_counts(Path(connection.settings_dict["NAME"]))
    args, env = _pg_env()
    command = [
        "pg_restore",
        "--no-owner",
        "--exit-on-error",
        "--single-transaction",
        *args,
        "--dbname",
        connection.settings_dict["NAME"],
        str(dump),
    ]
    connection.close()  # pg_restore writes through its own connection
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}")
    return _postgres_counts()


def prune_backups(*, destination: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives in `destination`; returns those deleted."""
    archives = sorted(destination.glob("shelfwatch-backup-*.tar"))
    doomed = archives[: max(len(archives) - max(keep, 1), 0)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed
