"""One back-in-stock event on a product with 100,000 subscriptions: time until every
Notification row exists.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/alert_fanout.py [--subscriptions 100000] [--skip-embedded]

For each deployment (see deployments.py): migrate a fresh database, create one watched
item and N verified contacts each subscribed to it (bulk inserts, not timed), plus 1,000
subscriptions to another item and 1,000 unverified contacts on this one (what the matcher
must leave out). Then emit `watch.back_in_stock` and time `alerts.matching
.notifications_for_event` -- the consumer the dispatch task runs -- until it returns,
check that exactly N rows exist, and time the same call again (a redispatch after a crash:
it must add nothing). Target: under 10 s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cpuload
import deployments
import machine
from inner_process import run_inner, setup_django
from tables import render_table

BATCH = 5000
DECOYS = 1000


def inner_prepare(subscriptions: int) -> dict:
    from django.utils import timezone

    from shelfwatch.alerts.models import Subscription
    from shelfwatch.notify.models import Contact
    from shelfwatch.watch.models import Source, SourceStatus, WatchedItem

    started = time.perf_counter()
    source = Source.objects.create(
        name="Bench shop", kind="internal", status=SourceStatus.OK, baseline_done=True
    )
    item = WatchedItem.objects.create(
        source=source, external_id="hot", name="Amul Whey Protein", available=False
    )
    other = WatchedItem.objects.create(
        source=source, external_id="other", name="Amul Lassi", available=False
    )
    now = timezone.now()
    made = 0
    while made < subscriptions + 2 * DECOYS:
        size = min(BATCH, subscriptions + 2 * DECOYS - made)
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    channel="email" if n % 2 else "whatsapp",
                    address=f"bench{n}@example.com" if n % 2 else f"+9190000{n:05d}",
                    # The last DECOYS contacts never verified.
                    verified_at=None if n >= subscriptions + DECOYS else now,
                )
                for n in range(made, made + size)
            ]
        )
        Subscription.objects.bulk_create(
            [
                Subscription(
                    contact=c,
                    item=other if subscriptions <= made + i < subscriptions + DECOYS else item,
                )
                for i, c in enumerate(contacts)
            ]
        )
        made += size
    return {"item": item.pk, "prepare_seconds": round(time.perf_counter() - started, 1)}


def inner_run(item_id: int) -> dict:
    from shelfwatch.alerts.matching import notifications_for_event
    from shelfwatch.events.publishing import emit
    from shelfwatch.notify.models import Notification

    event = emit(
        type="watch.back_in_stock",
        payload={"item_id": item_id, "episode": 1, "new_episode": True, "price": "2399.00"},
        topics=[f"watched:{item_id}"],
    )
    started = time.perf_counter()
    created = notifications_for_event(event)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = notifications_for_event(event)
    second = time.perf_counter() - started
    rows = Notification.objects.filter(event=event).count()
    return {
        "created": created,
        "rows": rows,
        "seconds": round(first, 3),
        "redispatch_created": again,
        "redispatch_seconds": round(second, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--inner", choices=("prepare", "run"), help=argparse.SUPPRESS)
    parser.add_argument("--item", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        if args.inner == "prepare":
            result = inner_prepare(args.subscriptions)
        else:
            result = inner_run(args.item)
        print(json.dumps(result))
        return

    print(machine.render(machine.describe()), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="shelfwatch-fanout-") as tmp:
        picked = deployments.chosen(
            skip_embedded=args.skip_embedded, skip_scale_out=args.skip_scale_out
        )
        for deploy in picked:
            with deploy(Path(tmp)) as deployment:
                print(f"\n{deployment.name}: {args.subscriptions:,} subscriptions", flush=True)
                count = ["--subscriptions", str(args.subscriptions)]
                prepared, _ = run_inner(__file__, deployment.env, "prepare", *count)
                cpuload.wait_for_quiet(max_wait=30)
                result, share = run_inner(
                    __file__, deployment.env, "run", *count, "--item", str(prepared["item"])
                )
                ok = result["rows"] == result["created"] == args.subscriptions
                rows.append(
                    [
                        deployment.name,
                        f"{args.subscriptions:,}",
                        f"{result['seconds']:.2f}",
                        f"{result['rows']:,}",
                        f"{result['redispatch_seconds']:.2f} ({result['redispatch_created']} new)",
                        "ok" if ok and not result["redispatch_created"] else "WRONG",
                        f"{share.other:.2f}",
                    ]
                )
                print(json.dumps(result), flush=True)
    print()
    print(
        render_table(
            [
                "deployment",
                "subscriptions",
                "s until all rows exist",
                "rows",
                "redispatch s",
                "check",
                "CPU other (cores)",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
