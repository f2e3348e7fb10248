"""WSGI entry point for the web processes (`shelfwatch web`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")

application = get_wsgi_application()
