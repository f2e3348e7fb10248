"""`shelfwatch deliver`: deliver due notifications in this process, reporting as it goes."""

from __future__ import annotations

import gc
import signal
import sys
import time

from django.core.management.base import BaseCommand

from shelfwatch.notify.batches import DeliverySummary
from shelfwatch.notify.delivery import delivery_rounds, worker_name


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

        # A worker keeps a few dozen threads in step with a send schedule: the interpreter
        # lock changes hands sooner, and garbage collection, which stops every thread,
        # skips the startup heap and runs rarely (batches free their objects by refcount).
        sys.setswitchinterval(0.001)
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        stopping = []
        # A batch in hand is finished (its sends recorded) before the process goes, so a
        # stop never leaves leases to expire; kill -9 is covered by the leases anyway.
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        worker = worker_name()
        deadline = time.monotonic() + seconds
        totals = DeliverySummary()
        if wait:
            self.stdout.write(f"{worker} waiting for due notifications", ending="\n")
            self.stdout.flush()
        rounds = delivery_rounds(worker=worker, limit=batch or settings.NOTIFY_BATCH_SIZE)
        try:
            for summary in rounds:
                totals.add(summary)
                if summary.claimed:
                    self.stdout.write(_line(totals))
                elif not wait:
                    break
                if stopping or time.monotonic() >= deadline:
                    break
                if not summary.claimed:
                    time.sleep(0.2)
        finally:
            rounds.close()  # gives back a batch claimed ahead
        self.stdout.write(self.style.SUCCESS("done: " + _line(totals)))


def _line(totals: DeliverySummary) -> str:
    counts = totals.as_dict()
    del counts["cancelled"]
    return ", ".join(f"{name} {count}" for name, count in counts.items())
