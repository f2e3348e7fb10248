"""WSGI entry point for the web processes (`shelfwatch web`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")

django_application = get_wsgi_application()

# The URLconf (every API router, its operations and schemas) is imported now, before the
# server hands this worker a request, not by the first request: that import takes over a
# second of CPU, and under a rush every request queued for this worker waited behind it
# (each worker starts cold: after a deploy, a respawn, or with only one of them having
# answered the readiness probe).
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018  (a cached property: reading it imports them)

from django.conf import settings  # noqa: E402

# Current feed revalidations are answered ahead of the full stack (config/revalidation.py).
from shelfwatch.config.revalidation import RevalidationLane  # noqa: E402  (needs the apps loaded)
from shelfwatch.ops.connection_rotation import ConnectionRotation  # noqa: E402

# Every Nth response closes its keep-alive connection, so connections spread over the
# worker processes (ops/connection_rotation.py).
application = ConnectionRotation(
    RevalidationLane(django_application), every=settings.WEB_REQUESTS_PER_CONNECTION
)

# Server processes write the product views they hold on a timer too (without Redis).
from shelfwatch.analytics.tracking import flush_on_a_timer  # noqa: E402  (needs the apps loaded)

flush_on_a_timer()

# Committed events' dispatch jobs go to RQ from a background thread, several transactions'
# in one job (events/sending.py).
from shelfwatch.events.sending import coalesce_in_background  # noqa: E402

coalesce_in_background()

# Last, once everything a worker keeps is loaded: full collections stop rescanning it.
from shelfwatch.ops.startup_heap import freeze_startup_heap  # noqa: E402

freeze_startup_heap()
