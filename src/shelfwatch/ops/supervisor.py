"""A small process supervisor for `shelfwatch serve`: start children, restart the ones that
crash (with backoff), stop them all on SIGINT/SIGTERM within a bounded time.

Each child runs in its own session (process group) so that
- Ctrl-C in a terminal reaches only the supervisor, which then stops children in order;
- a child's own children (granian's worker processes) are signalled and cleaned up with it,
  even when the child itself died without stopping them.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

logger = logging.getLogger("shelfwatch.supervisor")


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: Sequence[str]


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: float = 0.0
    restarts: int = 0


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, ask the kernel to SIGTERM the child if the supervisor dies (even SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def setup() -> None:
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return setup


class Supervisor:
    """Runs `specs` as child processes until asked to stop; see the module docstring.

    Backoff: a child that crashes is restarted after `min_backoff` seconds, doubling on each
    consecutive crash up to `max_backoff`; a child that ran `stable_after` seconds is forgiven.
    On stop, children get SIGTERM and, after `grace_seconds`, SIGKILL.
    """

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        *,
        env: Mapping[str, str],
        grace_seconds: float = 6.0,
        poll_seconds: float = 0.2,
        min_backoff: float = 1.0,
        max_backoff: float = 30.0,
        stable_after: float = 30.0,
    ) -> None:
        self.children = [Child(spec) for spec in specs]
        self.env = dict(env)
        self.grace_seconds = grace_seconds
        self.poll_seconds = poll_seconds
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        # Written only by the signal handler, read by the loop: a handler runs between two
        # bytecodes of whatever this thread was doing, possibly inside Event.wait with its
        # lock held, so it must take no lock. The loop sees a request within poll_seconds.
        self._stop_requests = 0
        self._preexec = _die_with_parent()

    def request_stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        """Ask the supervisor to stop; a second request (Ctrl-C twice) skips the grace period."""
        self._stop_requests += 1

    def run(self) -> int:
        """Supervise until SIGINT/SIGTERM (or request_stop), then stop every child."""
        previous = {
            sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for child in self.children:
                self._start(child)
            while not self._stop_requests:
                self._check_children()
                time.sleep(self.poll_seconds)
        finally:
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(  # noqa: S603 - fixed argv built by the CLI
            list(child.spec.argv),
            env=self.env,
            start_new_session=True,
            # preexec_fn is unsafe only with other threads running; the supervisor has none.
            preexec_fn=self._preexec,
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        logger.info("started %s (pid %d)", child.spec.name, child.process.pid)

    def _check_children(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.process is None:
                if child.restart_at is not None and now >= child.restart_at:
                    child.restarts += 1
                    self._start(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            # Whatever the dead child left in its group (granian workers) goes with it.
            self._signal_group(child.process.pid, signal.SIGKILL)
            ran = now - child.started_at
            if ran >= self.stable_after or child.backoff == 0:
                child.backoff = self.min_backoff
            else:
                child.backoff = min(child.backoff * 2, self.max_backoff)
            child.process = None
            child.restart_at = now + child.backoff
            logger.error(
                "%s exited with code %s after %.1fs; restarting in %.1fs (restart #%d)",
                child.spec.name,
                code,
                ran,
                child.backoff,
                child.restarts + 1,
            )

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def _shutdown(self) -> None:
        running = [c for c in self.children if c.process is not None]
        for child in running:
            logger.info("stopping %s (pid %d)", child.spec.name, child.process.pid)
            self._signal_group(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        while running and time.monotonic() < deadline and self._stop_requests < 2:
            running = [c for c in running if c.process.poll() is None]
            if running:
                time.sleep(0.05)
        for child in self.children:
            if child.process is None:
                continue
            if child.process.poll() is None:
                logger.warning("%s did not stop in time; killing it", child.spec.name)
            # SIGKILL the whole group (the child's pid is its group id) even if the leader
            # exited: processes it started may linger.
            self._signal_group(child.process.pid, signal.SIGKILL)
            child.process.wait()
            child.process = None
        logger.info("all processes stopped")
