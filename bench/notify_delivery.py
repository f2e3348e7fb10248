"""Delivering pending WhatsApp notifications to a fake Cloud API with two worker processes:
time for 100,000 with no limit, and the achieved rate with the limit at 1,000/s and 80/s.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/notify_delivery.py [--count 100000] [--skip-embedded]

The fake (tests/fakes/fast_whatsapp.py, its own process) accepts messages as the Cloud API
does and measures what it receives: acceptances per sliding second, duplicates. For each
deployment and scenario: N verified contacts with one code notification each are created,
due tomorrow (not timed); two `shelfwatch deliver --wait` processes are started and, once
both are waiting (a delivery worker is a long-running process), all N fall due at once.
Timed from that moment to the fake's last acceptance. Targets: 100,000 in under 60 s with
no limit; at 1,000/s and 80/s, the achieved rate within 5 % of the limit and never above
it in any second. Worker CPU (both processes, from /proc) and the fake's CPU are reported
per 1,000 messages: on a busy machine they show what a quiet one would do.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
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
    from datetime import timedelta

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
                    next_attempt_at=timezone.now() + timedelta(days=1),
                )
                for c in contacts
            ]
        )
        made += size
    return {"seconds": round(time.perf_counter() - started, 1)}


def inner_release() -> dict:
    from django.utils import timezone

    from shelfwatch.notify.models import Notification

    due = Notification.objects.filter(status="pending", next_attempt_at__gt=timezone.now())
    return {"released": due.update(next_attempt_at=timezone.now()), "at": time.time()}


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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_workers(env: dict[str, str]) -> list[subprocess.Popen]:
    """Two waiting delivery workers; returns once both said they are waiting."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "shelfwatch", "deliver", "--wait", "--seconds", "1800"],
            env=env,
            cwd=REPO_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    for worker in workers:
        line = worker.stdout.readline()
        if "waiting" not in line:
            raise SystemExit(f"a delivery worker did not start: {line!r}")
    return workers


def _stop_workers(workers: list[subprocess.Popen]) -> float:
    """SIGTERM (each finishes its batch in hand) and wait; their CPU seconds in all."""
    cpu = sum(_cpu_seconds(worker.pid) for worker in workers)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.communicate(timeout=600)
    return cpu


def _wait_for_acceptances(info: dict, count: int, timeout: float = 1800) -> dict:
    """The fake's stats once `count` messages were accepted. Polls its cheap progress count:
    computing the stats while messages arrive would pause the fake and bunch its stamps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = _control(info, "/progress")
        if progress["accepted"] >= count:
            return _control(info, "/stats")
        time.sleep(0.2)
    raise SystemExit(f"only {progress['accepted']} of {count} accepted in {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=16, help="sender threads per worker")
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--inner", choices=("prepare", "release", "count"), help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="0", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        if args.inner == "prepare":
            print(json.dumps(inner_prepare(args.count, args.tag)))
        elif args.inner == "release":
            print(json.dumps(inner_release()))
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
                        workers = _start_workers(env)
                        fake_cpu = _control(info, "/stats")["cpu_seconds"]
                        released, _ = run_inner(__file__, deployment.env, "release")
                        stats = _wait_for_acceptances(info, count)
                        worker_cpu = _stop_workers(workers)
                        wall = stats["last_accepted_at"] - released["at"]
                        counts, _ = run_inner(__file__, deployment.env, "count")
                        per_second = stats.get("per_second") or []
                        steady = per_second[1:-1] or per_second
                        achieved = sum(steady) / len(steady) if steady else 0.0
                        per_k = 1000 / count
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
                            f"{worker_cpu * per_k:.2f}",
                            f"{(stats['cpu_seconds'] - fake_cpu) * per_k:.2f}",
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
                "worker CPU s / 1k",
                "fake CPU s / 1k",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
