"""WSGI entry point for the web processes (`shelfwatch web`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")

django_application = get_wsgi_application()

# Current feed revalidations are answered ahead of the full stack (config/revalidation.py).
from shelfwatch.config.revalidation import RevalidationLane  # noqa: E402  (needs the apps loaded)

application = RevalidationLane(django_application)

# Server processes write the product views they hold on a timer too (without Redis).
from shelfwatch.analytics.tracking import flush_on_a_timer  # noqa: E402  (needs the apps loaded)

flush_on_a_timer()
