"""Serving MEDIA_ROOT from the app itself, for the embedded single-machine install.

It answers only when SERVE_MEDIA is on (404 otherwise). A deployment should let the
reverse proxy serve the media directory, or keep images in an S3 bucket, instead of
spending web workers on it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.static import serve

# Image names are derived from the content, so a file at such a URL never changes.
IMMUTABLE = "public, max-age=31536000, immutable"
IMMUTABLE_PREFIX = "images/"


@require_safe
def serve_media(request: HttpRequest, path: str) -> HttpResponse:
    """One file under MEDIA_ROOT (404 outside it); images are cached by browsers for good."""
    if not settings.SERVE_MEDIA:
        raise Http404("media are not served by the app here")
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    if response.status_code == 200 and path.startswith(IMMUTABLE_PREFIX):
        response["Cache-Control"] = IMMUTABLE
    return response
