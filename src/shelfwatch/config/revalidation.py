"""Feed revalidations answered ahead of Django's request handling, with the same checks.

Feed clients poll with If-None-Match every few seconds and almost always get 304. The
check itself (the API key from this process's cache, the dataset's row, a tag compared)
costs about 0.05 ms of CPU; Django's handler, middleware chain, URL resolution and
Ninja's operation around it cost five times that, more than a whole Flask answer.

So the WSGI entry point hands this lane the requests it can answer exactly as the full
stack would, and nothing else: GET of /api/v1/feeds/<name> without a query string, with
an X-API-Key and an If-None-Match header, without a cookie or an Authorization header
(which the API would try first). It checks the host as ALLOWED_HOSTS says, lets the
security middleware refuse or redirect, authenticates the key as the API's KeyAuth does
(scope `read`), applies the same access rule (feeds.access) and the API's rate limits,
and answers 304 only when the client's tag is current, with the headers the middleware
would add, the request id, and the request counted under the same route. Every other
outcome (a refused or unknown key, a stale tag, a throttled caller, any error) falls
through to Django untouched, which answers it in full (problem+json and all). The rate
limit is counted only when the lane answers, so a request is never counted twice, except
one already refused.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core import signals
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

from shelfwatch.accounts.permissions import require_scope
from shelfwatch.accounts.principal import from_api_key
from shelfwatch.accounts.throttling import default_throttles
from shelfwatch.feeds.delivery import not_modified_headers
from shelfwatch.feeds.revalidation import current_tag_held
from shelfwatch.ops.logs import new_request_id, request_id_var
from shelfwatch.ops.middleware import observe
from shelfwatch.ops.tracing import tracing_enabled

FEED_PATH = re.compile(r"^/api/v1/feeds/([^/]+)$")
ROUTE = "api/v1/feeds/<name>"  # the route the full stack counts these requests under
NOT_FEEDS = frozenset({"health"})  # feeds/health is its own route


def _unused(_request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("only the middleware's hooks are used")


class RevalidationLane:
    """A WSGI application: a current feed revalidation answered here, the rest by `app`."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.enabled = not tracing_enabled()  # traced requests keep their spans: full stack
        self.security = SecurityMiddleware(_unused)
        self.frames = XFrameOptionsMiddleware(_unused)
        self.throttles = default_throttles()
        self._added: dict[bool, list[tuple[str, str]]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if not (
            self.enabled
            and environ.get("REQUEST_METHOD") == "GET"
            and environ.get("HTTP_IF_NONE_MATCH")
            and environ.get("HTTP_X_API_KEY")
            and not environ.get("QUERY_STRING")
            and "HTTP_COOKIE" not in environ
            and "HTTP_AUTHORIZATION" not in environ
        ):
            return self.app(environ, start_response)
        match = FEED_PATH.match(environ.get("PATH_INFO", ""))
        if match is None or match.group(1) in NOT_FEEDS:
            return self.app(environ, start_response)
        started = time.perf_counter()
        request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        token = request_id_var.set(request_id)  # for any log line, the access line included
        try:
            signals.request_started.send(sender=WSGIHandler, environ=environ)
            try:
                answered = self._answer(environ, match.group(1), request_id)
            finally:
                signals.request_finished.send(sender=WSGIHandler)
            if answered is not None:
                headers, request = answered
                seconds = time.perf_counter() - started
                observe(request, route=ROUTE, status=304, seconds=seconds)
        finally:
            request_id_var.reset(token)
        if answered is None:
            return self.app(environ, start_response)
        start_response("304 Not Modified", headers)
        return []

    def _answer(
        self, environ: dict[str, Any], name: str, request_id: str
    ) -> tuple[list[tuple[str, str]], HttpRequest] | None:
        """The 304's headers and the request, or None for the full stack to answer."""
        try:
            request = WSGIRequest(environ)
            request.get_host()  # DisallowedHost: the full stack answers 400
            if self.security.process_request(request) is not None:
                return None  # an HTTPS redirect: the full stack sends it
            principal = from_api_key(environ["HTTP_X_API_KEY"].strip())
            require_scope(principal, "read")
            request.principal = principal
            etag = current_tag_held(
                principal,
                name,
                if_none_match=environ["HTTP_IF_NONE_MATCH"],
                accept_encoding=environ.get("HTTP_ACCEPT_ENCODING", ""),
            )
            if etag is None:
                return None
            if not all(throttle.allow_request(request) for throttle in self.throttles):
                return None  # refused: the full stack says so, with Retry-After
        except Exception:  # every refusal and error is the full stack's to answer
            return None
        headers = [
            *not_modified_headers(etag),
            *self._middleware_headers(request),
            ("X-Request-ID", request_id),
            ("Content-Length", "0"),
        ]
        return headers, request

    def _middleware_headers(self, request: HttpRequest) -> list[tuple[str, str]]:
        """What the security and frame middleware add to a 304 for this request: found once
        per scheme by letting them handle a bare 304 (they depend on settings and on
        whether the request is secure, nothing else of it)."""
        secure = request.is_secure()
        found = self._added.get(secure)
        if found is None:
            response = HttpResponseNotModified()
            before = set(response.headers)
            self.security.process_response(request, response)
            self.frames.process_response(request, response)
            found = [(k, v) for k, v in response.items() if k not in before]
            self._added[secure] = found
        return found
