"""Request id, request metrics, the body size limit, lazily built flash messages, and the
split between pages and machine requests (which skip the page-only middleware)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.functional import SimpleLazyObject, empty
from django.utils.translation import gettext as _
from opentelemetry import trace
from whitenoise.middleware import WhiteNoiseMiddleware

from shelfwatch.http.problems import problem_response
from shelfwatch.ops import metrics
from shelfwatch.ops.logs import new_request_id, request_id_var
from shelfwatch.ops.tracing import REQUEST_ID, tracing_enabled

access_logger = logging.getLogger("shelfwatch.access")


# Room for the form fields and part headers around one uploaded file.
MULTIPART_OVERHEAD = 64 * 1024

# The API's upload and preview, and the dashboard's upload page.
_DUMP_UPLOAD = "/api/v1/catalog/imports"
_IMPORT_UPLOAD = re.compile(
    r"^(?:/api/v1/stores/\d+/imports(?:/preview)?|/stores/\d+/imports/upload)/?$"
)

# Probes are polled every few seconds; logging each would drown the access log.
QUIET_ROUTES = frozenset({"health", "ready", "metrics"})
PROBE_PATHS = frozenset({"/health", "/ready", "/metrics"})
API_PREFIX = "/api/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_machine_request(request: HttpRequest) -> bool:
    """A probe, or an API call carrying no browser cookie that is either safe or brings its
    own credentials (a bearer token or an API key).

    Such a request has no session to load, no CSRF cookie to set or check (the API checks
    CSRF itself, only for session-cookie callers), no page language to negotiate, no flash
    messages and no slash to append (no API route ends in one), so the page-only
    middleware steps aside for it (PagesOnly). An anonymous cookie-less write (a visitor's
    first cart line, a login) still gets the session that may start with it.
    """
    path = request.path_info
    if path in PROBE_PATHS:
        return True
    meta = request.META
    if not path.startswith(API_PREFIX) or "HTTP_COOKIE" in meta:
        return False
    return (
        request.method in SAFE_METHODS or "HTTP_AUTHORIZATION" in meta or "HTTP_X_API_KEY" in meta
    )


def body_limit(path: str, content_type: str) -> int | None:
    """The most bytes a request body may declare, or None for no limit here.

    JSON and forms get MAX_REQUEST_BODY_BYTES, file uploads (multipart, which Django streams
    to disk) room for one image of IMAGE_MAX_BYTES (a spreadsheet import: IMPORT_MAX_BYTES);
    the admin is left to Django's own limits.
    One rule for the WSGI middleware and the single-port front, which applies it before it
    reads a byte of the body.
    """
    if path.startswith("/admin/"):
        return None
    limit = settings.MAX_REQUEST_BODY_BYTES
    if content_type.startswith("multipart/form-data"):
        limit = max(limit, settings.IMAGE_MAX_BYTES + MULTIPART_OVERHEAD)
        if _IMPORT_UPLOAD.match(path):
            # A spreadsheet import: the endpoint itself refuses a file over the limit.
            limit = max(limit, settings.IMPORT_MAX_BYTES + MULTIPART_OVERHEAD)
        elif path.rstrip("/") == _DUMP_UPLOAD:
            limit = max(limit, settings.OFF_DUMP_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD)
    return limit


class RequestMiddleware:
    """Per request: the request id, the body size limit, metrics and the access log line.

    One middleware rather than three, because every layer of Django's middleware chain
    costs a few microseconds on every request, probes included.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.tracing = tracing_enabled()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # request.META, not request.headers: building the headers mapping walks the whole
        # WSGI environ (granian copies the process environment into it), ~20 us a request.
        request_id = new_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        if self.tracing:
            # The request's span began before its id was known; later spans get it at start.
            trace.get_current_span().set_attribute(REQUEST_ID, request_id)
        started = time.perf_counter()
        machine = request.machine = is_machine_request(request)
        try:
            if machine:
                # CommonMiddleware steps aside for machine requests: the host is still
                # checked against ALLOWED_HOSTS (DisallowedHost answers 400).
                request.get_host()
            response = self._too_large(request)
            if response is None:
                response = self.get_response(request)
            if response.status_code == 405 and isinstance(response, HttpResponseNotAllowed):
                response = method_not_allowed(request, response["Allow"])
            self._observe(request, response, time.perf_counter() - started)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        if machine and not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response

    def _too_large(self, request: HttpRequest) -> HttpResponse | None:
        """Refuse a body over its limit (body_limit) by its declared length, before reading
        it; a Content-Length that is not a number is 400."""
        length = request.META.get("CONTENT_LENGTH")
        if not length:
            return None
        try:
            declared = int(length)
        except ValueError:
            return problem_response(
                request, status=400, code="bad_content_length", detail="Bad Content-Length."
            )
        limit = body_limit(request.path, request.META.get("CONTENT_TYPE", ""))
        if limit is not None and declared > limit:
            return problem_response(
                request,
                status=413,
                code="body_too_large",
                detail=f"The body exceeds {limit} bytes.",
            )
        return None

    def _observe(self, request: HttpRequest, response: HttpResponse, seconds: float) -> None:
        match = getattr(request, "resolver_match", None)
        route = (match.route if match is not None else "<unmatched>") or "/"
        observe(request, route=route, status=response.status_code, seconds=seconds)


def method_not_allowed(request: HttpRequest, allow: str) -> HttpResponse:
    """A 405 that says so: problem+json for the API and probes, the site's error page for a
    page (Django's and Ninja's own 405s are an empty body or a bare text line)."""
    path = request.path_info
    if path.startswith(API_PREFIX) or path in PROBE_PATHS:
        response = problem_response(
            request,
            status=405,
            code="method_not_allowed",
            detail=f"This route answers {allow} only.",
        )
    else:
        message = _("This address is not opened that way: use the links and buttons on its page.")
        response = render(request, "web/error.html", {"status": 405, "message": message})
        response.status_code = 405
    response["Allow"] = allow
    return response


def observe(request: HttpRequest, *, route: str, status: int, seconds: float) -> None:
    """Count a request by route pattern (bounded labels) and write the access line (granian's
    own access log stays off so each request logs once)."""
    method = request.method or ""
    metrics.observe_request(method=method, route=route, status=status, seconds=seconds)
    if route not in QUIET_ROUTES and access_logger.isEnabledFor(logging.INFO):
        duration_ms = round(seconds * 1000, 2)
        access_logger.info(
            "%s %s %s %.2fms",
            method,
            request.path,
            status,
            duration_ms,
            extra={
                "method": method,
                "path": request.path,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
            },
        )


class PagesOnly:
    """For a middleware only pages need: a machine request (is_machine_request, decided by
    RequestMiddleware) goes straight through it, without even its hooks being called."""

    get_response: Callable[[HttpRequest], HttpResponse]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if getattr(request, "machine", False):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class PageStaticFilesMiddleware(PagesOnly, WhiteNoiseMiddleware):
    """Static files (never under /api/ or a probe's path)."""


class PageSessionMiddleware(PagesOnly, SessionMiddleware):
    """Sessions, for pages and for API calls that carry a cookie or may start a session."""


class PageCommonMiddleware(PagesOnly, CommonMiddleware):
    """Slash redirects and the host check, for pages (machine requests: RequestMiddleware
    checks the host and sets Content-Length)."""


class PageCsrfMiddleware(PagesOnly, CsrfViewMiddleware):
    """The CSRF cookie and check, for pages; the API checks session-cookie writes itself."""


class PageAuthenticationMiddleware(PagesOnly, AuthenticationMiddleware):
    """`request.user` from the session, for pages; the API's principal comes from its own
    authentication."""


class LazyMessageMiddleware(PagesOnly, MessageMiddleware):
    """Django's message middleware, but the storage is built only when a view or template
    uses messages: building it signs and reads cookies and costs ~18 us on every request,
    API calls included."""

    def process_request(self, request: HttpRequest) -> None:
        """Give the request a message storage that is built on first use."""
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Store messages as Django does, unless the storage was never used."""
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)


class PageLocaleMiddleware(LocaleMiddleware):
    """Django's locale middleware for pages; the API answers alike in every language, so its
    responses skip the negotiation and carry no `Vary: Accept-Language`, which would split
    a shared cache's copies of one feed by the readers' browser languages."""

    api_prefix = "/api/"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if getattr(request, "machine", False):
            # A thread keeps the language a page activated before; machines get the default.
            if translation.get_language() != settings.LANGUAGE_CODE:
                translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
            return self.get_response(request)
        return super().__call__(request)

    def process_request(self, request: HttpRequest) -> None:
        """Negotiate the language for pages; API requests get LANGUAGE_CODE."""
        if not request.path_info.startswith(self.api_prefix):
            return super().process_request(request)
        # A thread keeps the language a page activated before; the API speaks the default.
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = settings.LANGUAGE_CODE
        return None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Django's locale handling for pages; API responses are returned unchanged."""
        if request.path_info.startswith(self.api_prefix):
            return response
        return super().process_response(request, response)


class ContentSecurityPolicyMiddleware:
    """Adds `CONTENT_SECURITY_POLICY` to HTML answers that do not set their own. The API's
    documentation page is left without one: it loads Swagger UI from its CDN with an
    inline script, and it shows only the OpenAPI document."""

    docs_prefix = "/api/v1/docs"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            self.policy
            and response.get("Content-Type", "").startswith("text/html")
            and "Content-Security-Policy" not in response
            and not request.path_info.startswith(self.docs_prefix)
        ):
            response["Content-Security-Policy"] = self.policy
        return response
