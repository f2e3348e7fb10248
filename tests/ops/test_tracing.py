"""Tracing with an in-process span exporter: a request's span carries its request id, the
probes make none, a task continues the trace of whoever enqueued it when a worker runs
it, and an outbound call of the guarded client is a client span without the query."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from shelfwatch.http.outbound import FetchError, GuardedClient
from shelfwatch.ops.tracing import REQUEST_ID, configure_tracing, stop_tracing
from tests.fakes.openfoodfacts import OpenFoodFactsFake

DB_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "notify"],
    }
}


@pytest.fixture(scope="module")
def exporter():
    spans = InMemorySpanExporter()
    assert configure_tracing(exporter=spans)
    assert not configure_tracing(exporter=spans), "configured twice"
    yield spans
    stop_tracing()


@pytest.fixture
def spans(exporter):
    exporter.clear()
    return exporter


@pytest.mark.django_db
def test_a_request_is_a_span_carrying_its_request_id(client, spans):
    response = client.get("/api/v1/products", HTTP_X_REQUEST_ID="trace-me-123")
    assert response.status_code == 200 and response["X-Request-ID"] == "trace-me-123"
    (server,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert server.attributes[REQUEST_ID] == "trace-me-123"
    assert server.attributes["http.status_code"] == 200
    assert server.attributes["http.route"] == "api/v1/products"
    assert server.resource.attributes["service.name"] == "shelfwatch"


@pytest.mark.django_db
def test_the_probes_are_not_traced(client, spans):
    assert client.get("/health").status_code == 200
    assert spans.get_finished_spans() == ()


@pytest.mark.django_db(transaction=True)
def test_a_task_run_by_a_worker_continues_the_trace_that_enqueued_it(spans, settings):
    from shelfwatch.imports.tasks import clean_import_previews
    from shelfwatch.ops.logs import request_id_var

    settings.TASKS = DB_TASKS
    token = request_id_var.set("req-42")
    try:
        with trace.get_tracer("test").start_as_current_span("the request") as parent:
            result = clean_import_previews.enqueue()
    finally:
        request_id_var.reset(token)
    # The worker runs it later, with no trace of its own: the context waited beside it.
    call_command("db_worker", "--batch", "--queue-name", "default", "--no-startup-delay")
    (task,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert task.context.trace_id == parent.get_span_context().trace_id
    assert task.parent.span_id == parent.get_span_context().span_id
    assert task.attributes["shelfwatch.task_id"] == str(result.id)
    assert task.attributes[REQUEST_ID] == "req-42"
    assert task.status.status_code != StatusCode.ERROR


def test_an_outbound_call_is_a_client_span_without_its_query(spans, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with (
        OpenFoodFactsFake() as fake,
        GuardedClient(timeout=2) as client,
        trace.get_tracer("test").start_as_current_span("poll") as parent,
    ):
        answer = client.get(f"{fake.base_url}/api/v2/product/123.json?api_key=secret")
        with pytest.raises(FetchError):
            client.get("http://127.0.0.1:9/closed")
    assert answer.status == 404
    found, refused = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert found.parent.span_id == parent.get_span_context().span_id
    assert found.attributes["url.full"] == f"{fake.base_url}/api/v2/product/123.json"
    assert found.attributes["http.response.status_code"] == 404
    assert "secret" not in str(dict(found.attributes))
    assert refused.status.status_code == StatusCode.ERROR
