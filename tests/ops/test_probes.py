"""GET /health (liveness) and GET /ready (database, cache, task backend)."""

from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_status():
    """Each test sees the status page run its checks afresh."""
    from shelfwatch.ops import views

    views.forget_status()
    yield
    views.forget_status()


UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_health_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_health_needs_no_credentials_and_allows_head(client):
    assert client.head("/health").status_code == 200
    assert client.post("/health").status_code == 405


def test_ready_reports_each_check(client):
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "tasks"}
    assert all(check["ok"] for check in body["checks"].values())
    assert response["Cache-Control"] == "no-store"


# A cache that cannot be reached, for the probes to report.
BROKEN_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": UNREACHABLE_REDIS,
    }
}


def test_ready_names_the_failing_check(client):
    with override_settings(CACHES=BROKEN_CACHE):
        response = client.get("/ready")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "not_ready"
    assert problem["failed"] == ["cache"]
    assert "cache" in problem["detail"]
    assert problem["checks"]["cache"] == {
        "ok": False,
        "error": problem["checks"]["cache"]["error"],
        "ms": problem["checks"]["cache"]["ms"],
    }
    assert problem["checks"]["database"]["ok"] is True
    # Connection details stay in the server log.
    assert "127.0.0.1:1" not in response.content.decode()


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_probes_echo_the_request_id(client, path):
    response = client.get(path, HTTP_X_REQUEST_ID="probe-7")
    assert response["X-Request-ID"] == "probe-7"


def test_ready_shows_a_paused_sending_number_without_failing(client):
    from shelfwatch.notify import pauses

    pauses.pause("whatsapp:123", seconds=600, reason="spam rate limit", code="131048")
    try:
        response = client.get("/ready")
        assert response.status_code == 200
        [paused] = response.json()["paused"]
        assert paused["key"] == "whatsapp:123" and paused["code"] == "131048"
        assert 590 < paused["seconds_left"] <= 600
        metrics = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
        assert 'shelfwatch_notify_paused_seconds{code="131048",key="whatsapp:123"}' in metrics
        # Anyone else (another address, or loopback through a proxy) sees the channel only.
        for extra in ({"REMOTE_ADDR": "203.0.113.9"}, {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}):
            public = client.get("/ready", **extra)
            assert public.status_code == 200
            [shown] = public.json()["paused"]
            assert shown["channel"] == "whatsapp" and 590 < shown["seconds_left"] <= 600
            assert "123" not in public.content.decode() and "spam" not in public.content.decode()
    finally:
        pauses.lift("whatsapp:123")


def test_the_footers_service_status_is_a_page_in_words_not_json(client, make_user, store_a):
    """Store staff follow "Service status" from the footer: it used to open /health, whose
    answer is {"status":"ok"}. It opens a page saying what works; the probes stay JSON."""
    from shelfwatch.accounts.models import StoreMembership

    owner = make_user("owner@example.com")
    StoreMembership.objects.create(user=owner, store=store_a, role="owner")
    client.force_login(owner)
    footer = client.get(f"/stores/{store_a.pk}/").content.decode()
    assert 'href="/status">Service status</a>' in footer
    assert 'href="/health"' not in footer
    response = client.get("/status")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert "Everything is working." in html
    assert "Background tasks (alerts, imports, reports)" in html
    assert html.count("Working") >= 3
    assert client.get("/health").json() == {"status": "ok"}


def test_the_status_page_says_when_something_is_not_working(client):
    with override_settings(CACHES=BROKEN_CACHE):
        response = client.get("/status")
    assert response.status_code == 503
    html = response.content.decode()
    assert "Something is not working" in html and "Not answering" in html
    assert "127.0.0.1:1" not in html


def test_reloading_the_status_page_does_not_run_the_checks_each_time(client, monkeypatch):
    """The page is public: every reload used to write the cache (a database row on the
    default cache) and query the database. Within a few seconds the outcome is reused;
    /ready, for the load balancer, still checks on every request."""
    from shelfwatch.ops import views

    runs = []
    monkeypatch.setitem(views.READY_CHECKS, "database", lambda: runs.append(1))
    for _ in range(5):
        assert client.get("/status").status_code == 200
    assert len(runs) == 1
    client.get("/ready")
    client.get("/ready")
    assert len(runs) == 3
    monkeypatch.setattr(views, "STATUS_REUSE_SECONDS", 0)
    client.get("/status")
    assert len(runs) == 4
