"""GET /metrics: Prometheus text, the token guard, queue depth and multiprocess aggregation."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.periodic_fixtures import fast_tick
from tests.ops.queues import discard

pytestmark = pytest.mark.django_db


def samples(response) -> dict[tuple[str, frozenset], float]:
    """Parse an exposition into {(sample name, labels): value}; fails on malformed text."""
    parsed = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            parsed[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return parsed


def test_metrics_count_requests_by_route_and_status(client):
    client.get("/health")
    client.get("/no-such-page")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    parsed = samples(response)
    health = frozenset({"method": "GET", "route": "health", "status": "200"}.items())
    assert parsed[("shelfwatch_http_requests_total", health)] >= 1
    unmatched = frozenset({"method": "GET", "route": "<unmatched>", "status": "404"}.items())
    assert parsed[("shelfwatch_http_requests_total", unmatched)] >= 1
    buckets = [key for key in parsed if key[0] == "shelfwatch_http_request_duration_seconds_bucket"]
    assert any(("route", "health") in labels for _, labels in buckets)


def test_metrics_report_task_queue_depth_at_scrape_time(client):
    def depth() -> float:
        labels = frozenset({"backend": "default", "queue": "default"}.items())
        return samples(client.get("/metrics"))[("shelfwatch_task_queue_depth", labels)]

    before = depth()
    try:
        fast_tick.enqueue()
        fast_tick.enqueue()
        assert depth() == before + 2
    finally:
        discard({fast_tick.module_path})
    up = frozenset({"backend": "default"}.items())
    assert samples(client.get("/metrics"))[("shelfwatch_task_backend_up", up)] == 1


def test_without_a_token_only_loopback_may_scrape(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"HTTP_FORWARDED": "for=203.0.113.9"},
        {"HTTP_X_REAL_IP": "203.0.113.9"},
    ],
)
def test_without_a_token_a_visitor_forwarded_by_a_local_proxy_may_not_scrape(
    client, settings, header
):
    # deploy/nginx.conf runs on the same machine: its requests come from 127.0.0.1.
    settings.METRICS_TOKEN = ""
    refused = client.get("/metrics", REMOTE_ADDR="127.0.0.1", **header)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_with_a_token_every_scrape_needs_it(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing.json()["code"] == "not_authenticated"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "forbidden"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic c2NyYXBlOng=").status_code == 401
    right = client.get(
        "/metrics",
        REMOTE_ADDR="203.0.113.9",
        HTTP_AUTHORIZATION="Bearer scrape-token-0123456789",
    )
    assert right.status_code == 200
    assert b"shelfwatch_http_requests_total" in right.content


RECORD = textwrap.dedent(
    """
    import django
    django.setup()
    from shelfwatch.ops.metrics import observe_request
    for _ in range({count}):
        observe_request(method="GET", route="mp-route", status=200, seconds=0.01)
    """
)

RENDER = textwrap.dedent(
    """
    import django
    django.setup()
    from shelfwatch.ops.metrics import render_latest
    print(render_latest()[0].decode())
    """
)


@pytest.mark.multiprocess
def test_multiprocess_mode_aggregates_every_process(subprocess_env, tmp_path, transactional_db):
    env = {
        **subprocess_env,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "shelfwatch.config.settings",
    }
    for count in (2, 3):
        subprocess.run(
            [sys.executable, "-c", RECORD.format(count=count)], env=env, check=True, timeout=60
        )
    rendered = subprocess.run(
        [sys.executable, "-c", RENDER],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    values = {}
    for family in text_string_to_metric_families(rendered):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    labels = frozenset({"method": "GET", "route": "mp-route", "status": "200"}.items())
    assert values[("shelfwatch_http_requests_total", labels)] == 5
    count_labels = frozenset({"route": "mp-route"}.items())
    assert values[("shelfwatch_http_request_duration_seconds_count", count_labels)] == 5
    assert any(name == "shelfwatch_task_queue_depth" for name, _ in values)
