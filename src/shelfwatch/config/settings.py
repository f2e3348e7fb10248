"""Shelfwatch settings, all driven by environment variables (see the README's table).

Embedded default: SQLite in WAL mode under DATA_DIR, the database cache and the database
task backend. With DATABASE_URL and REDIS_URL the same code runs on PostgreSQL + Redis.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from shelfwatch.config.env import (
    env_bool,
    env_int,
    env_list,
    env_str,
    persistent_secret_key,
)

load_dotenv(os.environ.get("SHELFWATCH_ENV_FILE", ".env"), override=False)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
# Embedded mode: one machine, SQLite, secrets kept in DATA_DIR, relaxed transport security.
EMBEDDED = not DATABASE_URL or DATABASE_URL.startswith("sqlite")

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set")
    SECRET_KEY = persistent_secret_key(DATA_DIR)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "shelfwatch.web.views.csrf_failure"
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
# OpenTelemetry tracing: "" (off), "otlp" (to OTEL_EXPORTER_OTLP_ENDPOINT, by default
# http://localhost:4318) or "console" (spans printed, for a look on one machine).
TRACING = env_str("TRACING", "").strip().lower()
if TRACING not in ("", "otlp", "console"):
    raise ImproperlyConfigured("TRACING is otlp, console or empty (off)")
OTEL_SERVICE_NAME = env_str("OTEL_SERVICE_NAME", "shelfwatch")

INSTALLED_APPS = [
    # First, so its admin/base_site.html wraps the admin's own (the icon on every page).
    "shelfwatch.web",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Listed so the API docs page serves Swagger UI from our static files, not a CDN.
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "shelfwatch.accounts",
    "shelfwatch.catalog",
    "shelfwatch.inventory",
    "shelfwatch.events",
    "shelfwatch.watch",
    "shelfwatch.notify",
    "shelfwatch.alerts",
    "shelfwatch.shop",
    "shelfwatch.loyalty",
    "shelfwatch.feeds",
    "shelfwatch.imports",
    "shelfwatch.ops",
    "shelfwatch.recommend",
    "shelfwatch.analytics",
    "shelfwatch.assistant",
]
if REDIS_URL:
    INSTALLED_APPS += ["django_tasks_rq", "django_rq"]

# RequestMiddleware tells machine requests (probes, cookie-less API calls) from pages; the
# Page* middleware step aside for machine requests, the security headers apply to all.
MIDDLEWARE = [  # shelfwatch/ops/checks.py runs Django's CSRF and session checks for Page*
    "shelfwatch.ops.middleware.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "shelfwatch.ops.middleware.PageStaticFilesMiddleware",
    "shelfwatch.ops.middleware.PageSessionMiddleware",
    # After sessions, before common: a page's language comes from the set_language cookie,
    # else the browser's Accept-Language (the API skips it).
    "shelfwatch.ops.middleware.PageLocaleMiddleware",
    "shelfwatch.ops.middleware.PageCommonMiddleware",
    "shelfwatch.ops.middleware.PageCsrfMiddleware",
    "shelfwatch.ops.middleware.PageAuthenticationMiddleware",
    "shelfwatch.ops.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "shelfwatch.ops.middleware.ContentSecurityPolicyMiddleware",
    # Innermost: it sees the resolved URL and the final status of product reads.
    "shelfwatch.analytics.middleware.VisitMiddleware",
]

# Django looks for its own CSRF middleware by path; ops/checks.py checks PageCsrfMiddleware.
SILENCED_SYSTEM_CHECKS = ["security.W003"]

ROOT_URLCONF = "shelfwatch.config.urls"
WSGI_APPLICATION = "shelfwatch.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------

SQLITE_PATH = Path(env_str("SQLITE_PATH") or DATA_DIR / "shelfwatch.sqlite3")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(SQLITE_PATH)}}
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
# A reused connection is checked (SELECT 1) before use only after sitting idle this long
# (ops/db_connections.py), not before every request: a product read is then one round
# trip. A connection that fails mid-request is closed at its end and the next reconnects.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DB_IDLE_CHECK_SECONDS = env_int("DB_IDLE_CHECK_SECONDS", 30)

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DB_PREPARED_STATEMENTS", False
):
    # Parameters bound by the server, and a statement run twice on a connection kept as
    # a prepared statement: PostgreSQL then skips parsing and, once it settles on a
    # generic plan, planning. Off by default: a generic plan does not see the statement's
    # values, so searches run unprepared (db_plans.py) and other reads whose cost depends
    # on their values are unmeasured with it; never behind a pooler in transaction mode
    # (PgBouncer before 1.21), which cannot keep them.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": env_int("DB_PREPARE_THRESHOLD", 2)}
    )

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes write this file: queue writers (IMMEDIATE) instead of failing on lock
    # upgrade, wait up to the timeout, and keep WAL so readers never block the writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_TIMEOUT", 20),
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=20000;PRAGMA foreign_keys=ON;"
        ),
    }
    # Tests share the test database with real child processes, so it must be a file.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, tasks ---------------------------------------------------------------------------

# Notification delivery has a queue of its own, so a long poll or feed refresh holding a
# worker never delays an alert: `serve` runs a worker for it alone.
TASK_QUEUES = ["default", "notify"]

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # A Redis database of its own keeps a cache clear (FLUSHDB) away from the queues.
            "LOCATION": env_str("CACHE_REDIS_URL") or REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "shelfwatch"),
            # An unreachable Redis must fail a request (and /ready) quickly, not hang it.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": TASK_QUEUES}}
    RQ_QUEUES = {
        name: {
            "URL": REDIS_URL,
            "DEFAULT_TIMEOUT": 600,
            # One Redis client per process instead of a new connection per enqueue.
            "QUEUE_CLASS": "shelfwatch.config.task_queues.SharedClientQueue",
        }
        for name in TASK_QUEUES
    }
    # Tasks run in the worker's process; TASK_WORKER_FORK=1 forks a child per task instead
    # (see shelfwatch.ops.task_worker).
    RQ = {
        "WORKER_CLASS": "rq.Worker"
        if env_bool("TASK_WORKER_FORK")
        else "shelfwatch.ops.task_worker.InProcessWorker"
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "shelfwatch_cache",
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "shelfwatch"),
        }
    }
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": TASK_QUEUES}}

TASK_RESULT_RETENTION = timedelta(days=env_int("TASK_RESULT_RETENTION_DAYS", 7))

# --- auth -----------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

JWT_SIGNING_KEY = env_str("JWT_SIGNING_KEY") or SECRET_KEY
JWT_ACCESS_TTL = timedelta(seconds=env_int("JWT_ACCESS_TTL_SECONDS", 300))
JWT_REFRESH_TTL = timedelta(seconds=env_int("JWT_REFRESH_TTL_SECONDS", 14 * 24 * 3600))
JWT_ISSUER = env_str("JWT_ISSUER", "shelfwatch")
# Seconds an authenticated user's row and memberships stay cached in each process.
AUTH_CACHE_SECONDS = float(env_str("AUTH_CACHE_SECONDS", "5"))

# --- analytics ------------------------------------------------------------------------------

# Product views and empty searches are counted (docs/analytics.md); 0 turns counting off.
ANALYTICS_ENABLED = env_bool("ANALYTICS_ENABLED", True)
# Without Redis, a web process writes its held views once this many have gathered or the
# oldest is this many seconds old (checked after each response, and at exit).
ANALYTICS_FLUSH_HITS = env_int("ANALYTICS_FLUSH_HITS", 500)
ANALYTICS_FLUSH_SECONDS = env_int("ANALYTICS_FLUSH_SECONDS", 5)
# Longest range, in days, an analytics report may cover.
ANALYTICS_MAX_DAYS = env_int("ANALYTICS_MAX_DAYS", 366)
# Days raw visit and search-miss rows are kept after their day was rolled up.
ANALYTICS_RAW_DAYS = env_int("ANALYTICS_RAW_DAYS", 35)
# Reports (docs/analytics.md): built at this hour of the morning in each store's time zone
# (the platform report in TIME_ZONE), once the store's day they cover has been rolled up
# that many minutes after it ended (hits flushed late are in). Weekly reports cover Monday
# to Sunday. Days missed while the scheduler was down are built when it is back, up to
# ANALYTICS_REPORT_CATCHUP_DAYS days back.
ANALYTICS_REPORT_HOUR = env_int("ANALYTICS_REPORT_HOUR", 7)
ANALYTICS_REPORT_SETTLE_MINUTES = env_int("ANALYTICS_REPORT_SETTLE_MINUTES", 150)
ANALYTICS_REPORT_CATCHUP_DAYS = env_int("ANALYTICS_REPORT_CATCHUP_DAYS", 7)
# Seconds a worker may hold one report while building and queueing it; a worker that dies
# leaves it to the next dispatcher run after this.
ANALYTICS_REPORT_LEASE_SECONDS = env_int("ANALYTICS_REPORT_LEASE_SECONDS", 300)

# --- rate limits: "<count>/<period>" with period in s, m, h, d ------------------------------

THROTTLE_ENABLED = env_bool("THROTTLE_ENABLED", True)
# Reverse proxies in front of us that append to X-Forwarded-For. 0 trusts only the socket's
# address, so a client cannot pick its own rate-limit identity with a forged header.
NINJA_NUM_PROXIES = env_int("NUM_PROXIES", 0)
# Each sign-in-like form and endpoint has its own strict budget, so people behind one
# address (an office, a carrier's NAT) signing up do not lock each other out of signing
# in, and a flood of one form leaves the others usable. THROTTLE_AUTH is the default of all.
_THROTTLE_AUTH = env_str("THROTTLE_AUTH", "10/m")
THROTTLE_RATES = {
    "anon": env_str("THROTTLE_ANON", "120/m"),
    "user": env_str("THROTTLE_USER", "600/m"),
    # per IP: the sign-in page, the admin's sign-in and the API's login together
    "login": env_str("THROTTLE_LOGIN", _THROTTLE_AUTH),
    # failed sign-ins per account name, from all addresses together; a reset gives it back
    "login_account": env_str("THROTTLE_LOGIN_ACCOUNT", "30/h"),
    "register": env_str("THROTTLE_REGISTER", _THROTTLE_AUTH),  # per IP, page and API
    # per IP; refresh tokens cannot be guessed, apps refresh often, so it is looser
    "refresh": env_str("THROTTLE_REFRESH", "60/m"),
    "password_reset": env_str("THROTTLE_PASSWORD_RESET", _THROTTLE_AUTH),  # per IP
    "password_change": env_str("THROTTLE_PASSWORD_CHANGE", _THROTTLE_AUTH),  # per user
    "verify_email": env_str("THROTTLE_VERIFY_EMAIL", _THROTTLE_AUTH),  # per user
    "manage_link": env_str("THROTTLE_MANAGE_LINK", _THROTTLE_AUTH),  # per IP
    "whatsapp_verify": env_str("THROTTLE_WHATSAPP_VERIFY", _THROTTLE_AUTH),  # per IP
    # The shopping assistant: each answer may cost a model call, so it has its own limits.
    "assistant_ip": env_str("THROTTLE_ASSISTANT_IP", "30/m"),
    "assistant_user": env_str("THROTTLE_ASSISTANT_USER", "20/m"),
}

# --- requests, security ---------------------------------------------------------------------

MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not EMBEDDED)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and not EMBEDDED)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if (DEBUG or EMBEDDED) else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Sent with every page (ops.middleware.ContentSecurityPolicyMiddleware); empty sends none.
# Scripts only from our own files, plus the two one-line handlers the pages use
# (`this.form.submit()` on the store and language pickers, `location.reload()` offline),
# allowed by their hashes, so text that slipped past escaping still could not run.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; "
    "script-src 'self' 'unsafe-hashes' 'sha256-osjxnKEPL/pQJbFk1dKsF7PYFmTyMWGmVSiL9inhxJY=' "
    "'sha256-9gOBGqEQINNDuds+tkXbNzih6klbz+KeCyxEj4KRLeM='; "
    "style-src 'self' 'unsafe-inline'; img-src * data: blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
)

# --- email ----------------------------------------------------------------------------------

# Email providers' HTTP APIs through django-anymail: SENDGRID_API_KEY picks SendGrid.
ANYMAIL = {"SENDGRID_API_KEY": env_str("SENDGRID_API_KEY")}
if env_str("SENDGRID_API_URL"):
    ANYMAIL["SENDGRID_API_URL"] = env_str("SENDGRID_API_URL")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "anymail.backends.sendgrid.EmailBackend"
    if env_str("SENDGRID_API_KEY")
    else "django.core.mail.backends.smtp.EmailBackend"
    if env_str("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Shelfwatch <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- i18n, static ---------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
# The pages are translated into these; the catalog's regional names cover more languages.
LANGUAGES = [("en", "English"), ("hi", "हिन्दी")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or DATA_DIR / "static").resolve()
STATIC_ROOT.mkdir(exist_ok=True)
# WhiteNoise serves static files from the web processes; finders let the embedded install
# skip `collectstatic` (a deployment runs it once and serves the hashed copies).
WHITENOISE_USE_FINDERS = True

# --- media/images ---------------------------------------------------------------------------

# Media (product images and renditions, import files, feed snapshots, uploaded dumps) live
# in Django's storages: files under MEDIA_ROOT and FEEDS_DIR, or any S3-compatible bucket
# (django-storages, `pip install shelfwatch[s3]`) when MEDIA_S3_BUCKET is set; see the
# deployment guide. Image names are content-addressed, so those files never change.
MEDIA_URL = env_str("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or DATA_DIR / "media").resolve()
MEDIA_S3_BUCKET = env_str("MEDIA_S3_BUCKET")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# In a deployment, collected static files get content-hashed names (cached for a year by the
# proxy, see deploy/nginx.conf); the embedded default serves the source files as they are.
if env_bool("STATIC_HASHED_NAMES", not EMBEDDED):
    STORAGES["staticfiles"] = {"BACKEND": "shelfwatch.web.static_storage.HashedStaticFiles"}
MEDIA_S3_OPTIONS: dict[str, object] = {}
if MEDIA_S3_BUCKET:
    import importlib.util

    if importlib.util.find_spec("storages") is None:
        raise ImproperlyConfigured(
            "MEDIA_S3_BUCKET needs django-storages: pip install 'shelfwatch[s3]'"
        )
    MEDIA_S3_OPTIONS = {
        "bucket_name": MEDIA_S3_BUCKET,
        "endpoint_url": env_str("MEDIA_S3_ENDPOINT_URL") or None,
        "region_name": env_str("MEDIA_S3_REGION") or None,
        "custom_domain": env_str("MEDIA_S3_CUSTOM_DOMAIN") or None,
        # Signed URLs work with a private bucket but expire; a public bucket or CDN needs none.
        "querystring_auth": env_bool("MEDIA_S3_SIGNED_URLS", True),
        "querystring_expire": max(60, env_int("MEDIA_S3_URL_EXPIRES", 3600)),
        # boto3 presigns with the retired SigV2 in us-east-1; regions since 2014 accept only v4.
        "signature_version": "s3v4",
        # MinIO and other stores without bucket subdomains want "path".
        "addressing_style": env_str("MEDIA_S3_ADDRESSING_STYLE") or None,
        "location": env_str("MEDIA_S3_PREFIX").strip("/"),
        # An object read (an import file, a feed snapshot) is spooled whole before it is read:
        # beyond this it goes to FILE_UPLOAD_TEMP_DIR, not memory (django-storages' 0: never).
        "max_memory_size": 2 * 1024 * 1024,
    }
    # Without keys boto3 uses its own chain (AWS_* variables, instance roles).
    if env_str("MEDIA_S3_ACCESS_KEY_ID"):
        MEDIA_S3_OPTIONS["access_key"] = env_str("MEDIA_S3_ACCESS_KEY_ID")
        MEDIA_S3_OPTIONS["secret_key"] = env_str("MEDIA_S3_SECRET_ACCESS_KEY")
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": MEDIA_S3_OPTIONS}
# The app serves MEDIA_URL itself only where nothing else will (the embedded single-machine
# install, DEBUG); a deployment lets the reverse proxy or the bucket serve it.
SERVE_MEDIA = env_bool("SERVE_MEDIA", (EMBEDDED or DEBUG) and not MEDIA_S3_BUCKET)
IMAGE_MAX_BYTES = env_int("IMAGE_MAX_BYTES", 10 * 1024 * 1024)

# --- imports --------------------------------------------------------------------------------

# Spreadsheet uploads (docs/imports.md): the largest file, the longest line and the most
# columns read; rows per batch (one transaction each: a batch's events are tracked per
# savepoint, and each row has one, so an event costs in proportion to those before it in
# the batch, and a few hundred rows keep that small); how long a worker's hold on a job
# lasts without a batch committing before another worker may resume it.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 100 * 1024 * 1024)
IMPORT_MAX_LINE_CHARS = env_int("IMPORT_MAX_LINE_CHARS", 10_000)
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 100)
IMPORT_BATCH_SIZE = max(1, env_int("IMPORT_BATCH_SIZE", 1000))
IMPORT_LEASE_SECONDS = max(1, env_int("IMPORT_LEASE_SECONDS", 300))

# Open Food Facts (docs/openfoodfacts.md). Their API asks every client to name itself in its
# User-Agent with a contact address, so lookups are refused until OFF_CONTACT_EMAIL is set.
# Their product-read limit is about 100 requests a minute per IP address; ours stays well
# below it, counted in the cache so every process of the installation shares it.
OFF_BASE_URL = env_str("OFF_BASE_URL", "https://world.openfoodfacts.org").rstrip("/")
OFF_CONTACT_EMAIL = env_str("OFF_CONTACT_EMAIL")
OFF_APP_NAME = env_str("OFF_APP_NAME", "Shelfwatch")
OFF_RATE_LIMIT = env_str("OFF_RATE_LIMIT", "10/m")
OFF_TIMEOUT = float(env_str("OFF_TIMEOUT", "10"))
OFF_MAX_RESPONSE_BYTES = env_int("OFF_MAX_RESPONSE_BYTES", 2 * 1024 * 1024)
# Front pictures named by imported records are fetched later, a few per run, from these
# hosts only (comma-separated; empty allows any public host), under their own shared limit.
OFF_IMAGE_HOSTS = frozenset(
    host.strip().lower()
    for host in env_str(
        "OFF_IMAGE_HOSTS", "images.openfoodfacts.org,static.openfoodfacts.org"
    ).split(",")
    if host.strip()
)
OFF_IMAGES_PER_RUN = env_int("OFF_IMAGES_PER_RUN", 60)
# A dump sent through the API (`POST /api/v1/catalog/imports`); larger dumps are imported
# on the server with `shelfwatch import-off`.
OFF_DUMP_MAX_UPLOAD_BYTES = env_int("OFF_DUMP_MAX_UPLOAD_BYTES", 1024 * 1024 * 1024)
OFF_IMAGE_RATE_LIMIT = env_str("OFF_IMAGE_RATE_LIMIT", "60/m")
# Region given to names in languages spoken in many countries (English, Arabic...).
OFF_REGION = env_str("OFF_REGION", "IN").upper()
# A dump line longer than this is reported as a failed line (full records run to ~100 KB).
OFF_MAX_LINE_BYTES = env_int("OFF_MAX_LINE_BYTES", 4 * 1024 * 1024)
# Checked from the image header before any pixel is decoded (decompression bombs).
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000)
IMAGE_MAX_SIDE = env_int("IMAGE_MAX_SIDE", 8000)

# --- operations -----------------------------------------------------------------------------

METRICS_TOKEN = env_str("METRICS_TOKEN")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG or EMBEDDED else "json")
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

# Event bus and SSE.
EVENTS_TAIL_INTERVAL = float(env_str("EVENTS_TAIL_INTERVAL", "0.25"))
EVENTS_HEARTBEAT_SECONDS = float(env_str("EVENTS_HEARTBEAT_SECONDS", "15"))
EVENTS_SWEEP_AFTER = timedelta(seconds=env_int("EVENTS_SWEEP_AFTER_SECONDS", 60))
EVENTS_REPLAY_LIMIT = env_int("EVENTS_REPLAY_LIMIT", 1000)
EVENTS_RETENTION = timedelta(days=env_int("EVENTS_RETENTION_DAYS", 90))
EVENTS_MAX_DISPATCH_ATTEMPTS = env_int("EVENTS_MAX_DISPATCH_ATTEMPTS", 10)
# Web processes on RQ send several transactions' committed events as one dispatch job from
# a background thread (events/sending.py); what a dead process held, the sweeper dispatches.
EVENTS_DISPATCH_COALESCE = env_bool("EVENTS_DISPATCH_COALESCE", True)
# How long a stream process waits for a missing id (a transaction still committing on
# PostgreSQL) before treating it as rolled back.
EVENTS_GAP_WINDOW = float(env_str("EVENTS_GAP_WINDOW", "10"))
EVENTS_CATCHUP_SECONDS = float(env_str("EVENTS_CATCHUP_SECONDS", "5"))
EVENTS_CLIENT_QUEUE_SIZE = env_int("EVENTS_CLIENT_QUEUE_SIZE", 1000)
EVENTS_RETRY_MS = env_int("EVENTS_RETRY_MS", 3000)
EVENTS_CHANNEL = env_str("EVENTS_CHANNEL")

# Scheduler lease (seconds); a scheduler that stops renewing loses it after this long.
SCHEDULER_LEASE_SECONDS = env_int("SCHEDULER_LEASE_SECONDS", 30)
SCHEDULER_TICK_SECONDS = float(env_str("SCHEDULER_TICK_SECONDS", "5"))

# Connections one web worker process (and the single-port front) accepts at once. Requests
# on them wait in one first-come queue for the worker's threads, so every client is served
# in turn; beyond this, new connections wait in the listen backlog.
WEB_MAX_CONNECTIONS = env_int("WEB_MAX_CONNECTIONS", 1024)
# A web worker answers every Nth response with `Connection: close` (0: never), so that
# keep-alive connections do not stay piled on the worker that accepted a burst of them.
WEB_REQUESTS_PER_CONNECTION = env_int("WEB_REQUESTS_PER_CONNECTION", 10)
# Open streams one stream process (and the front) serves; the next client is answered 503
# with Retry-After at once.
STREAM_MAX_CLIENTS = env_int("STREAM_MAX_CLIENTS", 10_000)
# Open streams one client address may hold (0: no limit); the next is answered 429. The
# address is the one rate limits use (NUM_PROXIES), so behind a reverse proxy set
# NUM_PROXIES or every client shares the proxy's address and this limit.
STREAM_MAX_CLIENTS_PER_IP = env_int("STREAM_MAX_CLIENTS_PER_IP", 20)
# With REDIS_URL that limit holds across all stream processes: each open stream holds a lease
# in Redis, renewed every third of these seconds; a stream process killed without closing its
# streams gives their places back once the lease runs out.
STREAM_CLIENT_LEASE_SECONDS = env_int("STREAM_CLIENT_LEASE_SECONDS", 30)

# --- watching external shops ----------------------------------------------------------------

# CIDRs the guarded client may reach although they are not public (tests: 127.0.0.0/8).
OUTBOUND_ALLOWED_NETWORKS = env_list("OUTBOUND_ALLOWED_NETWORKS", [])
WATCH_FETCH_TIMEOUT = float(env_str("WATCH_FETCH_TIMEOUT", "15"))
WATCH_MAX_RESPONSE_BYTES = env_int("WATCH_MAX_RESPONSE_BYTES", 5 * 1024 * 1024)
WATCH_HOST_LEASE_SECONDS = env_int("WATCH_HOST_LEASE_SECONDS", 300)
WATCH_POLL_THREADS = env_int("WATCH_POLL_THREADS", 128)
WATCH_HOSTS_PER_TASK = env_int("WATCH_HOSTS_PER_TASK", 128)
WATCH_DB_CONNECTIONS = env_int("WATCH_DB_CONNECTIONS", 8)
WATCH_DISPATCH_LIMIT = env_int("WATCH_DISPATCH_LIMIT", 500)
WATCH_RESTOCK_MIN_OUT_SECONDS = env_int("WATCH_RESTOCK_MIN_OUT_SECONDS", 900)

# --- shop -----------------------------------------------------------------------------------

# Payment methods beyond the built-in `manual` (cash on delivery, pay at pickup):
# "card" = the HTTP card gateway below, enabled when its URL is set.
SHOP_PAYMENT_GATEWAY_URL = env_str("SHOP_PAYMENT_GATEWAY_URL")
SHOP_PAYMENT_GATEWAY_KEY = env_str("SHOP_PAYMENT_GATEWAY_KEY")
SHOP_PAYMENT_TIMEOUT = float(env_str("SHOP_PAYMENT_TIMEOUT", "15"))
SHOP_PAYMENT_PROVIDERS = (
    {"card": "shelfwatch.shop.payments.gateway.GatewayProvider"} if SHOP_PAYMENT_GATEWAY_URL else {}
)

# --- recommendations ------------------------------------------------------------------------

# "Bought together" fits EASE (docs/recommendations.md) on this many of the most bought
# products; the rest keep the pair scorer. The fit holds about three dense float64 matrices
# of this side (3000: about 0.2 GB at the peak); 0 turns EASE off.
RECOMMEND_EASE_MAX_ITEMS = env_int("RECOMMEND_EASE_MAX_ITEMS", 3000)
# With fewer orders in the window than this, the pair scorer alone builds the lists.
RECOMMEND_EASE_MIN_ORDERS = env_int("RECOMMEND_EASE_MIN_ORDERS", 1000)
# EASE's L2 penalty, in (time-decayed) orders; chosen on the groceries baskets.
RECOMMEND_EASE_L2 = float(env_str("RECOMMEND_EASE_L2", "100"))

# --- data feeds -----------------------------------------------------------------------------

FEEDS_DIR = Path(env_str("FEEDS_DIR") or DATA_DIR / "feeds").resolve()
# Snapshots are written under FEEDS_DIR and served from there; with MEDIA_S3_BUCKET they are
# kept in the bucket under `feeds/` (the "feeds" storage) instead, so every web process on
# every machine reads the same ones, and FEEDS_DIR only holds a refresh's scratch files.
if MEDIA_S3_BUCKET:
    STORAGES["feeds"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **MEDIA_S3_OPTIONS,
            "location": "/".join(p for p in (MEDIA_S3_OPTIONS["location"], "feeds") if p),
        },
    }
# Scheduled backups (`shelfwatch backup` writes one on demand): off until BACKUP_DIR is set.
BACKUP_DIR = env_str("BACKUP_DIR")
BACKUP_EVERY_HOURS = max(1, env_int("BACKUP_EVERY_HOURS", 24))
BACKUP_KEEP = max(1, env_int("BACKUP_KEEP", 7))
FEEDS_MAX_RECORDS = env_int("FEEDS_MAX_RECORDS", 2_000_000)
FEEDS_HTTP_MAX_BYTES = env_int("FEEDS_HTTP_MAX_BYTES", 200 * 1024 * 1024)
FEEDS_KEEP_SNAPSHOTS = env_int("FEEDS_KEEP_SNAPSHOTS", 3)
FEEDS_LEASE_SECONDS = env_int("FEEDS_LEASE_SECONDS", 900)
FEEDS_PROGRESS_EVERY = env_int("FEEDS_PROGRESS_EVERY", 5000)
FEEDS_GZIP_LEVEL = env_int("FEEDS_GZIP_LEVEL", 6)
# Snapshots up to this size (uncompressed) travel inside the stream's events; larger ones
# as a link to GET /api/v1/feeds/{name}.
FEEDS_SSE_INLINE_BYTES = env_int("FEEDS_SSE_INLINE_BYTES", 1024 * 1024)
FEEDS_SSE_MAX_WAIT_SECONDS = env_int("FEEDS_SSE_MAX_WAIT_SECONDS", 1800)

# --- alerts ---------------------------------------------------------------------------------

ALERTS_DEFAULT_REGION = env_str("ALERTS_DEFAULT_REGION", "IN")
ALERTS_CODE_TTL_SECONDS = env_int("ALERTS_CODE_TTL_SECONDS", 600)
ALERTS_CODE_MAX_ATTEMPTS = env_int("ALERTS_CODE_MAX_ATTEMPTS", 5)
ALERTS_CODES_PER_CONTACT_HOUR = env_int("ALERTS_CODES_PER_CONTACT_HOUR", 3)
ALERTS_CODES_PER_IP_HOUR = env_int("ALERTS_CODES_PER_IP_HOUR", 10)

# --- notification delivery ------------------------------------------------------------------

NOTIFY_BATCH_SIZE = env_int("NOTIFY_BATCH_SIZE", 500)
NOTIFY_SEND_THREADS = env_int("NOTIFY_SEND_THREADS", 16)
NOTIFY_LEASE_SECONDS = env_int("NOTIFY_LEASE_SECONDS", 120)
NOTIFY_TASK_SECONDS = float(env_str("NOTIFY_TASK_SECONDS", "50"))
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 8)
NOTIFY_RETRY_BASE_SECONDS = float(env_str("NOTIFY_RETRY_BASE_SECONDS", "30"))
NOTIFY_RECIPIENT_MIN_INTERVAL_SECONDS = float(env_str("NOTIFY_RECIPIENT_MIN_INTERVAL_SECONDS", "5"))
NOTIFY_QUIET_HOURS = env_str("NOTIFY_QUIET_HOURS", "22:00-08:00")
NOTIFY_DIGEST_SECONDS = env_int("NOTIFY_DIGEST_SECONDS", 0)
# Sends are paced at this fraction of a provider's limit, so jitter never pushes them over.
NOTIFY_RATE_SAFETY = float(env_str("NOTIFY_RATE_SAFETY", "0.97"))
NOTIFY_EMAIL_RATE_PER_SECOND = float(env_str("NOTIFY_EMAIL_RATE_PER_SECOND", "20"))
NOTIFY_EMAIL_DOMAIN = env_str("NOTIFY_EMAIL_DOMAIN", "shelfwatch.local")
NOTIFY_WEBHOOK_TIMEOUT = float(env_str("NOTIFY_WEBHOOK_TIMEOUT", "10"))
# Apprise URL schemes contacts may use. Left out on purpose: syslog and other local targets,
# and mailto (its query can name any SMTP server); an operator may add them.
NOTIFY_APPRISE_SCHEMES = env_list(
    "NOTIFY_APPRISE_SCHEMES",
    [
        "json",
        "jsons",
        "form",
        "forms",
        "xml",
        "xmls",
        "ntfy",
        "ntfys",
        "gotify",
        "gotifys",
        "discord",
        "slack",
        "tgram",
        "pover",
        "pbul",
        "matrix",
        "matrixs",
        "mmost",
        "mmosts",
        "rocket",
        "rockets",
        "workflow",
        "workflows",
        "msteams",
    ],
)
# Whether an allowed mailto target may name its own SMTP server (?smtp=, ?port=).
NOTIFY_APPRISE_SMTP_OVERRIDES = env_bool("NOTIFY_APPRISE_SMTP_OVERRIDES", False)
# Longest email subject sent; longer ones are cut with an ellipsis.
NOTIFY_EMAIL_SUBJECT_MAX = env_int("NOTIFY_EMAIL_SUBJECT_MAX", 200)
# Must be https: http is refused (a start-up check and at send time) except to a loopback
# test server inside OUTBOUND_ALLOWED_NETWORKS.
WHATSAPP_API_BASE = env_str("WHATSAPP_API_BASE", "https://graph.facebook.com")
# Graph API v26.0 was released on 2026-07-29; v21.0 is served until 2027-01-21.
WHATSAPP_API_VERSION = env_str("WHATSAPP_API_VERSION", "v26.0")
WHATSAPP_PHONE_NUMBER_ID = env_str("WHATSAPP_PHONE_NUMBER_ID")
WHATSAPP_ACCESS_TOKEN = env_str("WHATSAPP_ACCESS_TOKEN")
WHATSAPP_APP_SECRET = env_str("WHATSAPP_APP_SECRET")
WHATSAPP_VERIFY_TOKEN = env_str("WHATSAPP_VERIFY_TOKEN")
WHATSAPP_TIMEOUT = float(env_str("WHATSAPP_TIMEOUT", "10"))
# Who gets the one email per pause of the number or channel (default: the ADMINS).
WHATSAPP_OPERATOR_EMAILS = env_list("WHATSAPP_OPERATOR_EMAILS", [])
# Meta's default throughput for a business phone number is 80 messages a second; numbers
# upgraded by Meta may go to 1,000.
WHATSAPP_RATE_PER_SECOND = min(1000.0, float(env_str("WHATSAPP_RATE_PER_SECOND", "80")))

# --- shopping assistant ---------------------------------------------------------------------

# Without ASSISTANT_LLM_BASE_URL the assistant answers with its rule-based parser. With it, the
# model picks the tools and phrases the answer. Provider "openai" speaks any OpenAI-compatible
# /chat/completions; "gemini" speaks Gemini's REST generateContent. The URL must be https,
# except http to a loopback address inside OUTBOUND_ALLOWED_NETWORKS (a local model, a test).
ASSISTANT_LLM_PROVIDER = env_str("ASSISTANT_LLM_PROVIDER", "openai")
ASSISTANT_LLM_BASE_URL = env_str("ASSISTANT_LLM_BASE_URL")
ASSISTANT_LLM_MODEL = env_str("ASSISTANT_LLM_MODEL")
ASSISTANT_LLM_API_KEY = env_str("ASSISTANT_LLM_API_KEY")
# Caps per answer: model rounds that may call tools, tokens the model may write per call and
# spend in all, and the wall-clock budget after which the rule-based answer is given.
ASSISTANT_MAX_TOOL_ROUNDS = env_int("ASSISTANT_MAX_TOOL_ROUNDS", 4)
ASSISTANT_MAX_OUTPUT_TOKENS = env_int("ASSISTANT_MAX_OUTPUT_TOKENS", 400)
ASSISTANT_MAX_TOTAL_TOKENS = env_int("ASSISTANT_MAX_TOTAL_TOKENS", 8000)
ASSISTANT_TIME_BUDGET_SECONDS = float(env_str("ASSISTANT_TIME_BUDGET_SECONDS", "20"))
ASSISTANT_MAX_MESSAGE_CHARS = env_int("ASSISTANT_MAX_MESSAGE_CHARS", 500)
# Turns of one conversation kept (in the cache) and how long an idle one lives.
ASSISTANT_KEEP_TURNS = env_int("ASSISTANT_KEEP_TURNS", 6)
ASSISTANT_CONVERSATION_SECONDS = env_int("ASSISTANT_CONVERSATION_SECONDS", 3600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "shelfwatch.ops.logs.RequestIdFilter"},
        "routine": {"()": "shelfwatch.ops.logs.RoutineLinesFilter", "level": LOG_LEVEL},
    },
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "routine"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        # httpx logs every request at INFO: one line per shop page polled.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
