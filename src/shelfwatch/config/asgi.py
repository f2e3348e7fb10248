"""ASGI entry points.

`stream_application` is the stream process (`shelfwatch stream`): Server-Sent Events only,
anything else is a 404 problem. `application` is the single-port front of `shelfwatch
serve`: stream paths natively, every other request to the Django WSGI app through
shelfwatch.config.wsgi_bridge (Django's own ASGI handler is several times slower; see
DESIGN.md).
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")
django.setup(set_prefix=False)

# Imported after setup: these modules use models and settings.
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from shelfwatch.analytics.tracking import flush_on_a_timer  # noqa: E402
from shelfwatch.config.revalidation import RevalidationLane  # noqa: E402
from shelfwatch.config.wsgi_bridge import WsgiBridge  # noqa: E402
from shelfwatch.events.server import StreamServer  # noqa: E402
from shelfwatch.ops.middleware import body_limit  # noqa: E402
from shelfwatch.ops.startup_heap import freeze_startup_heap  # noqa: E402

stream_application = StreamServer()

# Threads running WSGI requests behind the front (WEB_THREADS, as for `shelfwatch web`); the
# front is one process, so it gets a few more than a scale-out web worker.
_threads = os.environ.get("WEB_THREADS", "").strip()
_front_threads = int(_threads) if _threads.isdigit() and int(_threads) > 0 else 8
application = StreamServer(
    fallback=WsgiBridge(
        # Current feed revalidations are answered ahead of the full stack, as in `web`.
        RevalidationLane(get_wsgi_application()),
        threads=_front_threads,
        body_limit=body_limit,
    )
)
# The front serves product pages too: it writes the views it holds on a timer (without Redis).
flush_on_a_timer()
# The URLconf is imported before the first request, as a `web` worker does (config/wsgi.py);
# then, last, full collections stop rescanning what the process keeps.
get_resolver().url_patterns  # noqa: B018  (a cached property: reading it imports them)
freeze_startup_heap()
