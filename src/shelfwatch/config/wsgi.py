"""WSGI entry point for the web processes (`shelfwatch web`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")

application = get_wsgi_application()

# Server processes write the product views they hold on a timer too (without Redis).
from shelfwatch.analytics.tracking import flush_on_a_timer  # noqa: E402  (needs the apps loaded)

flush_on_a_timer()
