"""Test setup shared by every suite.

The suite runs once on SQLite and once on PostgreSQL + Redis (see tests/run_suites.py);
`subprocess_env` hands real child processes (web, stream, worker) the test database.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("THROTTLE_ENABLED", "1")

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _uses_database(request) -> bool:
    return request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _clear_cache(request):
    """Rate-limit counters live in the cache and, batched, in each process: every test starts
    with none, with an empty user cache and no copy of the search word frequencies."""
    from django.core.cache import cache

    from shelfwatch.accounts import throttling, user_cache
    from shelfwatch.catalog import vocabulary

    if _uses_database(request):  # the default cache is a database table
        if request.node.get_closest_marker("django_db") is None:
            # Asked for by fixture, not mark: set it up before this autouse fixture uses it.
            name = "transactional_db" if "transactional_db" in request.fixturenames else "db"
            request.getfixturevalue(name)
        cache.clear()
    throttling.forget_local_counts()
    user_cache.forget()
    vocabulary.forget_frequencies()
    _forget_held_views()
    yield


def _forget_held_views() -> None:
    """Product views an earlier test recorded (held in this process or in the Redis list)
    belong to that test's database, not to the next one's."""
    from django.conf import settings

    from shelfwatch.analytics import tracking

    # A flusher thread started by a test that loaded the WSGI entry point would write the
    # next tests' views on a connection of its own, outside their transactions.
    tracking.stop_flushing_on_a_timer()
    # Likewise the committed events' sender thread (events/sending.py): without it, a test's
    # commit has its dispatch job in the queue when the commit returns.
    from shelfwatch.events import sending

    sending.stop_coalescing()
    with tracking._local_lock:
        tracking._local.clear()
    if settings.REDIS_URL:
        tracking._client().delete(tracking.REDIS_KEY)


@pytest.fixture
def subprocess_env(settings) -> dict[str, str]:
    """Environment for child processes so they use this test's database and Redis."""
    from django.db import connection

    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = db["NAME"]
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    env["DATA_DIR"] = str(settings.DATA_DIR)
    env["SECRET_KEY"] = settings.SECRET_KEY
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture(scope="session", autouse=True)
def _fresh_redis():
    """The PostgreSQL + Redis run uses a Redis database of its own; start it empty."""
    import redis

    for name in ("REDIS_URL", "CACHE_REDIS_URL"):
        if os.environ.get(name):
            redis.Redis.from_url(os.environ[name]).flushdb()
    yield


@pytest.fixture(autouse=True)
def _no_stale_tasks(request):
    """Empty the RQ queues before a test that starts real workers: the tasks earlier tests
    queued name rows that are gone, and a backlog of them held a test's own job back past
    its timeout."""
    if request.node.get_closest_marker("multiprocess") and os.environ.get("REDIS_URL"):
        import django_rq
        from django.conf import settings

        for name in getattr(settings, "RQ_QUEUES", {}):
            django_rq.get_queue(name).empty()
    yield


@pytest.fixture(autouse=True)
def _inside_one_throttle_window(request):
    """Rate limits count in fixed windows (a minute, an hour) that turn over on the clock:
    a test counting requests against one must not straddle a turn, where the count starts
    again. Such a test (marked `throttle_window(seconds)`) starts once a quarter of its
    window, or 2 minutes at most, is left before the turn."""
    marker = request.node.get_closest_marker("throttle_window")
    if marker is not None:
        period = marker.args[0]
        room = min(period / 4, 120)
        left = period - time.time() % period
        if left < room:
            time.sleep(left + 0.05)
    yield


def pytest_sessionfinish(session, exitstatus):
    """Views the last test left in this process's buffer would be written at exit, after the
    test database is gone; drop them instead."""
    _forget_held_views()


class Caller:
    """A test client that speaks JSON and carries one caller's credentials."""

    def __init__(self, client, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = headers or {}

    def request(self, method: str, path: str, json_body=None, **headers):
        import json as jsonlib

        kwargs = {"headers": {**self.headers, **headers}}
        if json_body is not None:
            kwargs["data"] = jsonlib.dumps(json_body)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method.lower())(path, **kwargs)

    def get(self, path: str, **headers):
        return self.request("GET", path, **headers)

    def post(self, path: str, json_body=None, **headers):
        return self.request("POST", path, json_body, **headers)

    def patch(self, path: str, json_body=None, **headers):
        return self.request("PATCH", path, json_body, **headers)

    def delete(self, path: str, **headers):
        return self.request("DELETE", path, **headers)


PASSWORD = "a-long-test-passphrase-42"


@pytest.fixture
def make_user(db):
    from shelfwatch.accounts.models import User

    def make(email: str, *, admin: bool = False, **fields):
        if admin:
            return User.objects.create_superuser(email=email, password=PASSWORD, **fields)
        return User.objects.create_user(email=email, password=PASSWORD, **fields)

    return make


@pytest.fixture
def store_a(db):
    from shelfwatch.inventory.models import Store

    return Store.objects.create(name="Corner Bakery", slug="corner-bakery", city="Pune")


@pytest.fixture
def store_b(db):
    from shelfwatch.inventory.models import Store

    return Store.objects.create(name="Hill Grocers", slug="hill-grocers", city="Nashik")


@pytest.fixture
def callers(client, make_user, store_a, store_b):
    """One caller per role: anonymous, customer, staff of store A, owner of store B, admin."""
    from shelfwatch.accounts.models import StoreMembership
    from shelfwatch.accounts.tokens import issue_access_token

    customer = make_user("customer@example.com")
    staff_a = make_user("staff-a@example.com")
    owner_b = make_user("owner-b@example.com")
    admin = make_user("admin@example.com", admin=True)
    StoreMembership.objects.create(user=staff_a, store=store_a, role="staff")
    StoreMembership.objects.create(user=owner_b, store=store_b, role="owner")

    def bearer(user):
        return {"Authorization": "Bearer " + issue_access_token(user=user)[0]}

    return {
        "anon": Caller(client),
        "customer": Caller(client, bearer(customer)),
        "staff_a": Caller(client, bearer(staff_a)),
        "owner_b": Caller(client, bearer(owner_b)),
        "admin": Caller(client, bearer(admin)),
        "users": {"customer": customer, "staff_a": staff_a, "owner_b": owner_b, "admin": admin},
    }


@pytest.fixture
def loopback_allowed(settings):
    """The guarded client refuses 127.0.0.1 unless told; the fake shops live there."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    return settings


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on a free 127.0.0.1 port, for the whole run."""
    from tests.fakes.s3 import S3Endpoint

    endpoint = S3Endpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def s3_media(settings, s3_endpoint):
    """Media and feed snapshots in a fresh bucket of the local S3 endpoint, configured as
    MEDIA_S3_BUCKET configures them; a `tests.fakes.s3.Bucket` to look inside it."""
    from tests.fakes.s3 import Bucket

    bucket = s3_endpoint.new_bucket()
    options = s3_endpoint.storage_options(bucket)
    settings.MEDIA_S3_BUCKET = bucket
    settings.MEDIA_S3_OPTIONS = options
    settings.SERVE_MEDIA = False
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
        "feeds": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**options, "location": "feeds"},
        },
    }
    return Bucket(s3_endpoint, bucket)
