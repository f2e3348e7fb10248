"""OpenTelemetry tracing, off unless TRACING names an exporter.

When on, every process traces: a span per request (Django's instrumentation; the probes
left out), a span per task run that continues the trace of whatever enqueued it, and a
span per outbound call of the guarded client (`shelfwatch.http.outbound`). Every span
started while a request id is known carries it as `shelfwatch.request_id`, so a trace and
the JSON log lines of the same request find each other.

A task runs later, maybe in another process: its trace context (W3C `traceparent`) and
request id wait in the cache under the task's result id, written when it is enqueued and
read when a worker starts it. Spans leave through a BatchSpanProcessor, whose thread the
SDK restarts in a forked child, so granian's forked workers trace as the parent would.
"""

from __future__ import annotations

import logging
import threading
from contextvars import Token
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django_tasks.signals import task_enqueued, task_finished, task_started
from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode

from shelfwatch import __version__
from shelfwatch.ops.logs import request_id_var

logger = logging.getLogger("shelfwatch.ops")

REQUEST_ID = "shelfwatch.request_id"
# Routes that probes and scrapers hit every few seconds: tracing them is noise.
EXCLUDED_URLS = "health,ready,metrics"
_CONTEXT_TTL = 24 * 3600

_lock = threading.Lock()
_provider: TracerProvider | None = None
_enabled = False
# Task result id -> the span of the running task and the context tokens to restore.
_running: dict[str, tuple[trace.Span, Token, Token]] = {}


class RequestIdProcessor(SpanProcessor):
    """Stamps the current request id on every span as it starts."""

    def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
        request_id = request_id_var.get()
        if request_id != "-":
            span.set_attribute(REQUEST_ID, request_id)

    def on_end(self, span: ReadableSpan) -> None:
        pass


def tracing_enabled() -> bool:
    """Whether this process traces (configure_tracing ran and succeeded)."""
    return _enabled


def configure_tracing(*, exporter: SpanExporter | None = None) -> bool:
    """Start tracing in this process when TRACING is `otlp` or `console` (or `exporter`
    is given, spans then leave one by one: for tests). False when tracing stays off or
    was on already. The OTLP exporter reads the standard OTEL_EXPORTER_OTLP_* settings."""
    global _provider, _enabled
    mode = settings.TRACING
    if not mode and exporter is None:
        return False
    with _lock:
        if _enabled:
            return False
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        # One provider per process: OpenTelemetry keeps the first one set for good.
        provider = _provider or TracerProvider(
            resource=Resource.create(
                {"service.name": settings.OTEL_SERVICE_NAME, "service.version": __version__}
            )
        )
        if _provider is None:
            provider.add_span_processor(RequestIdProcessor())
            trace.set_tracer_provider(provider)
            _provider = provider
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            provider.add_span_processor(BatchSpanProcessor(_exporter(mode)))
        DjangoInstrumentor().instrument(tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
        task_enqueued.connect(_remember_context, dispatch_uid="shelfwatch-tracing")
        task_started.connect(_start_task_span, dispatch_uid="shelfwatch-tracing")
        task_finished.connect(_end_task_span, dispatch_uid="shelfwatch-tracing")
        _enabled = True
    logger.info("tracing on (%s)", mode or type(exporter).__name__)
    return True


def stop_tracing() -> None:
    """Flush the spans and stop tracing requests and tasks in this process (tests switch
    it off with it; the provider stays, as OpenTelemetry allows only one)."""
    global _enabled
    with _lock:
        if not _enabled:
            return
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().uninstrument()
        for signal in (task_enqueued, task_started, task_finished):
            signal.disconnect(dispatch_uid="shelfwatch-tracing")
        if _provider is not None:
            _provider.force_flush()
        _enabled = False


def _exporter(mode: str) -> SpanExporter:
    if mode == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _key(task_id: Any) -> str:
    return f"tracing:task:{task_id}"


def _remember_context(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """Keep the enqueuer's trace context for the task's run (nothing outside a trace)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    try:
        cache.set(
            _key(task_result.id),
            {"carrier": carrier, "request_id": request_id_var.get()},
            _CONTEXT_TTL,
        )
    except Exception:  # tracing must never fail an enqueue
        logger.warning("could not keep the trace context of task %s", task_result.id)


def _start_task_span(sender: Any, task_result: Any, **kwargs: Any) -> None:
    try:
        kept = cache.get(_key(task_result.id)) or {}
    except Exception:
        kept = {}
    parent = propagate.extract(kept.get("carrier") or {})
    name = task_result.task.module_path
    request_token = request_id_var.set(kept.get("request_id") or request_id_var.get())
    span = trace.get_tracer("shelfwatch.tasks").start_span(
        f"task {name.rsplit('.', 1)[-1]}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={"shelfwatch.task": name, "shelfwatch.task_id": str(task_result.id)},
    )
    token = context.attach(trace.set_span_in_context(span))
    _running[str(task_result.id)] = (span, token, request_token)


def _end_task_span(sender: Any, task_result: Any, **kwargs: Any) -> None:
    running = _running.pop(str(task_result.id), None)
    if running is None:
        return
    span, token, request_token = running
    if str(getattr(task_result, "status", "")).upper().endswith("FAILED"):
        span.set_status(Status(StatusCode.ERROR, "the task failed"))
    span.end()
    context.detach(token)
    request_id_var.reset(request_token)
