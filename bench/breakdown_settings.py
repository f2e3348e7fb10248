"""Shelfwatch's own settings with parts switched off, to split what a request costs.

Used by `http_baseline.py --breakdown` and for one-off diagnosis, never in production:

    PYTHONPATH=bench DJANGO_SETTINGS_MODULE=breakdown_settings BENCH_MIDDLEWARE_DROP=all \
        .venv/bin/shelfwatch web --workers 1 --threads 4

- BENCH_MIDDLEWARE_DROP: "all", or comma-separated parts of middleware paths to leave out
  (e.g. "Metrics,RequestId,sessions");
- BENCH_CONN_MAX_AGE: seconds to keep database connections ("none": forever), with
  health checks; Shelfwatch keeps none on SQLite, 60 s on PostgreSQL;
- BENCH_CACHE=locmem: a process-local cache instead of the database cache or Redis (what
  rate limiting would cost without a round trip).
"""

import os

from shelfwatch.config.settings import *  # noqa: F403
from shelfwatch.config.settings import CACHES, DATABASES, MIDDLEWARE

_drop = [part.strip() for part in os.environ.get("BENCH_MIDDLEWARE_DROP", "").split(",")]
_drop = [part for part in _drop if part]
if "all" in _drop:
    MIDDLEWARE = []
elif _drop:
    MIDDLEWARE = [m for m in MIDDLEWARE if not any(part in m for part in _drop)]

_max_age = os.environ.get("BENCH_CONN_MAX_AGE", "").strip().lower()
if _max_age:
    DATABASES["default"]["CONN_MAX_AGE"] = None if _max_age == "none" else int(_max_age)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

if os.environ.get("BENCH_CACHE") == "locmem":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CACHES["default"].get("KEY_PREFIX", ""),
        }
    }
