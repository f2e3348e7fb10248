"""A bare WSGI application returning the same small JSON as /health: the server's ceiling.

Serve it the way the benchmark does (from the repository root):

    PYTHONPATH=bench .venv/bin/granian --interface wsgi bare_wsgi:application
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

# Byte for byte what Django's JsonResponse({"status": "ok"}) sends.
BODY = json.dumps({"status": "ok"}).encode()
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(
    environ: dict[str, object], start_response: Callable[[str, list[tuple[str, str]]], object]
) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
