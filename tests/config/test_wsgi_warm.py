"""A web worker loads its URLconf when it loads the WSGI application, before any request:
the import costs over a second of CPU, which a first request would make every request
queued behind it wait for."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.django_db


def test_loading_the_wsgi_application_imports_every_route_before_a_request(subprocess_env):
    probe = (
        "import sys, shelfwatch.config.wsgi; "
        "print(all(name in sys.modules for name in "
        "('shelfwatch.config.urls', 'shelfwatch.shop.api', 'shelfwatch.config.api')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
