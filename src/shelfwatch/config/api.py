"""The NinjaAPI root: every router mounts here, every error leaves as problem+json."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from shelfwatch.accounts.authentication import api_auth
from shelfwatch.accounts.principal import AuthenticationFailed
from shelfwatch.accounts.throttling import default_throttles
from shelfwatch.errors import DomainError
from shelfwatch.http.problems import error_response, problem_response

logger = logging.getLogger("shelfwatch.api")

PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem document; `code` is stable for clients to branch on.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}


def problem_statuses(method: str, operation: dict) -> set[int]:
    """The error statuses a route can answer, besides those it documents itself: bad
    input, credentials, rate limits and missing rows everywhere; conflicts on writes; a
    body too large where there is a body."""
    statuses = {400, 401, 403, 404, 422, 429}
    if method in ("post", "put", "patch", "delete"):
        statuses.add(409)
    if "requestBody" in operation:
        statuses.add(413)
    return statuses


class ShelfwatchAPI(NinjaAPI):
    """The API root; its OpenAPI document also lists the problem answers of every route."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem = {"$ref": "#/components/schemas/Problem"}
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status, response in responses.items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        # Every error leaves as problem+json, whatever the route declared.
                        content["application/problem+json"] = content.pop("application/json")
                for status in sorted(problem_statuses(method, operation)):
                    responses.setdefault(
                        str(status),
                        {
                            "description": HTTPStatus(status).phrase,
                            "content": {"application/problem+json": {"schema": problem}},
                        },
                    )
        return schema


api = ShelfwatchAPI(
    title="Shelfwatch API",
    version="1",
    description="Products and stock, alerts, notifications, live updates and data feeds.",
    urls_namespace="api",
    auth=api_auth,
    throttle=default_throttles(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _field_errors(errors: list[dict]) -> list[dict]:
    fields = []
    for error in errors:
        # Ninja prefixes locations with the parameter source ("body", "query", "path").
        location = [str(part) for part in error.get("loc", ())]
        # A body location reads ("body", "<parameter name>", field...): drop the parameter name.
        path = location[2:] if location[:1] == ["body"] and len(location) > 2 else location[1:]
        fields.append(
            {
                "field": ".".join(path),
                "location": location[0] if location else "",
                "message": error.get("msg", "invalid"),
                "type": error.get("type", "invalid"),
            }
        )
    return fields


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(request, exc)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return problem_response(
        request,
        status=422,
        code="validation_error",
        detail="The request has invalid fields.",
        extra={"errors": _field_errors(exc.errors)},
    )


@api.exception_handler(AuthenticationFailed)
def on_bad_credentials(request: HttpRequest, exc: AuthenticationFailed) -> HttpResponse:
    return problem_response(
        request,
        status=401,
        code="invalid_credentials",
        detail=str(exc),
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


@api.exception_handler(Throttled)
def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    headers = {"Retry-After": str(int(exc.wait))} if exc.wait else {}
    return problem_response(
        request,
        status=429,
        code="rate_limited",
        detail="Too many requests; retry after the number of seconds in Retry-After.",
        headers=headers,
    )


@api.exception_handler(AuthenticationError)
def on_not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(
        request,
        status=401,
        code="not_authenticated",
        detail="Send a bearer token, an X-API-Key header, or log in.",
        headers={"WWW-Authenticate": "Bearer"},
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, RequestDataTooBig):
        return problem_response(
            request, status=413, code="body_too_large", detail="The request body is too large."
        )
    if exc.status_code == 400 and isinstance(cause, (json.JSONDecodeError, UnicodeDecodeError)):
        return problem_response(
            request, status=400, code="malformed_json", detail="The request body is not valid JSON."
        )
    return problem_response(request, status=exc.status_code, code="http_error", detail=exc.message)


# Lock contention the database resolved by aborting one transaction (deadlock, a
# serialization failure, a lock wait given up; SQLite's "database is locked"): nothing was
# written, and the same request may simply be sent again.
_BUSY_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def is_contention(exc: OperationalError) -> bool:
    """True when `exc` is a transaction the database aborted over locks, safe to retry."""
    if getattr(exc.__cause__, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    return "database is locked" in str(exc)


@api.exception_handler(OperationalError)
def on_database_busy(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    if not is_contention(exc):
        raise exc
    logger.warning("database contention answered with 503: %s", exc)
    return problem_response(
        request,
        status=503,
        code="busy_retry",
        detail="The store is busy with the same items right now; send the request again.",
        headers={"Retry-After": "1"},
    )


@api.exception_handler(MultiPartParserError)
def on_malformed_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    # Raised while an upload's parameters are read, before any view code runs.
    return problem_response(
        request,
        status=400,
        code="malformed_multipart",
        detail="The request body is not valid multipart/form-data (is its boundary missing?).",
    )


@api.exception_handler(SuspiciousOperation)
def on_suspicious_request(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    # Django's own refusals of a body: too many fields or files (DATA_UPLOAD_MAX_NUMBER_*).
    return problem_response(
        request, status=400, code="bad_request", detail=str(exc) or "Bad request."
    )


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem_response(request, status=403, code="forbidden", detail=str(exc) or "Forbidden")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, status=404, code="not_found", detail="Not found.")


@api.exception_handler(Exception)
def on_unhandled(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The trace goes to the log (with the request id); the body says nothing about internals.
    logger.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return problem_response(
        request,
        status=500,
        code="internal_error",
        detail="Something went wrong on our side; the request id identifies it in our logs.",
    )


def mount_routers() -> None:
    """Attach each app's router; called once from the URLconf."""
    from shelfwatch.accounts.api import api_keys_router, auth_router
    from shelfwatch.alerts.api import contacts_router, subscriptions_router
    from shelfwatch.analytics.api import router as analytics_router
    from shelfwatch.assistant.api import router as assistant_router
    from shelfwatch.catalog.api import catalog_router, products_router
    from shelfwatch.catalog.images_api import images_router
    from shelfwatch.events.api import router as events_router
    from shelfwatch.feeds.api import router as feeds_router
    from shelfwatch.imports.api import catalog_router as catalog_imports_router
    from shelfwatch.imports.api import lookup_router
    from shelfwatch.imports.api import router as imports_router
    from shelfwatch.inventory.api import router as stores_router
    from shelfwatch.loyalty.api import router as loyalty_router
    from shelfwatch.notify.api import notifications_router, webhook_router
    from shelfwatch.recommend.api import products_router as recommend_products_router
    from shelfwatch.recommend.api import recommendations_router
    from shelfwatch.shop.api import (
        cart_router,
        checkout_router,
        flash_sales_router,
        orders_router,
    )
    from shelfwatch.watch.api import items_router as watch_items_router
    from shelfwatch.watch.api import router as sources_router

    api.add_router("/auth/", auth_router)
    api.add_router("/api-keys", api_keys_router)
    api.add_router("/events", events_router)
    api.add_router("/products", products_router)
    api.add_router("/products", recommend_products_router)
    api.add_router("/recommendations", recommendations_router)
    api.add_router("/catalog/", catalog_router)
    api.add_router("/catalog/", lookup_router)
    api.add_router("/catalog/", catalog_imports_router)
    api.add_router("", images_router)
    api.add_router("/stores", stores_router)
    api.add_router("/stores", imports_router)
    api.add_router("/sources", sources_router)
    api.add_router("/watch/items", watch_items_router)
    api.add_router("/contacts", contacts_router)
    api.add_router("/subscriptions", subscriptions_router)
    api.add_router("/notify", webhook_router)
    api.add_router("/notifications", notifications_router)
    api.add_router("/cart", cart_router)
    api.add_router("/checkout", checkout_router)
    api.add_router("/orders", orders_router)
    api.add_router("/flash-sales", flash_sales_router)
    api.add_router("/loyalty", loyalty_router)
    api.add_router("/feeds", feeds_router)
    api.add_router("/analytics", analytics_router)
    api.add_router("/assistant", assistant_router)
