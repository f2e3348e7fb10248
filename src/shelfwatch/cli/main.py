"""The `shelfwatch` command: its parser and entry point; the commands live beside it.

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
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from shelfwatch.cli.data import (
    cmd_analytics_report,
    cmd_analytics_rollup,
    cmd_backup,
    cmd_createadmin,
    cmd_demo,
    cmd_recommend_refresh,
    cmd_restore,
)
from shelfwatch.cli.imports import cmd_import, cmd_import_off, cmd_off_lookup
from shelfwatch.cli.servers import (
    cmd_front,
    cmd_scheduler,
    cmd_serve,
    cmd_stream,
    cmd_web,
    cmd_worker,
)

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


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


# --- Django management ----------------------------------------------------------------------


def run_django(argv: Sequence[str]) -> int:
    """Run a Django management command with `argv`; returns 0 (a failing command exits itself)."""
    from django.core.management import execute_from_command_line

    execute_from_command_line(["shelfwatch", *argv])
    return 0


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
    root = Path(__file__).resolve().parent.parent
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
