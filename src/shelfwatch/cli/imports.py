"""The import commands: a CSV into a store (import), an Open Food Facts dump into the
catalog (import-off) and one barcode looked up there (off-lookup)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import django


def _parse_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not column.strip():
            raise ValueError(f"--map takes column=field (field empty to ignore it), not {pair!r}")
        mapping[column.strip()] = field.strip()
    return mapping


def cmd_import(args: argparse.Namespace) -> int:
    """`shelfwatch import`: preview, run here with a progress line per batch, or enqueue."""
    import json

    django.setup()
    from shelfwatch.errors import DomainError
    from shelfwatch.imports.processing import run_job
    from shelfwatch.imports.uploads import preview_file, start_import
    from shelfwatch.inventory.selectors import get_store_for

    try:
        mapping = _parse_map(args.map)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    principal = _principal_for(args.user)
    if principal is None:
        return 2
    path = Path(args.file)
    try:
        store = get_store_for(principal, args.store_id)
        with path.open("rb") as upload:
            size = path.stat().st_size
            if args.preview:
                print(json.dumps(preview_file(upload=upload, size=size, mapping=mapping), indent=2))
                return 0
            job = start_import(
                store=store,
                principal=principal,
                upload=upload,
                size=size,
                original_name=path.name,
                mode=args.mode,
                mapping=mapping,
                allow_repeat=args.allow_repeat,
                enqueue=args.enqueue,
            )
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error ({exc.code}): {exc.detail}", file=sys.stderr)
        return 1
    return _run_here(job, run_job, enqueue=args.enqueue, unit="rows")


def _run_here(job, run, *, enqueue: bool, unit: str) -> int:
    """Leave import `job` to a worker (`enqueue`), or run it here with `run`, printing a
    progress line per batch and the outcome; the exit status."""
    if enqueue:
        print(f"import {job.pk} queued; a worker runs it")
        return 0

    def counts(job) -> str:
        line = f"{job.successful} imported, {job.failed} failed, {job.skipped} skipped"
        if unit == "lines":  # a dump: its filters leave lines out
            line += f", {job.filtered_out} filtered out"
        return line

    def show(progress) -> None:
        print(
            f"import {progress.pk}: {progress.processed}/{progress.total_rows} {unit}, "
            + counts(progress),
            flush=True,
        )

    job = run(job.pk, progress=show)
    if job is None:
        print("error: the job is held by another worker", file=sys.stderr)
        return 1
    print(
        f"import {job.pk} {job.status}: {counts(job)}, "
        f"{job.duplicates_found} already in the catalog"
    )
    if job.error:
        print(f"error ({job.error_code}): {job.error}", file=sys.stderr)
    return 0 if job.status == "completed" else 1


def _principal_for(email: str | None):
    """The CLI's acting user: `email`, or the first platform admin; None, said on stderr,
    if there is none."""
    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user

    users = User.objects.filter(is_active=True)
    user = (
        users.filter(email__iexact=email).first()
        if email
        else users.filter(is_superuser=True).order_by("pk").first()
    )
    cached = active_user(user.pk) if user else None
    if cached is None:
        print("error: no such active user; name one with --user EMAIL", file=sys.stderr)
        return None
    return Principal.of(cached, "cli")


def cmd_import_off(args: argparse.Namespace) -> int:
    """`shelfwatch import-off`: a dump into the catalog, here with a progress line per batch,
    or queued for a worker."""
    django.setup()
    from shelfwatch.errors import DomainError
    from shelfwatch.imports.openfoodfacts.jobs import run_dump_job, start_dump_import

    principal = _principal_for(args.user)
    if principal is None:
        return 2
    try:
        job = start_dump_import(
            principal=principal,
            path=args.file,
            countries=args.country,
            categories=args.category,
            enqueue=args.enqueue,
        )
    except DomainError as exc:
        print(f"error ({exc.code}): {exc.detail}", file=sys.stderr)
        return 1
    return _run_here(job, run_dump_job, enqueue=args.enqueue, unit="lines")


def cmd_off_lookup(args: argparse.Namespace) -> int:
    """`shelfwatch off-lookup`: the catalog's product for a barcode, from Open Food Facts
    when only they know it."""
    import json

    django.setup()
    from shelfwatch.errors import DomainError
    from shelfwatch.imports.openfoodfacts.lookup import lookup_barcode

    principal = _principal_for(args.user)
    if principal is None:
        return 2
    try:
        result = lookup_barcode(principal=principal, barcode=args.barcode)
    except DomainError as exc:
        print(f"error ({exc.code}): {exc.detail}", file=sys.stderr)
        return 1
    product = result.product
    shown = {
        "id": product.pk,
        "created": result.created,
        "status": product.status,
        "name": product.name,
        "brand": product.brand,
        "barcode": product.barcode,
        "net_quantity": str(product.net_quantity) if product.net_quantity else None,
        "net_unit": product.net_unit,
        "category_id": product.category_id,
        "regional_names": {
            name.language: name.name for name in product.regional_names.order_by("language")
        },
    }
    print(json.dumps(shown, ensure_ascii=False, indent=2))
    return 0
