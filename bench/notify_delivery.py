"""Delivering pending WhatsApp notifications to a fake Cloud API with two worker processes:
time for 100,000 with no limit, and the achieved rate with the limit at 1,000/s and 80/s.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/notify_delivery.py [--count 100000] [--skip-embedded]
        [--skip-async | --only-async]

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
import secrets
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
SCENARIOS = (  # label, limit (0: none of ours), share of --count, kind
    ("no limit", 0, 1.0, "plain"),
    ("limit 1,000/s", 1000, 0.25, "plain"),
    ("limit 80/s", 80, 0.03, "plain"),
    ("1 % fail later, 1,000/s", 1000, 0.1, "async"),
)
FAIL_EVERY = 100
FAIL_CODES = (131026, 131049, 131047, 131050, 131000, 130472)
WEBHOOK = "/api/v1/notify/whatsapp/webhook"
APP_SECRET = secrets.token_hex(16)  # signs the forwarded webhooks of one run


def inner_prepare(count: int, tag: str, kind: str = "plain") -> dict:
    from datetime import timedelta

    from django.utils import timezone

    from shelfwatch.notify.models import Contact, Notification

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
                    # A code is not kept once sent, so it is never sent again: the scenario of
                    # errors reported later sends a message that can be.
                    template="verify_code" if kind == "plain" else "manage_link",
                    context={"code": "482913", "minutes": 10}
                    if kind == "plain"
                    else {"url": f"https://shelfwatch.example/alerts/manage/{c.pk}/"},
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
    from datetime import timedelta

    from django.utils import timezone

    from shelfwatch.notify.models import EarlyStatus, Notification

    by_status = {}
    for status in ("pending", "sending", "sent", "failed", "cancelled"):
        by_status[status] = Notification.objects.filter(status=status).count()
    soon = timezone.now() + timedelta(seconds=60)
    by_status["due_soon"] = Notification.objects.filter(
        status="pending", next_attempt_at__lt=soon
    ).count()
    by_status["early"] = EarlyStatus.objects.count()
    return by_status


def inner_forward(control: str) -> None:
    """Post the fake's `failed` statuses to the app's webhook view, signed, as they come
    (every 0.2 s) until SIGTERM; prints how many were posted."""
    from django.conf import settings
    from django.test import Client

    sys.path.insert(0, str(REPO_DIR))  # the fakes' payload builders live in tests/
    from tests.fakes.whatsapp import sign, status_payload

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    client = Client()
    offset = 0
    while not stop:
        with urllib.request.urlopen(f"{control}/statuses?offset={offset}&limit=500") as answer:
            statuses = json.loads(answer.read())["statuses"]
        if statuses:
            payload = status_payload(statuses, phone_number_id=settings.WHATSAPP_PHONE_NUMBER_ID)
            body = json.dumps(payload).encode()
            response = client.post(
                WEBHOOK,
                data=body,
                content_type="application/json",
                headers={"X-Hub-Signature-256": sign(body, settings.WHATSAPP_APP_SECRET)},
                secure=True,  # as Meta posts it: over https
            )
            if response.status_code != 200 or "ignored" in response.json():
                raise SystemExit(f"the webhook answered {response.status_code}: {response.content}")
            offset += len(statuses)
            print(json.dumps({"posted": offset}), flush=True)
        else:
            time.sleep(0.2)


def inner_verify(control: str, tag: str) -> dict:
    """Every notification of this run (`tag`) against the error table: what each code did,
    and any message lost (in a state the table does not give) or sent twice."""
    from collections import Counter, defaultdict
    from datetime import timedelta

    from django.utils import timezone

    from shelfwatch.notify import whatsapp_errors as table
    from shelfwatch.notify.models import DeliveryAttempt, Notification

    def fetch(path: str, key: str) -> list:
        items, offset = [], 0
        while True:
            with urllib.request.urlopen(f"{control}{path}?offset={offset}&limit=5000") as r:
                chunk = json.loads(r.read())[key]
            if not chunk:
                return items
            items += chunk
            offset += len(chunk)

    failed = {s["id"]: s["errors"][0]["code"] for s in fetch("/statuses", "statuses")}
    accepted: dict[str, list[str]] = defaultdict(list)  # wa_id -> wamids in order
    for message in fetch("/messages", "messages"):
        accepted[message["wa_id"]].append(message["id"])
    applied = set(
        DeliveryAttempt.objects.exclude(provider_message_id="").values_list(
            "provider_message_id", flat=True
        )
    )
    now = timezone.now()
    outcome: dict[str, Counter] = defaultdict(Counter)
    wrong, twice, unapplied = [], 0, 0
    mine = Notification.objects.filter(idempotency_key__startswith=f"bench:{tag}:")
    for n in mine.select_related("contact").iterator(chunk_size=5000):
        wamids = accepted.get(n.contact.address.lstrip("+"), [])
        live = [w for w in wamids if w not in failed]
        lost = [w for w in wamids if w in failed]
        unapplied += sum(1 for w in lost if w not in applied)
        twice += max(0, len(live) - 1)
        if not lost:
            ok = n.status == "sent" and live == [n.provider_message_id]
            outcome["none"][n.status] += 1
        else:
            code = failed[lost[-1]]
            action = table.rule_for(code).action
            outcome[str(code)][n.status] += 1
            if n.status == "sent":
                ok = action in (table.TEMPLATE, table.RETRY) and live == [n.provider_message_id]
            elif n.status == "failed":
                ok = action in (table.FAIL, table.OPT_OUT) and not live
            elif n.status == "pending":
                least = timedelta(seconds=table.rule_for(code).backoff_base * 0.75)
                ok = action == table.RETRY and not live and n.next_attempt_at > now + least
            else:
                ok = False
            ok = ok and n.last_error_code in ("", str(code))
        if not ok:
            wrong.append(n.pk)
    return {
        "failed_later": len(failed),
        "by_code": {code: dict(states) for code, states in sorted(outcome.items())},
        "not_as_the_table_says": len(wrong),
        "examples": wrong[:5],
        "sent_twice": twice,
        "failures_not_applied": unapplied,
    }


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


def _start_forwarder(env: dict[str, str], info: dict) -> subprocess.Popen:
    """The process that posts the fake's failed statuses to the app's webhook view."""
    return subprocess.Popen(
        [sys.executable, __file__, "--inner", "forward", "--control", info["control"]],
        env=env,
        cwd=REPO_DIR,
        stdout=subprocess.DEVNULL,
    )


def _wait_until_settled(
    env: dict[str, str], forwarder: subprocess.Popen, timeout: float = 600
) -> dict:
    """Wait until every failure reported later was applied and whatever it sends again went:
    nothing being sent, nothing due within a minute, no status waiting for its message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(2)
        if forwarder.poll() is not None:
            raise SystemExit(f"the webhook forwarder stopped (exit {forwarder.returncode})")
        counts, _ = run_inner(__file__, env, "count")
        if not counts["sending"] and not counts["due_soon"] and not counts["early"]:
            return counts
    raise SystemExit(f"not settled in {timeout:.0f} s: {counts}")


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
    parser.add_argument("--skip-async", action="store_true", help="no '1 %% fail later' run")
    parser.add_argument("--only-async", action="store_true", help="only the '1 %% fail later' run")
    parser.add_argument(
        "--inner",
        choices=("prepare", "release", "count", "forward", "verify"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--tag", default="0", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="plain", help=argparse.SUPPRESS)
    parser.add_argument("--control", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        if args.inner == "prepare":
            print(json.dumps(inner_prepare(args.count, args.tag, args.kind)))
        elif args.inner == "release":
            print(json.dumps(inner_release()))
        elif args.inner == "forward":
            inner_forward(args.control)
        elif args.inner == "verify":
            print(json.dumps(inner_verify(args.control, args.tag)))
        else:
            print(json.dumps(inner_count()))
        return

    print(machine.render(machine.describe()), flush=True)
    fake, info = _fake()
    rows = []
    verdicts = []
    try:
        with tempfile.TemporaryDirectory(prefix="shelfwatch-notify-") as tmp_dir:
            tmp = Path(tmp_dir)
            for deploy in deployments.chosen(
                skip_embedded=args.skip_embedded, skip_scale_out=args.skip_scale_out
            ):
                with deploy(tmp) as deployment:
                    for number, (label, limit, share, kind) in enumerate(SCENARIOS):
                        if (kind == "async" and args.skip_async) or (
                            kind != "async" and args.only_async
                        ):
                            continue
                        count = max(100, int(args.count * share))
                        tag = str(number)
                        run_inner(
                            __file__,
                            deployment.env,
                            "prepare",
                            "--count",
                            str(count),
                            "--tag",
                            tag,
                            "--kind",
                            kind,
                        )
                        _control(info, "/reset", "POST")
                        failing = kind == "async"
                        codes = ",".join(map(str, FAIL_CODES))
                        _control(
                            info,
                            f"/config?fail_every={FAIL_EVERY if failing else 0}&fail_codes={codes}",
                            "POST",
                        )
                        env = deployment.with_env(
                            # The fake is plain http on loopback: the test allow-list admits it.
                            OUTBOUND_ALLOWED_NETWORKS="127.0.0.0/8",
                            WHATSAPP_APP_SECRET=APP_SECRET,
                            NOTIFY_RETRY_BASE_SECONDS="2",
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
                        forwarder = _start_forwarder(env, info) if failing else None
                        fake_cpu = _control(info, "/stats")["cpu_seconds"]
                        released, _ = run_inner(__file__, deployment.env, "release")
                        stats = _wait_for_acceptances(info, count)
                        if failing:
                            _wait_until_settled(env, forwarder)
                            _stop_workers([forwarder])
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
                        if failing:
                            verdict, _ = run_inner(
                                __file__, env, "verify", "--control", info["control"], "--tag", tag
                            )
                            print(f"{deployment.name}, {label}: {json.dumps(verdict)}", flush=True)
                            verdicts.append((deployment.name, verdict))
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
    for name, verdict in verdicts:
        print(f"\n{name}, 1 % of sends failed later: {json.dumps(verdict, indent=1)}")


if __name__ == "__main__":
    main()
