"""WSGI entry point of the minimal Ninja project."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minimal_ninja.settings")

application = get_wsgi_application()
