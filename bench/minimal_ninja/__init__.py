"""A minimal Django + Django Ninja project: no middleware, no apps, one JSON endpoint.

The yardstick http_baseline.py compares Shelfwatch against. Serve it the way the
benchmark does (from the repository root):

    PYTHONPATH=bench DJANGO_SETTINGS_MODULE=minimal_ninja.settings \
        .venv/bin/granian --interface wsgi minimal_ninja.wsgi:application

and GET /api/health, which answers {"status": "ok"} like Shelfwatch's /health.
"""
