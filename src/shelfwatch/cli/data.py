"""The data commands: demo, createadmin, backup, restore, recommend-refresh and the
analytics roll-up and reports."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

import django


def cmd_demo(args: argparse.Namespace) -> int:
    """Load the demo data and print the logins; returns 2 without `--force` on a database neither
    embedded nor DEBUG, or when it is not migrated."""
    from django.conf import settings

    django.setup()
    from shelfwatch.ops.demo import load_demo_data

    if not (settings.EMBEDDED or settings.DEBUG or args.force):
        print(
            "error: refusing to create demo accounts with published passwords on a production"
            " database; pass --force if this really is a demo install.",
            file=sys.stderr,
        )
        return 2
    if not _database_ready_for_demo():
        return 2
    summary = load_demo_data()
    print(
        f"Demo data: {sum(a.created for a in summary.accounts)} accounts,"
        f" {summary.stores_created} stores, {summary.memberships_created} memberships,"
        f" {summary.products_created} products and {summary.stock_items_created} stock items"
        " created."
    )
    print("Logins:")
    for loaded in summary.accounts:
        account = loaded.account
        password = account.password if loaded.created else "(existing account, unchanged)"
        print(f"  {account.role:<15} {account.email:<30} {password}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a backup archive to `--to`, BACKUP_DIR or DATA_DIR/backups, then keep only the newest
    `--keep` if given; returns 1 when the backup fails."""
    from django.conf import settings

    django.setup()
    from shelfwatch.ops.backup import BackupError, create_backup, prune_backups

    destination = Path(args.to or settings.BACKUP_DIR or settings.DATA_DIR / "backups")
    try:
        create_backup(destination=destination, progress=lambda line: print(line, flush=True))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.keep:
        for path in prune_backups(destination=destination, keep=args.keep):
            print(f"removed the old backup {path.name}")
    return 0


def cmd_recommend_refresh(args: argparse.Namespace) -> int:
    """Rebuild the bought-together, also-viewed and similar-products lists in the foreground,
    printing counts as it goes."""
    django.setup()
    from shelfwatch.recommend.refresh import refresh_all

    written = refresh_all(progress=lambda line: print(line, flush=True))
    print(
        f"done: {written['together']} together rows, {written['similar']} similar rows, "
        f"{written['also_viewed']} also-viewed rows"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore an archive into the empty installation and migrate it up to date; returns 1 when the
    restore is refused or fails."""
    from django.core.management import call_command

    django.setup()
    from shelfwatch.ops.backup import BackupError, restore_backup

    try:
        restored = restore_backup(
            archive_path=Path(args.archive), progress=lambda line: print(line, flush=True)
        )
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Bringing the database from version {restored.version} up to date...", flush=True)
    call_command("migrate", interactive=False, verbosity=1)
    return 0


def _database_ready_for_demo() -> bool:
    """Bring the embedded database up to date (as `serve` does); elsewhere only check it,
    saying what to run, since migrating a shared production database is the operator's
    decision. False when the demo cannot be loaded yet."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    if settings.EMBEDDED:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        return True
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        print(
            "error: the database has migrations that are not applied yet; run"
            " `shelfwatch migrate` first, then `shelfwatch demo` again.",
            file=sys.stderr,
        )
        return False
    return True


def cmd_createadmin(args: argparse.Namespace) -> int:
    """Create a platform admin, asking for what is missing on a terminal; returns 2 for missing
    input, 1 for mismatched passwords, a taken email or a refused password."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    django.setup()
    from shelfwatch.accounts.models import User

    interactive = sys.stdin.isatty()
    email = args.email
    password = args.password or os.environ.get("SHELFWATCH_ADMIN_PASSWORD")
    if not email or not password:
        if not interactive:
            print(
                "error: --email and --password (or SHELFWATCH_ADMIN_PASSWORD) are required"
                " when not running interactively.",
                file=sys.stderr,
            )
            return 2
        email = email or input("Email: ").strip()
        if not password:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                print("error: the passwords do not match.", file=sys.stderr)
                return 1
    email = User.objects.normalize_email(email).lower()
    if not email or "@" not in email:
        print("error: an email address is required.", file=sys.stderr)
        return 2
    if User.objects.filter(email=email).exists():
        print(f"error: a user with email {email} already exists.", file=sys.stderr)
        return 1
    try:
        validate_password(password, User(email=email))
    except ValidationError as exc:
        for message in exc.messages:
            print(f"error: {message}", file=sys.stderr)
        return 1
    User.objects.create_superuser(email=email, password=password)
    print(f"Created platform admin {email}.")
    return 0


def cmd_analytics_rollup(args: argparse.Namespace) -> int:
    """Write the recorded views out, then roll one UTC day up (replacing it); returns 2 for
    a date that is not YYYY-MM-DD."""
    from datetime import date

    django.setup()
    from shelfwatch.analytics import rollup, tracking, visitors

    try:
        day = date.fromisoformat(args.day) if args.day else visitors.today()
    except ValueError:
        print(f"error: --day {args.day!r} is not a date written YYYY-MM-DD", file=sys.stderr)
        return 2
    flushed = tracking.flush()
    written = rollup.roll_up_day(day=day)
    print(f"flushed {flushed['views']} views and {flushed['search_misses']} search misses")
    print(
        f"rolled up {day}: {written['product_days']} product days, {written['store_days']} "
        f"store days, {written['alert_channel_days']} alert channel days, "
        f"{written['search_miss_days']} search-miss rows"
    )
    return 0


def cmd_analytics_report(args: argparse.Namespace) -> int:
    """Build and email one store's (or the platform's) report by hand, unless it was
    already; returns 2 for bad input (a bad date, an unknown store, a period not over)."""
    from datetime import date

    django.setup()
    from shelfwatch.analytics.reports import build_by_hand
    from shelfwatch.errors import DomainError
    from shelfwatch.inventory.models import Store

    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"error: --date {args.date!r} is not a date written YYYY-MM-DD", file=sys.stderr)
        return 2
    store = None
    if args.store is not None:
        store = Store.objects.filter(pk=args.store).first()
        if store is None:
            print(f"error: there is no store {args.store}", file=sys.stderr)
            return 2
    try:
        report = build_by_hand(store=store, day=day, kind=args.kind)
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scope = f"store {store.pk}" if store else "the platform"
    print(
        f"{report.kind} report {report.pk} for {scope}, {report.first_day} to {report.last_day}: "
        f"{report.status}, emailed to {report.recipients}"
        + (f" (last error: {report.last_error})" if report.last_error else "")
    )
    return 0 if report.status == "sent" else 1
