"""Settings of the minimal Ninja project: the least Django needs to answer a request.

With MINIMAL_NINJA_DB set (a SQLite file path) it also gets django.contrib.auth and a
database, for the `/api/user` yardstick (one ORM query); MINIMAL_NINJA_CONN_MAX_AGE sets
how long a connection is kept ("0": one per request, the default; "none": forever).
"""

import os

SECRET_KEY = "minimal-ninja-bench-only"  # noqa: S105 - serves constant JSON on loopback
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "minimal_ninja.urls"
DATABASES: dict[str, dict[str, object]] = {}
USE_TZ = True
USE_I18N = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

_database = os.environ.get("MINIMAL_NINJA_DB", "")
if _database:
    _max_age = os.environ.get("MINIMAL_NINJA_CONN_MAX_AGE", "0").strip().lower()
    INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _database,
            "CONN_MAX_AGE": None if _max_age == "none" else int(_max_age),
            # The same SQLite options as Shelfwatch, so only the framework around differs.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
