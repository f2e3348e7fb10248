"""`shelfwatch deliver`: deliver due notifications in this process, reporting as it goes."""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand

from shelfwatch.notify.delivery import deliver_batch, worker_name


class Command(BaseCommand):
    help = (
        "Deliver due notifications now (what the delivery task does), until none is due. "
        "SIGTERM finishes the batch in hand, then stops."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seconds", type=float, default=60.0, help="stop after this long")
        parser.add_argument("--batch", type=int, default=None, help="notifications per claim")
        parser.add_argument("--wait", action="store_true", help="keep waiting for new work")

    def handle(self, *args, seconds: float, batch: int | None, wait: bool, **options) -> None:
        from django.conf import settings

        stopping = []
        # A batch in hand is finished (its sends recorded) before the process goes, so a
        # stop never leaves leases to expire; kill -9 is covered by the leases anyway.
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        worker = worker_name()
        deadline = time.monotonic() + seconds
        size = batch or settings.NOTIFY_BATCH_SIZE
        totals = {"claimed": 0, "sent": 0, "retried": 0, "failed": 0, "deferred": 0}
        if wait:
            self.stdout.write(f"{worker} waiting for due notifications", ending="\n")
            self.stdout.flush()
        while time.monotonic() < deadline and not stopping:
            summary = deliver_batch(worker=worker, limit=size).as_dict()
            for key in totals:
                totals[key] += summary[key]
            if summary["claimed"]:
                self.stdout.write(", ".join(f"{k} {v}" for k, v in totals.items()))
            elif wait:
                time.sleep(0.2)
            else:
                break
        self.stdout.write(
            self.style.SUCCESS("done: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
        )
