"""Server-rendered pages; API paths get problem+json even from Django's error handlers."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _

from shelfwatch.http.problems import problem_response

logger = logging.getLogger("shelfwatch.web")


def _wants_problem(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "json" in request.headers.get("Accept", "")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_problem(request):
        return problem_response(request, status=404, code="not_found", detail="No such route.")
    return render(
        request, "web/error.html", {"status": 404, "message": _("Page not found.")}, status=404
    )


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_problem(request):
        return problem_response(
            request,
            status=500,
            code="internal_error",
            detail="Something went wrong on our side; the request id identifies it in our logs.",
        )
    return render(
        request,
        "web/error.html",
        {"status": 500, "message": _("Something went wrong.")},
        status=500,
    )


def favicon(request: HttpRequest) -> HttpResponse:
    """The site's icon where browsers look for it first, the admin's pages included
    (resolved per request: the static file's name may carry its content hash)."""
    return HttpResponsePermanentRedirect(static("web/icons/icon-192.png"))
