"""Server processes exempt their startup objects from garbage-collection scans."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

# What a process reports once its entry point is imported: objects frozen, and what a full
# collection then still has to scan.
PROBE = (
    "import gc, importlib, sys; importlib.import_module(sys.argv[1]); "
    "print(gc.get_freeze_count(), len(gc.get_objects()))"
)


@pytest.mark.parametrize("entry_point", ["shelfwatch.config.wsgi", "shelfwatch.config.asgi"])
def test_a_server_process_leaves_its_loaded_code_out_of_full_collections(
    entry_point, subprocess_env
):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, entry_point],
        env=subprocess_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    frozen, scanned = map(int, done.stdout.split()[-2:])
    # The URLconf, models and schemas are loaded and frozen; little is left to scan.
    assert frozen > 100_000
    assert scanned < frozen / 10
