"""The sender threads of a delivery process: they send one message each at a time.

The threads live as long as the process (a pool per batch cost thread starts and a future
per message). A sender hands its result to the recording thread and waits for the word
that it is written before it takes another job: so a crash can leave at most one accepted
but unrecorded message per sender.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("shelfwatch.notify")

_STOP = object()


class SenderPool:
    """`size` threads running `send(job)` for submitted jobs.

    `send` must not raise into the pool (the caller wraps channel errors). A job carries
    `start_at` (monotonic time of its slot), `max_late` (None, or how many seconds after
    its slot it may still go) and `results` (a queue the finished job is put on). The pool
    sets `result` (None when the job was too late and was not sent: book it a new slot and
    submit it again), `started` and `ack`: call `job.ack.put(None)` once a sent job's
    outcome is recorded to free its sender.
    """

    def __init__(self, size: int, send: Callable[[Any], Any]) -> None:
        self.size = size
        self._send = send
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"notify-send-{n}", daemon=True)
            for n in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Any) -> None:
        """Queue `job` for the next free sender; returns at once."""
        self._jobs.put(job)

    def _run(self) -> None:
        ack: queue.SimpleQueue = queue.SimpleQueue()
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            delay = job.start_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            # A sender that woke late (a busy machine) would bunch its send with the next
            # slots' and exceed the rate in that second: the job goes back unsent.
            if job.max_late is not None and time.monotonic() - job.start_at > job.max_late:
                job.result = None
                job.results.put(job)
                continue
            job.started = time.monotonic()
            job.result = self._send(job)
            job.ack = ack
            job.results.put(job)
            ack.get()

    def stop(self) -> None:
        """Stop every sender after the jobs queued before, waiting up to 5 seconds for each."""
        for _ in self._threads:
            self._jobs.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=5)


_pool: SenderPool | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def sender_pool(size: int, send: Callable[[Any], Any]) -> SenderPool:
    """This process's pool of `size` senders (a new one after a fork or a size change)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid() or _pool.size != size:
            if _pool is not None and _pool_pid == os.getpid():
                _pool.stop()
            _pool = SenderPool(size, send)
            _pool_pid = os.getpid()
        return _pool
