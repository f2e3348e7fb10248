"""A billing-software stock export imported by our import job and by django-import-export.

Run from the repository root (django-import-export from the `bench` extra):

    .venv/bin/python bench/imports_vs_import_export.py [--rows 1000000] [--catalog 100000]
        [--postgres URL | --sqlite-only] [--iex-rows 100000] [--only-barcodes] [--keep-file]
        [--rounds 1]

The file (`Item Name,Brand,Barcode,Qty,MRP,Pack Size`, written as a stream to a temporary
file) is made of the generated grocery catalog of catalog_data.py: 60 % of its rows carry
the barcode of a catalog product, 10 % describe a catalog product by name, brand and pack
size without a barcode (only a matcher can place them), 2 % are bad in one of four ways
(a wrong check digit, a negative quantity, a price such as "on request", a value missing)
and the rest are new products with fresh valid barcodes. Each product is on one line, as
in an export, so the catalog is made larger than --catalog when the file needs more.

Per database (SQLite, and PostgreSQL at URL, whose database and a `<name>_base` template
are created and dropped): a base is built once (migrated; catalog bulk-inserted as
catalog_data.load does, the search index filled by its triggers; on PostgreSQL the
vocabulary recount and VACUUM ANALYZE that would follow; a store and its owner), and
every run gets a fresh copy of it. A run of ours: the job is created by `start_import` as
the upload endpoint does, then a worker process runs `imports.processing.run_job`. A run of
django-import-export: a process imports the file's first --iex-rows rows with the
resources of import_export_resources.py. Ours and theirs alternate (ours first for the
first file, theirs first for the next; --rounds N repeats the pairs). Both files are run:
the whole mix, and only its barcode-found rows (the fast path; --only-barcodes: that
one alone). Reported per run: rows/s over the import (process start-up and, for ours, the
upload excluded), CPU ms per row of the importing process and of the PostgreSQL backend,
the importing process's peak RSS (VmHWM), the CPU the rest of the machine used meanwhile,
the outcome, and checks of what ours left: the counts add up to the rows, the bad rows
and only they failed, no barcode is on two products, no more products with a barcode were
created than there were new rows, and every item's ledger sums to its quantity (how many
rows described by name became products anew, duplicates of catalog ones, is told). Then ours
against theirs per file: in rows/s, and in CPU per row (the importing process and the
database server), which other work on a shared machine skews less.

With BENCH_IMPORT_PROFILE=PREFIX each run of ours is profiled (cProfile) into
PREFIX.<job id>.<pid>, to read with pstats; its figures then carry the profiler's cost.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import json
import os
import random
import re
import resource
import shutil
import tempfile
import time
from collections import deque
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import catalog_data
import cpuload
import machine
from imports_csv import SCALE_OUT
from inner_process import run_inner, setup_django
from servers import REPO_DIR, clean_env
from tables import render_table

HEADER = ["Item Name", "Brand", "Barcode", "Qty", "MRP", "Pack Size"]
FOUND, NAMED, NEW, BAD = range(4)
SHARES = {FOUND: 0.60, NAMED: 0.10, BAD: 0.02}  # NEW: the rest
BAD_KINDS = ("wrong check digit", "negative quantity", "price not a price", "value missing")
CATALOG_SEED, FILE_SEED = 2026, 7
OWNER = "bench-owner@example.com"
# The pack size at the end of a catalog name ("500g", "1 Ltr", "Pack of 6").
_SIZE = re.compile(r"\s(?:Pack of \d+|\d+ ?(?:g|gm|Gm|kg|Kg|ml|ML|l|L|Ltr|litre|pcs))$")


# --- the file -------------------------------------------------------------------------------


def _specs():
    """The catalog, then the products new to it: catalog_data's, with more pack sizes (a
    million-row file needs more distinct products than its usual sizes make)."""
    return catalog_data.iter_specs(CATALOG_SEED, more_sizes=True)


class CatalogTooSmall(Exception):
    pass


class _Catalog:
    """Hands out catalog products for the file, each once: with a barcode (not rejected) for
    barcode rows, verified ones (the shop can see them) for rows described by name."""

    def __init__(self, specs) -> None:
        self.specs = iter(specs)
        self.pulled = 0
        self.coded: deque = deque()
        self.loose: deque = deque()

    def _pull(self):
        spec = next(self.specs, None)
        if spec is None:
            raise CatalogTooSmall
        self.pulled += 1
        return spec

    def take(self, kind: int):
        mine, theirs = (self.coded, self.loose) if kind == FOUND else (self.loose, self.coded)
        if mine:
            return mine.popleft()
        while True:
            spec = self._pull()
            if spec.status == "rejected":
                continue
            fits = {FOUND: spec.barcode is not None, NAMED: spec.status == "verified"}
            if fits[kind]:
                return spec
            if fits[NAMED if kind == FOUND else FOUND]:
                theirs.append(spec)


def plan(rows: int, *, only_barcodes: bool) -> tuple[bytearray, dict[int, int], int]:
    """The kind of each row (shuffled), how many of each, and how many catalog products
    the file reaches into."""
    if only_barcodes:
        counts = {FOUND: rows, NAMED: 0, BAD: 0, NEW: 0}
    else:
        counts = {kind: round(rows * share) for kind, share in SHARES.items()}
        counts[NEW] = rows - sum(counts.values())
    kinds = bytearray()
    for kind, count in counts.items():
        kinds += bytes([kind]) * count
    random.Random(FILE_SEED).shuffle(kinds)
    catalog = _Catalog(_specs())
    for kind in kinds:
        if kind in (FOUND, NAMED):
            catalog.take(kind)
    return kinds, counts, catalog.pulled


def write_file(path: Path, kinds: bytearray, catalog_size: int) -> None:
    """Write the rows `kinds` says, streaming; the catalog is the first `catalog_size`
    products of catalog_data, new products are the ones after them."""
    rng = random.Random(FILE_SEED + 1)
    catalog = _Catalog(itertools.islice(_specs(), catalog_size))
    fresh = (spec for spec in itertools.islice(_specs(), catalog_size, None) if spec.barcode)
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        for kind in kinds:
            spec = catalog.take(kind) if kind in (FOUND, NAMED) else next(fresh)
            name, barcode = spec.name, spec.barcode or ""
            size = f"{spec.amount} {spec.unit}"
            price = rng.randint(10, 2500)
            mrp = rng.choices((f"{price}.00", f"\u20b9{price:,}", f"Rs. {price:,}"), (7, 2, 1))[0]
            quantity = str(rng.randint(0, 400))
            row = [name, spec.brand, barcode, quantity, mrp, size]
            if kind == NAMED:
                # Billing software writes names its own way: upper case, or the size apart.
                style = rng.random()
                name = (
                    name.upper() if style < 0.25 else _SIZE.sub("", name) if style < 0.5 else name
                )
                row = [name, spec.brand, "", quantity, mrp, size]
            elif kind == BAD:
                flaw = bad % len(BAD_KINDS)
                bad += 1
                if flaw == 0:
                    row[2] = barcode[:-1] + str((int(barcode[-1]) + 1) % 10)
                elif flaw == 1:
                    row[3] = f"-{rng.randint(1, 50)}"
                elif flaw == 2:
                    row[4] = rng.choice(("on request", "N/A", "see label"))
                else:
                    row = row[:-1]
            writer.writerow(row)


# --- inside a deployment (the --inner modes) -----------------------------------------------


def _owner():
    from shelfwatch.accounts.models import User
    from shelfwatch.inventory.models import Store

    return User.objects.get(email=OWNER), Store.objects.get(slug="bench-kirana")


def _measured(work) -> dict:
    """Run `work()`: its result with the seconds, CPU seconds and peak RSS it took."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    status = Path("/proc/self/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return {"result": result, "seconds": seconds, "cpu": cpu, "peak_mib": peak / 1024}


def inner_base(catalog: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from shelfwatch.accounts.models import StoreMembership, User
    from shelfwatch.inventory.models import Store

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    started = time.perf_counter()
    loaded = catalog_data.load(list(itertools.islice(_specs(), catalog)), seed=CATALOG_SEED)
    user = User.objects.create_user(email=OWNER, password="x" * 16)
    store = Store.objects.create(name="Bench Kirana", slug="bench-kirana", region="IN-MH")
    StoreMembership.objects.create(user=user, store=store, role="owner")
    if connection.vendor == "postgresql":
        from shelfwatch.catalog.vocabulary import refresh_vocabulary

        refresh_vocabulary()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return {"products": loaded["products"], "seconds": time.perf_counter() - started}


def inner_upload(path: str) -> dict:
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.imports.uploads import start_import

    user, store = _owner()
    principal = Principal.of(active_user(user.pk), "web")
    started = time.perf_counter()
    with open(path, "rb") as upload:
        job = start_import(
            store=store,
            principal=principal,
            upload=upload,
            size=os.fstat(upload.fileno()).st_size,
            original_name="stock-export.csv",
            enqueue=False,
        )
    return {"job": job.pk, "seconds": time.perf_counter() - started}


def inner_worker(job_id: int) -> dict:
    from shelfwatch.imports.processing import run_job

    profile_to = os.environ.get("BENCH_IMPORT_PROFILE")
    if profile_to:
        # Where the worker's time goes (figures then include cProfile's own cost).
        import cProfile

        profiler = cProfile.Profile()
        out = _measured(lambda: profiler.runcall(run_job, job_id))
        profiler.dump_stats(f"{profile_to}.{job_id}.{os.getpid()}")
    else:
        out = _measured(lambda: run_job(job_id))
    job = out.pop("result")
    fields = ("status", "total_rows", "successful", "failed", "skipped", "duplicates_found")
    return out | {name: getattr(job, name) for name in fields}


def inner_iex(path: str) -> dict:
    from import_export_resources import import_file

    user, store = _owner()
    out = _measured(lambda: import_file(path, store=store, user=user))
    return out | {"totals": out.pop("result")}


def inner_check() -> dict:
    from django.db.models import Count, F, Sum, Value
    from django.db.models.functions import Coalesce

    from shelfwatch.catalog.models import Product
    from shelfwatch.imports.models import ImportRow
    from shelfwatch.inventory.models import StockItem, StockMovement

    user, store = _owner()
    dump = os.environ.get("BENCH_IMPORT_ROWS_DUMP")
    if dump:
        # Every row's outcome, to compare two versions' runs line by line.
        from django.db import connection

        outcomes = ImportRow.objects.order_by("line").values_list(
            "line", "status", "code", "product_id", "column"
        )
        with open(f"{dump}-{connection.vendor}-{time.time_ns()}.tsv", "w") as out:
            out.writelines("\t".join(map(str, row)) + "\n" for row in outcomes.iterator())
    items = StockItem.objects.filter(store=store)
    ledger = items.annotate(ledger=Coalesce(Sum("movements__delta"), Value(0)))
    rows = ImportRow.objects.values("status").annotate(n=Count("pk"))
    return {
        "items": items.count(),
        "movements": StockMovement.objects.filter(item__store=store).count(),
        "ledger_mismatches": ledger.exclude(ledger=F("quantity")).count(),
        "new_products": Product.objects.filter(created_by=user).count(),
        "unbarcoded_new": Product.objects.filter(created_by=user, barcode__isnull=True).count(),
        "shared_barcodes": Product.objects.filter(barcode__isnull=False)
        .values("barcode")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count(),
        "row_statuses": {row["status"]: row["n"] for row in rows},
    }


# --- the driver -----------------------------------------------------------------------------


def _pg(url: str, *statements: str) -> str:
    """Run `statements` on the server's `postgres` database; its version."""
    import psycopg

    admin = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)  # type: ignore[arg-type]  # our own names
        return str(connection.execute("SHOW server_version").fetchone()[0])


class Database:
    """A base deployment built once, and a fresh copy of it for each run."""

    def __init__(self, name: str, workdir: Path, postgres: str | None, max_bytes: int) -> None:
        self.name, self.workdir, self.postgres = name, workdir, postgres
        settings = {"LOG_LEVEL": "WARNING", "DEBUG": "0", "PYTHONPATH": str(REPO_DIR / "src")}
        settings["IMPORT_MAX_BYTES"] = str(max_bytes)
        self.env = clean_env(settings | (SCALE_OUT if postgres else {}))
        self.runs = 0
        self.db = urlsplit(postgres).path.lstrip("/") if postgres else None
        self.base_db = f"{self.db}_base"

    def _env(self, data_dir: Path, database: str | None) -> dict[str, str]:
        env = self.env | {"DATA_DIR": str(data_dir)}
        if self.postgres:
            env["DATABASE_URL"] = urlsplit(self.postgres)._replace(path=f"/{database}").geturl()
        return env

    def _drop(self, name: str) -> str:
        return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'

    def build(self, catalog: int) -> dict:
        if self.postgres:
            _pg(self.postgres, self._drop(self.base_db), f'CREATE DATABASE "{self.base_db}"')
        env = self._env(self.workdir / "base", self.base_db)
        return run_inner(__file__, env, "base", "--catalog", str(catalog), timeout=None)[0]

    @contextlib.contextmanager
    def copy(self):
        self.runs += 1
        data_dir = self.workdir / f"run-{self.runs}"
        if self.postgres:
            data_dir.mkdir()
            clone = f'CREATE DATABASE "{self.db}" TEMPLATE "{self.base_db}"'
            _pg(self.postgres, self._drop(self.db), clone)
        else:
            shutil.copytree(self.workdir / "base", data_dir)
        try:
            yield self._env(data_dir, self.db)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
            if self.postgres:
                _pg(self.postgres, self._drop(self.db))

    def measure(self, env: dict[str, str], *args: str) -> tuple[dict, object]:
        """An --inner run, its CPU shared out (the PostgreSQL backend apart; no Redis here)."""
        cpuload.wait_for_quiet(max_wait=20)
        return run_inner(__file__, env, *args, database=self.db, redis=False, timeout=None)

    def drop(self) -> None:
        if self.postgres:
            _pg(self.postgres, self._drop(self.db), self._drop(self.base_db))


def _judge(ours: dict, check: dict, counts: dict[int, int], rows: int) -> str:
    failures = []
    if ours["successful"] + ours["failed"] + ours["skipped"] != rows or ours["total_rows"] != rows:
        failures.append("the counts do not add up to the rows")
    if ours["failed"] != counts[BAD]:
        failures.append(f"{ours['failed']:,} rows failed, {counts[BAD]:,} were bad")
    if check["shared_barcodes"]:
        failures.append(f"{check['shared_barcodes']:,} barcodes on two products")
    if check["new_products"] - check["unbarcoded_new"] > counts[NEW]:
        failures.append(f"{check['new_products']:,} products created for {counts[NEW]:,} new rows")
    if check["ledger_mismatches"]:
        failures.append(f"{check['ledger_mismatches']:,} items differ from their ledger")
    return "ok" if not failures else "FAILED (" + "; ".join(failures) + ")"


def run_ours(db: Database, path: Path, counts: dict, rows: int) -> dict:
    with db.copy() as env:
        upload, _ = run_inner(__file__, env, "upload", "--file", str(path), timeout=None)
        done, share = db.measure(env, "worker", "--job", str(upload["job"]))
        check, _ = run_inner(__file__, env, "check", timeout=None)
    statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(check["row_statuses"].items()))
    outcome = (
        f"{_judge(done, check, counts, rows)}: {statuses}; {check['new_products']:,} new "
        f"products ({check['unbarcoded_new']:,} of them for rows described by name), "
        f"{check['items']:,} items, {check['movements']:,} ledger rows; upload "
        f"{upload['seconds']:.1f} s"
    )
    return done | {"share": share, "outcome": outcome, "rows": rows}


def run_theirs(db: Database, path: Path, rows: int) -> dict:
    with db.copy() as env:
        done, share = db.measure(env, "iex", "--file", str(path))
        check, _ = run_inner(__file__, env, "check", timeout=None)
    products, items = done["totals"]["products"], done["totals"]["items"]
    failed_batches = items["batch_errors"] + products["batch_errors"]
    outcome = (
        f"{items['new']:,} items, {items['invalid']:,} rows invalid, {items['error']:,} "
        f"errors, {failed_batches} failed batches; {check['new_products']:,} new products, "
        f"{check['movements']:,} ledger rows"
    )
    return done | {"share": share, "outcome": outcome, "rows": rows}


HEAD = ["database", "import", "file", "rows", "seconds", "rows/s", "CPU ms/row"]
HEAD += ["DB CPU ms/row", "peak RSS MiB", "other CPU", "outcome"]


RATIO_HEAD = ["database", "file", "ours rows/s", "theirs rows/s", "ours / theirs"]
RATIO_HEAD += ["ours CPU ms/row", "theirs CPU ms/row", "ours / theirs, by CPU"]


def _cpu_per_row(f: dict) -> float:
    """CPU seconds a row cost: the importing process's and the database server's."""
    return (f["cpu"] + f["share"].services * f["share"].seconds) / f["rows"]


def _row(database: Database, who: str, file: str, f: dict) -> list[str]:
    share, rows = f["share"], f["rows"]
    return [
        database.name,
        who,
        file,
        f"{rows:,}",
        f"{f['seconds']:.1f}",
        f"{rows / f['seconds']:,.0f}",
        f"{f['cpu'] / rows * 1000:.2f}",
        f"{share.services * share.seconds / rows * 1000:.2f}" if database.postgres else "-",
        f"{f['peak_mib']:.0f}",
        f"{share.other:.2f}",
        f["outcome"],
    ]


def write_files(args, files_dir: Path) -> tuple[dict, dict[int, int], int]:
    """The mixed file and its barcode-found-only sibling (or that alone), each with a copy
    of its first --iex-rows rows when it is longer; and the catalog size they need."""
    started = time.perf_counter()
    kinds, counts, needed = plan(args.rows, only_barcodes=False)
    catalog = max(args.catalog, needed)
    files = {}
    for name in ("barcodes",) if args.only_barcodes else ("mixed", "barcodes"):
        if name == "mixed":
            rows, file_kinds, file_counts = args.rows, kinds, counts
        else:
            rows = counts[FOUND]
            file_kinds, file_counts, _ = plan(rows, only_barcodes=True)
        path = files_dir / f"{name}.csv"
        write_file(path, file_kinds, catalog)
        head = path
        if rows > args.iex_rows:
            head = files_dir / f"{name}-first-{args.iex_rows}.csv"
            with path.open(encoding="utf-8") as src, head.open("w", encoding="utf-8") as out:
                out.writelines(itertools.islice(src, args.iex_rows + 1))
        files[name] = (path, rows, file_counts, head, min(rows, args.iex_rows))
    sizes = ", ".join(
        f"{n} {f[1]:,} rows ({f[0].stat().st_size / 2**20:.1f} MiB)" for n, f in files.items()
    )
    print(
        f"files written in {time.perf_counter() - started:.0f} s: {sizes}. The mix: "
        f"{counts[FOUND]:,} barcode found, {counts[NAMED]:,} by name, {counts[NEW]:,} new, "
        f"{counts[BAD]:,} bad ({', '.join(BAD_KINDS)}, a quarter each)"
    )
    if catalog > args.catalog:
        print(
            f"catalog: {catalog:,} products, not {args.catalog:,}: the file names "
            f"{counts[FOUND] + counts[NAMED]:,} catalog products, each on one line"
        )
    return files, counts, catalog


def measure_database(db: Database, files: dict, catalog: int, rounds: int) -> tuple[list, list]:
    built = db.build(catalog)
    print(f"{db.name}: base with {built['products']:,} products in {built['seconds']:.0f} s")
    table, ratios = [], []
    turn = 0
    for _ in range(rounds):
        for file, (path, rows, counts, head, head_rows) in files.items():
            order = ("ours", "theirs") if turn % 2 == 0 else ("theirs", "ours")
            turn += 1
            got = {}
            for who in order:
                if who == "ours":
                    got[who] = run_ours(db, path, counts, rows)
                else:
                    got[who] = run_theirs(db, head, head_rows)
                table.append(_row(db, who, file, got[who]))
                print(render_table(HEAD, table[-1:]).splitlines()[-1], flush=True)
            speed = {who: f["rows"] / f["seconds"] for who, f in got.items()}
            cost = {who: _cpu_per_row(f) for who, f in got.items()}
            ratios.append([db.name, file, *(f"{speed[w]:,.0f}" for w in ("ours", "theirs"))])
            ratios[-1] += [f"{speed['ours'] / speed['theirs']:.3f}"]
            ratios[-1] += [f"{cost[w] * 1000:.2f}" for w in ("ours", "theirs")]
            ratios[-1] += [f"{cost['theirs'] / cost['ours']:.3f}"]
    return table, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--catalog", type=int, default=100_000, help="at least this many")
    parser.add_argument("--postgres", help="a throwaway PostgreSQL database URL to use too")
    parser.add_argument("--sqlite-only", action="store_true", help="leave PostgreSQL out")
    parser.add_argument("--iex-rows", type=int, default=100_000, help="rows for theirs")
    parser.add_argument("--only-barcodes", action="store_true", help="barcode-found file only")
    parser.add_argument("--keep-file", action="store_true", help="keep the generated CSVs")
    parser.add_argument("--rounds", type=int, default=1, help="ours/theirs pairs per file")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--job", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        call = {
            "base": lambda: inner_base(args.catalog),
            "upload": lambda: inner_upload(args.file),
            "worker": lambda: inner_worker(args.job),
            "iex": lambda: inner_iex(args.file),
            "check": inner_check,
        }[args.inner]
        print(json.dumps(call(), default=str))
        return

    databases = [("SQLite", None)]
    if args.postgres and not args.sqlite_only:
        databases.append(("PostgreSQL", args.postgres))
    info = machine.describe() | {"django-import-export": version("django-import-export")}
    if len(databases) > 1:
        info["postgresql"] = _pg(args.postgres)
    print(machine.render(info))
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    files_dir = Path(tempfile.mkdtemp(prefix="imports-files-"))
    table, ratios = [], []
    try:
        files, _, catalog = write_files(args, files_dir)
        max_bytes = max(100 * 2**20, *(f[0].stat().st_size for f in files.values()))
        with tempfile.TemporaryDirectory(prefix="imports-db-") as tmp:
            for name, url in databases:
                db = Database(name, Path(tmp) / name, url, max_bytes)
                try:
                    got = measure_database(db, files, catalog, args.rounds)
                finally:
                    db.drop()
                table += got[0]
                ratios += got[1]
    finally:
        if args.keep_file:
            print("files kept: " + " ".join(str(p) for p in sorted(files_dir.iterdir())))
        else:
            shutil.rmtree(files_dir, ignore_errors=True)
    print()
    print(render_table(HEAD, table))
    print()
    print(render_table(RATIO_HEAD, ratios))
    print("load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
