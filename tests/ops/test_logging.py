"""Request ids (echoed, and on every log line of the request) and the two log formats."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings

from shelfwatch.ops.logs import RequestIdFilter

pytestmark = pytest.mark.django_db


def configured_formatter(name: str) -> logging.Formatter:
    """Build a formatter exactly as settings.LOGGING describes it."""
    config = settings.LOGGING["formatters"][name]
    configurator = logging.config.DictConfigurator({"version": 1})
    return configurator.configure_formatter(dict(config))


@pytest.fixture
def captured():
    """Collect what the root logger writes, through our filter and a chosen formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)

    def use(formatter_name: str) -> io.StringIO:
        handler.setFormatter(configured_formatter(formatter_name))
        return stream

    yield use
    root.removeHandler(handler)


def test_request_id_is_taken_from_the_header_and_echoed(client):
    response = client.get("/no-such-page", HTTP_X_REQUEST_ID="req-abc.42")
    assert response["X-Request-ID"] == "req-abc.42"


def test_unsafe_or_missing_request_ids_are_replaced(client):
    generated = client.get("/health")["X-Request-ID"]
    assert len(generated) == 32
    assert int(generated, 16) >= 0
    unsafe = client.get("/health", HTTP_X_REQUEST_ID="evil id\twith spaces")["X-Request-ID"]
    assert unsafe != "evil id\twith spaces"
    assert len(unsafe) == 32
    assert client.get("/health", HTTP_X_REQUEST_ID="x" * 200)["X-Request-ID"] != "x" * 200


def test_the_configured_console_handler_stamps_the_request_id(client):
    console = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    # Same formatter and filters as the configured handler, writing somewhere we can read.
    stream = io.StringIO()
    probe = logging.StreamHandler(stream)
    probe.setFormatter(console.formatter)
    for log_filter in console.filters:
        probe.addFilter(log_filter)
    root = logging.getLogger()
    root.addHandler(probe)
    try:
        client.get("/no-such-page", HTTP_X_REQUEST_ID="trace-console-1")
    finally:
        root.removeHandler(probe)
    lines = [line for line in stream.getvalue().splitlines() if "trace-console-1" in line]
    assert lines, stream.getvalue()
    assert any("/no-such-page" in line and "404" in line for line in lines)


def test_text_format_is_readable(client, captured):
    stream = captured("text")
    client.get("/no-such-page", HTTP_X_REQUEST_ID="trace-text-1")
    line = next(x for x in stream.getvalue().splitlines() if "shelfwatch.access" in x)
    assert "[trace-text-1]" in line
    assert "GET /no-such-page 404" in line
    assert "INFO" in line


def test_json_format_emits_one_object_per_line(client, captured):
    stream = captured("json")
    client.get("/no-such-page", HTTP_X_REQUEST_ID="trace-json-1")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = next(r for r in records if r["logger"] == "shelfwatch.access")
    assert access["request_id"] == "trace-json-1"
    assert access["level"] == "INFO"
    assert access["status"] == 404
    assert access["path"] == "/no-such-page"
    assert access["method"] == "GET"
    assert isinstance(access["duration_ms"], float)
    assert "time" in access and "process" in access
    # Every line this request produced carries its id.
    assert all(r["request_id"] == "trace-json-1" for r in records)


def test_log_lines_outside_requests_have_a_placeholder_id(captured):
    stream = captured("json")
    logging.getLogger("shelfwatch.test").warning("no request here")
    record = json.loads(stream.getvalue().splitlines()[-1])
    assert record["request_id"] == "-"
    assert record["message"] == "no request here"


def test_probe_routes_stay_out_of_the_access_log(client, captured):
    stream = captured("text")
    client.get("/health", HTTP_X_REQUEST_ID="trace-probe-1")
    assert "trace-probe-1" not in stream.getvalue()
