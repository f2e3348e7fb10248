"""The supervisor stops on a signal, and at once on a second one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

# Two children, one of which ignores SIGTERM, and a grace period longer than any test waits.
SUPERVISED = """
import sys
from shelfwatch.ops.supervisor import ChildSpec, Supervisor

supervisor = Supervisor(
    [
        ChildSpec("plain", ["sleep", "60"]),
        ChildSpec("stubborn", ["sh", "-c", "trap '' TERM; sleep 60 & wait; sleep 60"]),
    ],
    env={}, grace_seconds=60.0, poll_seconds=0.05,
)
sys.exit(supervisor.run())
"""


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def start() -> subprocess.Popen:
    """The supervisor, once both its children run."""
    process = subprocess.Popen(
        [sys.executable, "-c", SUPERVISED],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    deadline = time.monotonic() + 20
    while len(children_of(process.pid)) < 2:
        assert time.monotonic() < deadline, "the children did not start"
        time.sleep(0.02)
    return process


def test_a_second_signal_skips_the_grace_period():
    process = start()
    children = children_of(process.pid)
    process.send_signal(signal.SIGTERM)
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=1)  # the stubborn child keeps it in its grace period
    process.send_signal(signal.SIGINT)  # Ctrl-C: now
    assert process.wait(timeout=10) == 0
    assert not any(Path(f"/proc/{child}").exists() for child in children)
