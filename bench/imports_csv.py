"""Spreadsheet import throughput: rows per second and peak memory of one import job.

Run from the repository root:

    .venv/bin/python bench/imports_csv.py [--rows 20000] [--batch 250] [--postgres URL]

A realistic grocery CSV is generated (brands, product kinds, sizes such as "500 g" and
"1 l", prices written "Rs. 1,299" or "₹45.00", valid EAN-13 barcodes, SKUs; about 1 % of
rows carry a mistake: a negative quantity, a bad check digit or a price that is not one).
Each deployment gets a fresh database: SQLite under a new data directory, and with
`--postgres` the PostgreSQL database that URL names (it is dropped and created again, so
give it a throwaway name). In a subprocess per deployment the database is migrated, a
store and its owner are made, and the file is imported with `imports.processing.run_job`
exactly as a worker runs it (every row creates a pending catalog product through the
matcher, a stock item, and its opening stock through the ledger). Printed per deployment:
rows, seconds, rows/s, the job's counts and the subprocess's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
# A non-embedded installation wants its secrets and transport settings spelled out.
SCALE_OUT = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_COOKIES": "0",
    "SECURE_HSTS_SECONDS": "0",
}
BRANDS = ["Tata", "Amul", "Aashirvaad", "Fortune", "Parle", "Britannia", "Haldiram's", "MTR"]
BRANDS += ["Everest", "Catch", "Saffola", "Patanjali", "Dabur", "Nestle", "Mother Dairy"]
KINDS = [
    ("Toor Dal", "g"),
    ("Basmati Rice", "kg"),
    ("Sunflower Oil", "l"),
    ("Atta", "kg"),
    ("Turmeric Powder", "g"),
    ("Garam Masala", "g"),
    ("Glucose Biscuits", "g"),
    ("Salted Butter", "g"),
    ("Toned Milk", "ml"),
    ("Instant Noodles", "g"),
    ("Green Tea", "pcs"),
    ("Rock Salt", "kg"),
    ("Mango Pickle", "g"),
    ("Bhujia Namkeen", "g"),
    ("Rava Idli Mix", "g"),
]
SIZES = {"g": ["50 g", "100 g", "200 g", "500 g"], "kg": ["1 kg", "5 kg", "0.5 kg"]}
SIZES |= {"l": ["1 l", "500 ml", "5 l"], "ml": ["200 ml", "500 ml"], "pcs": ["25 pcs", "100 pcs"]}


def check_digit(body: str) -> str:
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Item Code,Product Name,Brand,EAN,Net Qty,Closing Stock,MRP,Cost Price\n")
        for n in range(rows):
            brand = rng.choice(BRANDS)
            kind, unit = rng.choice(KINDS)
            size = rng.choice(SIZES[unit])
            body = f"890{n:09d}"
            barcode = body + check_digit(body)
            quantity = str(rng.randint(0, 400))
            price = rng.randint(10, 2500)
            mrp = rng.choice([f'"Rs. {price:,}"', f"\u20b9{price}.00", str(price)])
            roll = rng.random()
            if roll < 0.004:
                quantity = "-" + quantity
            elif roll < 0.007:
                barcode = body + str((int(check_digit(body)) + 1) % 10)
            elif roll < 0.01:
                mrp = "on request"
            out.write(
                f"SKU{n:07d},{brand} {kind} {n},{brand},{barcode},{size},{quantity},{mrp},"
                f"{price * 0.8:.2f}\n"
            )


# --- inside a deployment --------------------------------------------------------------------


def inner(csv_path: str, batch: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")
    os.environ["IMPORT_BATCH_SIZE"] = str(batch)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from shelfwatch.accounts.models import StoreMembership, User
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.imports.processing import run_job
    from shelfwatch.imports.uploads import start_import
    from shelfwatch.inventory.models import Store

    user = User.objects.create_user(email="bench-owner@example.com", password="x" * 16)
    store = Store.objects.create(name="Bench Kirana", slug="bench-kirana")
    StoreMembership.objects.create(user=user, store=store, role="owner")
    principal = Principal.of(active_user(user.pk), "bench")
    path = Path(csv_path)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with path.open("rb") as upload:
        job = start_import(
            store=store,
            principal=principal,
            upload=upload,
            size=path.stat().st_size,
            original_name=path.name,
            enqueue=False,
        )
    job = run_job(job.pk, owner="bench")
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "status": job.status,
                "rows": job.total_rows,
                "successful": job.successful,
                "failed": job.failed,
                "seconds": seconds,
                "rss_before_mib": rss_before / 1024,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


# --- the driver -----------------------------------------------------------------------------


def _recreate_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def run_deployment(name: str, csv_path: Path, batch: int, env: dict[str, str]) -> dict:
    command = [sys.executable, __file__, "--inner", str(csv_path), "--batch", str(batch)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"{name} failed:\n{result.stdout}\n{result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["deployment"] = name
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--postgres", help="a throwaway PostgreSQL database URL to use too")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.inner, args.batch)
        return
    with tempfile.TemporaryDirectory(prefix="imports-bench-") as tmp:
        csv_path = Path(tmp) / "grocery.csv"
        generate(csv_path, args.rows)
        size_mib = csv_path.stat().st_size / 2**20
        print(f"{args.rows} rows, {size_mib:.1f} MiB, batches of {args.batch}", flush=True)
        base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        base |= {"LOG_LEVEL": "WARNING", "PYTHONPATH": str(REPO / "src")}
        runs = [("SQLite", {**base, "DATA_DIR": str(Path(tmp) / "sqlite")})]
        if args.postgres:
            _recreate_postgres(args.postgres)
            runs.append(
                (
                    "PostgreSQL",
                    {**base, **SCALE_OUT, "DATA_DIR": str(Path(tmp) / "pg")}
                    | {"DATABASE_URL": args.postgres},
                )
            )
        print("| deployment | rows | imported | failed | seconds | rows/s | peak RSS MiB |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, env in runs:
            f = run_deployment(name, csv_path, args.batch, env)
            print(
                f"| {name} | {f['rows']:,} | {f['successful']:,} | {f['failed']:,} | "
                f"{f['seconds']:.1f} | {f['rows'] / f['seconds']:,.0f} | "
                f"{f['peak_rss_mib']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
