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


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400 (a malformed form or upload, a host name not served here) in the site's own page,
    or as a problem on API paths."""
    if _wants_problem(request):
        return problem_response(
            request, status=400, code="bad_request", detail="The request is malformed."
        )
    message = _("The page could not read what your browser sent. Go back and try again.")
    return render(request, "web/error.html", {"status": 400, "message": message}, status=400)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403 in the site's own page (what the account may not see), or as a problem."""
    if _wants_problem(request):
        return problem_response(request, status=403, code="forbidden", detail="Not allowed.")
    message = _("Your account cannot open this page.")
    return render(request, "web/error.html", {"status": 403, "message": message}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form whose CSRF token no longer matches: most often a page left open while the
    user signed in or out in another tab. Says so, instead of Django's technical page."""
    if _wants_problem(request):
        return problem_response(
            request,
            status=403,
            code="csrf_failed",
            detail="CSRF check failed: send the csrftoken cookie's value in X-CSRFToken.",
        )
    message = _(
        "This form has expired, perhaps because you signed in or out in another tab. "
        "Reload the page and send it again."
    )
    return render(request, "web/error.html", {"status": 403, "message": message}, status=403)


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
