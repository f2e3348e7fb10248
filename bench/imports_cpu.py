"""CPU per row of the barcode path of a spreadsheet import, in one process.

Run from the repository root:

    .venv/bin/python bench/imports_cpu.py [--rows 20000] [--profile 25] [--postgres URL]
        [--again]

A fresh SQLite database under a temporary data directory gets a catalog of `--rows`
products (catalog_data's), and a file naming each of them not rejected once by barcode (with a
quantity and a price, as a stock export does) is imported with `imports.processing.run_job`
in this process. Printed: the process CPU time per row of `run_job` (user + system, which
holds on a loaded machine where wall-clock time does not), and with `--profile N` the N
functions with the most cumulative time. The database's own CPU is in it (SQLite runs in
the process); the figure is meant for comparing one change with the next. With `--again` the same
file is imported a second time and that run is the one measured: every row then finds
the store's item already holding its quantity and price (a stock export sent again).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import itertools
import os
import pstats
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import catalog_data


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _fresh_postgres(url: str) -> None:
    """Drop and create the database of `url` (a throwaway one)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest calls")
    parser.add_argument(
        "--postgres", help="a throwaway PostgreSQL database URL (dropped and made anew)"
    )
    parser.add_argument(
        "--again", action="store_true", help="measure a second import of the same file"
    )
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="imports-cpu-")
    os.environ["DATA_DIR"] = workdir
    os.environ["IMPORT_BATCH_SIZE"] = str(args.batch)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    if args.postgres:
        _fresh_postgres(args.postgres)
        os.environ["DATABASE_URL"] = args.postgres
        os.environ.setdefault("SECRET_KEY", "imports-cpu-bench-" + "k" * 40)
    import django

    django.setup()
    from django.core.management import call_command

    from shelfwatch.accounts.models import StoreMembership, User
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.catalog.models import Product, VerificationStatus
    from shelfwatch.imports.processing import run_job
    from shelfwatch.imports.uploads import start_import
    from shelfwatch.inventory.models import Store

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    specs = [s for s in itertools.islice(catalog_data.iter_specs(), args.rows * 2) if s.barcode]
    catalog_data.load(specs[: args.rows])
    usable = Product.objects.exclude(status=VerificationStatus.REJECTED).exclude(barcode=None)
    codes = list(usable.values_list("barcode", flat=True)[: args.rows])
    user = User.objects.create_user(email="bench-owner@example.com", password="x" * 16)
    store = Store.objects.create(name="Bench Kirana", slug="bench-kirana", region="IN-MH")
    StoreMembership.objects.create(user=user, store=store, role="owner")
    principal = Principal.of(active_user(user.pk), "bench")
    path = Path(workdir) / "stock.csv"
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["Barcode", "Qty", "MRP"])
        for code in codes:
            price = rng.randint(10, 2500)
            mrp = rng.choices((f"{price}.00", f"\u20b9{price:,}", f"Rs. {price:,}"), (7, 2, 1))[0]
            writer.writerow([code, rng.randint(0, 400), mrp])

    def upload_file():
        with path.open("rb") as upload:
            return start_import(
                store=store,
                principal=principal,
                upload=upload,
                size=path.stat().st_size,
                original_name=path.name,
                allow_repeat=True,
                enqueue=False,
            )

    job = upload_file()
    if args.again:
        run_job(job.pk, owner="bench")
        job = upload_file()
    profiler = cProfile.Profile() if args.profile else None
    cpu, started = _cpu(), time.perf_counter()
    if profiler:
        profiler.enable()
    job = run_job(job.pk, owner="bench")
    if profiler:
        profiler.disable()
    cpu, seconds = _cpu() - cpu, time.perf_counter() - started
    rows = job.total_rows or 1
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"{rows:,} rows found by barcode{' (imported again)' if args.again else ''}: "
        f"{job.status}, {job.successful:,} placed, "
        f"{job.failed:,} failed; {seconds:.1f} s, CPU {cpu * 1000 / rows:.3f} ms/row "
        f"(profiled: {'yes' if profiler else 'no'}); {database}, batch {args.batch}; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stdout).sort_stats(
            os.environ.get("PROFILE_SORT", "cumulative")
        )
        stats.print_stats(args.profile)
        if os.environ.get("PROFILE_CALLERS"):
            stats.print_callers(os.environ["PROFILE_CALLERS"])


if __name__ == "__main__":
    main()
