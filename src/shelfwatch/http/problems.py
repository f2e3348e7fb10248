"""RFC 9457 problem details: the one shape every API error takes."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse

from shelfwatch import errors
from shelfwatch.errors import DomainError

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://shelfwatch.dev/problems/"


class ApiError(DomainError):
    """Raise from endpoints to answer with a given status; domain code raises the families
    of `shelfwatch.errors` instead, mapped to a status by STATUS_FOR.

    `code` is the stable machine-readable identifier clients branch on; `detail` is for people.
    """

    status = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail, code=code, extra=extra)
        if status:
            self.status = status
        self.headers = headers or {}


# The one table from domain errors to HTTP statuses; an error takes the status of the first
# class of its MRO listed here.
STATUS_FOR: dict[type[DomainError], int] = {
    errors.Malformed: 400,
    errors.NotSignedIn: 401,
    errors.PaymentRefused: 402,
    errors.NotAllowed: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Expired: 410,
    errors.Invalid: 422,
    errors.TooLarge: 413,
    errors.TooMany: 429,
    errors.Unavailable: 502,
    DomainError: 400,
}

# What endpoints raise for the common cases are the domain families themselves.
NotFound = errors.NotFound
Forbidden = errors.NotAllowed
Conflict = errors.Conflict
Unauthorized = errors.NotSignedIn


def status_of(exc: DomainError) -> int:
    """The HTTP status `exc` answers with."""
    if isinstance(exc, ApiError):
        return exc.status
    for cls in type(exc).__mro__:
        if cls in STATUS_FOR:
            return STATUS_FOR[cls]
    return 400


def headers_of(exc: DomainError) -> dict[str, str]:
    """The response headers `exc` asks for (Retry-After when it says when to come back)."""
    headers = dict(getattr(exc, "headers", {}))
    if exc.retry_after is not None:
        headers.setdefault("Retry-After", str(exc.retry_after))
    return headers


def problem_body(
    *,
    status: int,
    code: str,
    detail: str = "",
    title: str | None = None,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An RFC 9457 problem document; title and detail default to the status's standard phrase and
    description. `extra` adds members but never replaces the standard ones."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or HTTPStatus(status).description,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    # Clients read `status` as the HTTP status and branch on `code`, so an extra of the same
    # name (an order's or a job's own status) must not take their place.
    body.update({name: value for name, value in (extra or {}).items() if name not in body})
    return body


def problem_response(
    request: HttpRequest | None,
    *,
    status: int,
    code: str,
    detail: str = "",
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """An `application/problem+json` response, its `instance` the request's path."""
    body = problem_body(
        status=status,
        code=code,
        detail=detail,
        title=title,
        instance=request.path if request is not None else None,
        extra=extra,
    )
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(request: HttpRequest | None, exc: DomainError) -> HttpResponse:
    """The problem document answering a domain (or API) error."""
    return problem_response(
        request,
        status=status_of(exc),
        code=exc.code,
        detail=exc.detail,
        extra=exc.extra,
        headers=headers_of(exc),
    )
