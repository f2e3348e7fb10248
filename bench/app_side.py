"""The benchmarks' helpers that run inside Shelfwatch (its settings, its database).

Started as a subprocess by http_baseline.py and sse_fanout.py with the same environment
as the server under test; not meant to be run by hand, but it can be:

    DATA_DIR=/tmp/x .venv/bin/python bench/app_side.py token --email bench@example.com
        prints an access token for that user, creating the user first if needed

    DATA_DIR=/tmp/x .venv/bin/python bench/app_side.py tokens --count 500
        creates users bench-0@example.com ... (no usable password) if needed and prints
        one access token per user, one a line

    DATA_DIR=/tmp/x .venv/bin/python bench/app_side.py emit --topic product:1 --count 30
        prints "ready", waits for a line on stdin, then emits `count` events (each in its
        own transaction, `interval` seconds apart) whose payload carries the wall-clock
        time of the emit; one JSON line per event reports when it was emitted and committed
        (committed_at includes the after-commit hooks: bus publish, dispatch enqueue), a
        last line the CPU seconds the emitting took
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

BENCH_PASSWORD = "bench-password-0123"  # noqa: S105 - a throwaway user in a throwaway database


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")
    import django

    django.setup()


def issue_token(email: str) -> str:
    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.tokens import issue_access_token

    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=BENCH_PASSWORD)
    token, _expires = issue_access_token(user=user)
    return token


def issue_tokens(count: int) -> list[str]:
    from django.db import transaction

    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.tokens import issue_access_token

    emails = [f"bench-{n}@example.com" for n in range(count)]
    with transaction.atomic():
        existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        for email in emails:
            if email not in existing:
                User.objects.create_user(email=email, password=None)
    users = User.objects.filter(email__in=emails).order_by("pk")
    return [issue_access_token(user=user)[0] for user in users]


def emit_events(*, topic: str, count: int, interval: float, run_id: str) -> None:
    from django.db import connection, transaction

    from shelfwatch.events.publishing import emit

    with connection.cursor() as cursor:  # open the connection before the clock starts
        cursor.execute("SELECT 1")
    print("ready", flush=True)
    if not sys.stdin.readline():
        return
    start = time.monotonic()
    cpu_start = _cpu_seconds()
    for seq in range(count):
        sent_at = time.time()
        with transaction.atomic():
            emit(
                type="bench.tick",
                payload={"bench_run": run_id, "bench_seq": seq, "sent_at": sent_at},
                topics=[topic],
            )
        committed_at = time.time()
        print(json.dumps({"seq": seq, "sent_at": sent_at, "committed_at": committed_at}))
        sys.stdout.flush()
        # Keep a steady cadence whatever a commit costs.
        delay = start + (seq + 1) * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"cpu_seconds": _cpu_seconds() - cpu_start}), flush=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print an access token for a (new) user")
    token.add_argument("--email", default="bench@example.com")
    tokens = commands.add_parser("tokens", help="print access tokens for many (new) users")
    tokens.add_argument("--count", type=int, default=500)
    emit = commands.add_parser("emit", help="emit timed events after a line on stdin")
    emit.add_argument("--topic", required=True)
    emit.add_argument("--count", type=int, default=30)
    emit.add_argument("--interval", type=float, default=0.1)
    emit.add_argument("--run-id", default="bench")
    args = parser.parse_args()

    setup_django()
    if args.command == "token":
        print(issue_token(args.email))
    elif args.command == "tokens":
        print("\n".join(issue_tokens(args.count)))
    else:
        emit_events(topic=args.topic, count=args.count, interval=args.interval, run_id=args.run_id)


if __name__ == "__main__":
    main()
