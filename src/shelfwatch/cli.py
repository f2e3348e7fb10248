"""The `shelfwatch` command.

shelfwatch serve            everything on one port (front, task worker, scheduler), supervised
shelfwatch web              Django on granian's WSGI interface (scale-out web workers)
shelfwatch stream           the SSE stream server (granian ASGI)
shelfwatch front            the single-port ASGI front that `serve` runs
shelfwatch worker           the task worker of the configured backend
shelfwatch scheduler        the periodic-work scheduler (one holds the lease)
shelfwatch demo             load the demo accounts and stores
shelfwatch createadmin      create a platform admin
shelfwatch import           import a CSV file into a store's inventory (or preview it)
shelfwatch import-off       import an Open Food Facts dump (JSONL or CSV export) into the catalog
shelfwatch off-lookup       look a barcode up at Open Food Facts (creating a pending product)
shelfwatch recommend-refresh  rebuild the recommendation lists now (the nightly job's work)
shelfwatch manage <cmd>     any Django management command; `shelfwatch <cmd>` works too
                            (Shelfwatch's own: deliver, feeds; `shelfwatch --help` lists them)
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shelfwatch.ops.supervisor import ChildSpec

SETTINGS_MODULE = "shelfwatch.config.settings"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
OWN_COMMANDS = frozenset(
    {
        "serve",
        "web",
        "stream",
        "front",
        "worker",
        "scheduler",
        "demo",
        "createadmin",
        "backup",
        "restore",
        "import",
        "import-off",
        "off-lookup",
        "recommend-refresh",
        "analytics-rollup",
        "analytics-report",
        "manage",
    }
)


def _setup_django() -> None:
    import django

    django.setup()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


# --- servers ------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    """Run what `serve_children` lists under one supervisor until stopped, migrating the embedded
    database first; returns the exit status (2 for a bad `--task-workers`)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from shelfwatch.ops.servers import fresh_metrics_dir
    from shelfwatch.ops.supervisor import Supervisor

    if args.task_workers < 1:
        print("--task-workers must be at least 1", file=sys.stderr)
        return 2
    _setup_django()
    if settings.EMBEDDED:
        print("Preparing the embedded database...", flush=True)
        call_command("migrate", interactive=False, verbosity=1)
        call_command("createcachetable", verbosity=1)
        # Children open their own connections; the supervisor keeps none.
        connections.close_all()
    metrics_dir = fresh_metrics_dir(settings.DATA_DIR, "serve")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    site_url = serve_site_url(args.host, args.port)
    if settings.EMBEDDED and not os.environ.get("SITE_URL"):
        # Links in emails (codes, manage, unsubscribe, orders) point where this serve runs;
        # off the embedded setup SITE_URL is the public address and must be set.
        env["SITE_URL"] = site_url
    specs = serve_children(host=args.host, port=args.port, task_workers=args.task_workers)
    print(f"Shelfwatch is running at {site_url}/  (Ctrl-C to stop)", flush=True)
    try:
        return Supervisor(specs, env=env).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def serve_site_url(host: str, port: int) -> str:
    """The base URL a browser on this machine uses for `serve --host host --port port`: a
    wildcard bind is reached on the loopback address."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve_children(*, host: str, port: int, task_workers: int) -> list[ChildSpec]:
    """What `serve` supervises: the front, `task_workers` task workers, a worker that only
    delivers notifications (a long poll or feed refresh never holds alerts back) and the
    scheduler."""
    from shelfwatch.ops.supervisor import ChildSpec

    me = [sys.executable, "-m", "shelfwatch"]
    workers = [
        ChildSpec("worker" if task_workers == 1 else f"worker-{number}", [*me, "worker"])
        for number in range(1, task_workers + 1)
    ]
    return [
        ChildSpec("front", [*me, "front", "--host", host, "--port", str(port)]),
        *workers,
        ChildSpec("delivery", [*me, "worker", "--queues", "notify"]),
        ChildSpec("scheduler", [*me, "scheduler"]),
    ]


def cmd_web(args: argparse.Namespace) -> int:
    """Serve Django over WSGI with granian until stopped; several workers share one metrics
    directory. Returns 0."""
    from django.conf import settings

    from shelfwatch.ops.servers import (
        WSGI_TARGET,
        fresh_metrics_dir,
        run_granian,
        web_backpressure,
    )

    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Set before granian forks its workers (and before they import prometheus_client),
        # so a scrape of any worker reports all of them.
        metrics_dir = fresh_metrics_dir(settings.DATA_DIR, "web")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    try:
        run_granian(
            interface="wsgi",
            target=WSGI_TARGET,
            host=args.host,
            port=args.port,
            workers=args.workers,
            blocking_threads=args.threads,
            # A limit on connections, not requests (see servers.web_backpressure): every
            # keep-alive client is accepted and its requests wait their turn for a thread.
            backpressure=web_backpressure(),
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def cmd_stream(args: argparse.Namespace) -> int:
    """Serve the SSE streams over ASGI with granian until stopped. Returns 0."""
    from shelfwatch.ops.servers import (
        STREAM_BACKLOG,
        STREAM_TARGET,
        raise_open_files_limit,
        run_granian,
        stream_backpressure,
    )

    raise_open_files_limit()
    run_granian(
        interface="asgi",
        target=STREAM_TARGET,
        host=args.host,
        port=args.port,
        workers=args.workers,
        backpressure=stream_backpressure(),
        backlog=STREAM_BACKLOG,
    )
    return 0


def cmd_front(args: argparse.Namespace) -> int:
    """Serve the single-port ASGI front (streams natively, the rest through Django) with one granian
    worker until stopped. Returns 0."""
    from shelfwatch.ops.servers import (
        FRONT_TARGET,
        STREAM_BACKLOG,
        front_backpressure,
        raise_open_files_limit,
        run_granian,
    )

    raise_open_files_limit()
    run_granian(
        interface="asgi",
        target=FRONT_TARGET,
        host=args.host,
        port=args.port,
        workers=1,
        backpressure=front_backpressure(),
        backlog=STREAM_BACKLOG,
    )
    return 0


# --- background processes -----------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the task worker of the default task backend (RQ or the database) on `--queues`, default
    all configured. Returns 0."""
    from django.conf import settings
    from django.core.management import call_command

    _setup_django()
    config = settings.TASKS["default"]
    queues = args.queues.split(",") if args.queues else list(config.get("QUEUES", ["default"]))
    if config["BACKEND"] == "django_tasks_rq.RQBackend":
        # Without django_tasks_rq's job class every task fails; the RQ scheduler runs tasks
        # deferred with run_after.
        call_command("rqworker", *queues, "--job-class", "django_tasks_rq.Job", "--with-scheduler")
    else:
        call_command("db_worker", "--queue-name", ",".join(queues), "--no-reload")
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    """Run the scheduler until SIGINT or SIGTERM, or one round with `--once`; returns 1 if the loop
    failed, else 0."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    _setup_django()
    from shelfwatch.ops.scheduler import Scheduler, current_holder, default_lease

    jobs = import_string(args.jobs)
    tick = args.tick if args.tick is not None else settings.SCHEDULER_TICK_SECONDS
    lease_seconds = args.lease if args.lease is not None else settings.SCHEDULER_LEASE_SECONDS
    if lease_seconds <= 2 * tick:
        print(
            f"warning: the lease ({lease_seconds}s) should exceed two ticks ({tick}s each)",
            file=sys.stderr,
        )
    scheduler = Scheduler(jobs=jobs, lease=default_lease(seconds=lease_seconds), tick_seconds=tick)
    if args.once:
        enqueued = scheduler.tick()
        if scheduler.holding:
            scheduler.lease.release()
        elif holder := current_holder():
            print(f"enqueued: nothing (scheduler {holder} holds the lease)")
            return 0
        print(f"enqueued: {', '.join(enqueued) or 'nothing due'}")
        return 0
    stop = threading.Event()
    # The loop runs in its own thread: a signal handler runs in the main thread, and its
    # stop.set() could wait forever for the Event's lock if the main thread were holding
    # it inside stop.wait() at that instant.
    failed: list[BaseException] = []

    def run() -> None:
        try:
            scheduler.run(stop)
        except BaseException as exc:
            failed.append(exc)
            raise

    runner = threading.Thread(target=run, name="scheduler")
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner.start()
    while runner.is_alive():
        runner.join(0.5)
    return 1 if failed else 0


# --- data -----------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Load the demo data and print the logins; returns 2 without `--force` on a database neither
    embedded nor DEBUG, or when it is not migrated."""
    from django.conf import settings

    _setup_django()
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

    _setup_django()
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
    _setup_django()
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

    _setup_django()
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

    _setup_django()
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
        print("error: no such active user; name one with --user EMAIL", file=sys.stderr)
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
    """The CLI's acting user: `email`, or the first platform admin; None if there is none."""
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
    return Principal.of(cached, "cli") if cached else None


def cmd_import_off(args: argparse.Namespace) -> int:
    """`shelfwatch import-off`: a dump into the catalog, here with a progress line per batch,
    or queued for a worker."""
    _setup_django()
    from shelfwatch.errors import DomainError
    from shelfwatch.imports.openfoodfacts.jobs import run_dump_job, start_dump_import

    principal = _principal_for(args.user)
    if principal is None:
        print("error: no such active user; name one with --user EMAIL", file=sys.stderr)
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

    _setup_django()
    from shelfwatch.errors import DomainError
    from shelfwatch.imports.openfoodfacts.lookup import lookup_barcode

    principal = _principal_for(args.user)
    if principal is None:
        print("error: no such active user; name one with --user EMAIL", file=sys.stderr)
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

    _setup_django()
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


# --- Django management ----------------------------------------------------------------------


def run_django(argv: Sequence[str]) -> int:
    """Run a Django management command with `argv`; returns 0 (a failing command exits itself)."""
    from django.core.management import execute_from_command_line

    execute_from_command_line(["shelfwatch", *argv])
    return 0


def cmd_analytics_rollup(args: argparse.Namespace) -> int:
    """Write the recorded views out, then roll one UTC day up (replacing it); returns 2 for
    a date that is not YYYY-MM-DD."""
    from datetime import date

    _setup_django()
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

    _setup_django()
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


def cmd_manage(args: argparse.Namespace) -> int:
    """Run the Django management command given after `manage`, or its help."""
    return run_django(args.django_args or ["help"])


# --- parser ---------------------------------------------------------------------------------


def _add_bind(parser: argparse.ArgumentParser, port: int = DEFAULT_PORT) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help="bind address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=port, help="bind port (default: %(default)s)")


def project_management_commands() -> list[str]:
    """The management commands Shelfwatch's own apps define (deliver, feeds, ...), found
    on disk so that `--help` lists them without setting Django up."""
    root = Path(__file__).resolve().parent
    return sorted(
        path.stem
        for path in root.glob("*/management/commands/*.py")
        if not path.stem.startswith("_")
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every `shelfwatch` command, each subcommand's handler set as
    `handler`."""
    from shelfwatch.ops.servers import DEFAULT_WEB_THREADS, default_web_workers

    own = ", ".join(project_management_commands())
    parser = argparse.ArgumentParser(
        prog="shelfwatch",
        description="Run and manage a Shelfwatch installation.",
        epilog=(
            f"Shelfwatch's own management commands: {own} (`shelfwatch <command> --help`). "
            "Any other command is a Django management command: `shelfwatch migrate`, "
            "`shelfwatch check --deploy`, `shelfwatch shell`; `shelfwatch manage help` lists them."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str):
        p = sub.add_parser(name, help=text, description=text)
        p.set_defaults(handler=handler)
        return p

    p = command("serve", cmd_serve, "run everything on one port: web front, task worker, scheduler")
    _add_bind(p)
    p.add_argument(
        "--task-workers",
        type=int,
        default=_env_int("TASK_WORKERS", 1),
        help="task worker processes (default: TASK_WORKERS or 1); more let a long feed "
        "refresh or shop poll run beside notification delivery",
    )

    p = command("web", cmd_web, "serve Django over WSGI with granian (threads per worker)")
    _add_bind(p)
    p.add_argument(
        "--workers",
        type=int,
        default=_env_int("WEB_WORKERS", default_web_workers()),
        help="worker processes (default: WEB_WORKERS or one per CPU core, at most 8)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=_env_int("WEB_THREADS", DEFAULT_WEB_THREADS),
        help="request threads per worker (default: WEB_THREADS or 4)",
    )

    p = command("stream", cmd_stream, "serve the SSE streams over ASGI with granian")
    _add_bind(p, port=8001)
    p.add_argument(
        "--workers",
        type=int,
        default=_env_int("STREAM_WORKERS", 1),
        help="worker processes (default: STREAM_WORKERS or 1; one holds thousands of clients)",
    )

    p = command("front", cmd_front, "serve the single-port ASGI front that `serve` runs")
    _add_bind(p)

    p = command("worker", cmd_worker, "run the task worker of the configured task backend")
    p.add_argument("--queues", default="", help="comma-separated queues (default: all configured)")

    p = command("scheduler", cmd_scheduler, "run the periodic-work scheduler (lease-elected)")
    p.add_argument(
        "--jobs",
        default="shelfwatch.config.periodic.PERIODIC_JOBS",
        help="dotted path of the PeriodicJob list (default: %(default)s)",
    )
    p.add_argument("--tick", type=float, help="seconds between rounds (SCHEDULER_TICK_SECONDS)")
    p.add_argument("--lease", type=float, help="lease length in seconds (SCHEDULER_LEASE_SECONDS)")
    p.add_argument("--once", action="store_true", help="run one round and exit")

    p = command("demo", cmd_demo, "load the demo accounts and stores (idempotent)")
    p.add_argument(
        "--force", action="store_true", help="allow on a non-embedded, non-DEBUG installation"
    )

    p = command("backup", cmd_backup, "write a backup archive: database, media and feeds")
    p.add_argument("--to", help="folder for the archive (default: BACKUP_DIR or DATA_DIR/backups)")
    p.add_argument("--keep", type=int, default=0, help="then keep only the newest N archives")

    command(
        "recommend-refresh",
        cmd_recommend_refresh,
        "rebuild the recommendation lists now (bought together, also viewed, similar products)",
    )

    p = command("restore", cmd_restore, "restore a backup into an empty database and data folder")
    p.add_argument("archive", help="the shelfwatch-backup-*.tar to restore")

    p = command("createadmin", cmd_createadmin, "create a platform admin (superuser)")
    p.add_argument("--email", help="login email (prompted when interactive)")
    p.add_argument(
        "--password",
        help="password (prompted when interactive; SHELFWATCH_ADMIN_PASSWORD also works)",
    )

    p = command("import", cmd_import, "import a CSV file into a store's inventory")
    p.add_argument("store_id", type=int, help="the store's id")
    p.add_argument("file", help="the CSV file")
    p.add_argument("--mode", default="both", choices=["create", "update", "both"])
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="read COLUMN as FIELD (empty FIELD ignores it); repeat for more columns",
    )
    p.add_argument(
        "--preview", action="store_true", help="show the first rows as read; write nothing"
    )
    p.add_argument("--allow-repeat", action="store_true", help="import a file imported before")
    p.add_argument("--enqueue", action="store_true", help="queue it for a worker instead")
    p.add_argument("--user", help="import as this user (default: the first platform admin)")

    p = command("import-off", cmd_import_off, "import an Open Food Facts dump into the catalog")
    p.add_argument("file", help="the JSONL dump or the CSV export (.gz or not)")
    p.add_argument(
        "--country",
        action="append",
        default=[],
        metavar="TAG",
        help="keep products sold there, e.g. en:india; repeat for more",
    )
    p.add_argument(
        "--category",
        action="append",
        default=[],
        metavar="TAG",
        help="keep products of this category, e.g. en:biscuits; repeat for more",
    )
    p.add_argument("--enqueue", action="store_true", help="queue it for a worker instead")
    p.add_argument("--user", help="import as this admin (default: the first platform admin)")

    p = command("off-lookup", cmd_off_lookup, "look a barcode up at Open Food Facts")
    p.add_argument("barcode", help="an EAN-8, UPC-A, EAN-13 or GTIN-14")
    p.add_argument("--user", help="act as this user (default: the first platform admin)")

    p = command(
        "analytics-rollup",
        cmd_analytics_rollup,
        "roll one day of views, orders, alerts and restocks up into the daily figures",
    )
    p.add_argument(
        "--day",
        help="the day (each store's own date), YYYY-MM-DD (default: today in UTC); "
        "re-running replaces it",
    )

    p = command(
        "analytics-report",
        cmd_analytics_report,
        "build and email one daily or weekly report now (once per period: a repeat shows it)",
    )
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--store", type=int, help="the store's id")
    scope.add_argument("--platform", action="store_true", help="the report of every store")
    p.add_argument("--date", required=True, help="a UTC day of the period, YYYY-MM-DD")
    p.add_argument("--kind", choices=("daily", "weekly"), default="daily")

    p = command("manage", cmd_manage, "run a Django management command")
    p.add_argument("django_args", nargs=argparse.REMAINDER, help="command and its arguments")
    assert set(sub.choices) == OWN_COMMANDS
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `shelfwatch` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    parser = build_parser()
    first = args_list[0] if args_list else ""
    if first and not first.startswith("-") and first not in OWN_COMMANDS:
        # Not ours: a Django management command (migrate, check, shell, createsuperuser...).
        sys.exit(run_django(args_list))
    if first == "manage" and len(args_list) > 1 and args_list[1] not in ("-h", "--help"):
        sys.exit(run_django(args_list[1:]))
    args, unknown = parser.parse_known_args(args_list)
    if unknown:
        # Report it with the subcommand's usage (`serve --prot 8151` shows serve's options),
        # not the top-level one argparse would print.
        subparser = _subparsers(parser).get(args.command or "", parser)
        subparser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "handler", None):
        parser.print_help()
        sys.exit(0)
    sys.exit(args.handler(args))
