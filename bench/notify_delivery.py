"""Delivering pending WhatsApp notifications to a fake Cloud API with two worker processes:
time for 100,000 with no limit, and the achieved rate with the limit at 1,000/s and 80/s.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/notify_delivery.py [--count 100000] [--skip-embedded]

The fake (tests/fakes/fast_whatsapp.py, its own process) accepts messages as the Cloud API
does and measures what it receives: acceptances per sliding second, duplicates. For each
deployment and scenario: N verified contacts with one pending code notification each are
created (not timed), then two `shelfwatch deliver` processes are started together and
timed until both finish (they stop when nothing is due). Targets: 100,000 in under 60 s
with no limit; at 1,000/s and 80/s, the achieved rate within 5 % of the limit and never
above it in any second.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import cpuload
import deployments
import machine
from inner_process import run_inner, setup_django
from servers import REPO_DIR
from tables import render_table

WORKERS = 2
SCENARIOS = (  # label, limit (0: none of ours), share of --count
    ("no limit", 0, 1.0),
    ("limit 1,000/s", 1000, 0.25),
    ("limit 80/s", 80, 0.03),
)


def inner_prepare(count: int, tag: str) -> dict:
    from django.utils import timezone

    from shelfwatch.alerts.models import Contact
    from shelfwatch.notify.models import Notification

    started = time.perf_counter()
    made = 0
    while made < count:
        size = min(5000, count - made)
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    channel="whatsapp",
                    address=f"+91{6 + n % 4}{tag}{n:08d}"[:13],
                    verified_at=timezone.now(),
                )
                for n in range(made, made + size)
            ]
        )
        Notification.objects.bulk_create(
            [
                Notification(
                    contact=c,
                    channel="whatsapp",
                    template="verify_code",
                    context={"code": "482913", "minutes": 10},
                    urgent=True,
                    idempotency_key=f"bench:{tag}:{c.pk}",
                )
                for c in contacts
            ]
        )
        made += size
    return {"seconds": round(time.perf_counter() - started, 1)}


def inner_count() -> dict:
    from shelfwatch.notify.models import Notification

    by_status = {}
    for status in ("pending", "sending", "sent", "failed"):
        by_status[status] = Notification.objects.filter(status=status).count()
    return by_status


def _control(info: dict, path: str, method: str = "GET") -> dict:
    request = urllib.request.Request(info["control"] + path, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def _fake() -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fast_whatsapp", "--port", "0", "--stop-on-stdin-eof"],
        cwd=REPO_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, json.loads(process.stdout.readline())


def _deliver(env: dict[str, str], tmp: Path) -> float:
    started = time.monotonic()
    workers = []
    for n in range(WORKERS):
        log = open(tmp / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed below
        workers.append(
            (
                subprocess.Popen(
                    [sys.executable, "-m", "shelfwatch", "deliver", "--seconds", "900"],
                    env=env,
                    cwd=REPO_DIR,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                ),
                log,
            )
        )
    for process, log in workers:
        process.wait(timeout=1800)
        log.close()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=16, help="sender threads per worker")
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--inner", choices=("prepare", "count"), help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="0", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        if args.inner == "prepare":
            print(json.dumps(inner_prepare(args.count, args.tag)))
        else:
            print(json.dumps(inner_count()))
        return

    print(machine.render(machine.describe()), flush=True)
    fake, info = _fake()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="shelfwatch-notify-") as tmp_dir:
            tmp = Path(tmp_dir)
            for deploy in deployments.chosen(
                skip_embedded=args.skip_embedded, skip_scale_out=args.skip_scale_out
            ):
                with deploy(tmp) as deployment:
                    for number, (label, limit, share) in enumerate(SCENARIOS):
                        count = max(100, int(args.count * share))
                        tag = str(number)
                        run_inner(
                            __file__, deployment.env, "prepare", "--count", str(count), "--tag", tag
                        )
                        _control(info, "/reset", "POST")
                        env = deployment.with_env(
                            WHATSAPP_API_BASE=info["url"],
                            WHATSAPP_PHONE_NUMBER_ID=info["phone_number_id"] or "106540352242922",
                            WHATSAPP_ACCESS_TOKEN=info.get("token") or "bench-token",
                            WHATSAPP_RATE_PER_SECOND=str(limit),
                            NOTIFY_SEND_THREADS=str(args.threads),
                            NOTIFY_BATCH_SIZE="1000",
                            NOTIFY_QUIET_HOURS="off",
                            NOTIFY_RECIPIENT_MIN_INTERVAL_SECONDS="0",
                            LOG_LEVEL="WARNING",
                        )
                        cpuload.wait_for_quiet(max_wait=30)
                        wall = _deliver(env, tmp)
                        stats = _control(info, "/stats")
                        counts, _ = run_inner(__file__, deployment.env, "count")
                        per_second = stats.get("per_second") or []
                        steady = per_second[1:-1] or per_second
                        achieved = sum(steady) / len(steady) if steady else 0.0
                        row = [
                            deployment.name,
                            label,
                            f"{count:,}",
                            f"{wall:.1f}",
                            f"{stats['accepted'] / max(wall, 1e-6):,.0f}",
                            f"{achieved:,.0f}",
                            f"{stats['max_per_second']:,}",
                            f"{(achieved / limit * 100):.1f} %" if limit else "-",
                            str(stats["duplicates"]),
                            f"{counts['sent']:,} / {counts['failed']}",
                        ]
                        print(" | ".join(row), flush=True)
                        rows.append(row)
    finally:
        fake.stdin.close()
        fake.wait(timeout=30)
    print()
    print(
        render_table(
            [
                "deployment",
                "scenario",
                "messages",
                "wall s",
                "msgs/s overall",
                "msgs/s steady",
                "max in any 1 s",
                "of limit",
                "duplicates",
                "sent / failed",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
