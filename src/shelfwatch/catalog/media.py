"""Serving MEDIA_ROOT from the app itself, for the embedded single-machine install.

It answers only when SERVE_MEDIA is on (404 otherwise), and only for pictures: import
files kept in the same storage are a store's private data. A deployment should let the
reverse proxy serve the media directory, or keep images in an S3 bucket, instead of
spending web workers on it.
"""

from __future__ import annotations

import posixpath

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.static import serve

# Image names are derived from the content, so a file at such a URL never changes.
IMMUTABLE = "public, max-age=31536000, immutable"
IMMUTABLE_PREFIX = "images/"


@require_safe
def serve_media(request: HttpRequest, path: str) -> HttpResponse:
    """One picture under MEDIA_ROOT's images/ (404 for anything else); browsers cache it
    for good."""
    if not settings.SERVE_MEDIA:
        raise Http404("media are not served by the app here")
    # Pictures are the only public media. The path is judged as `serve` will read it, with
    # its `..` steps resolved, so "images/../imports/..." is not a picture.
    path = posixpath.normpath(path).lstrip("/")
    if not path.startswith(IMMUTABLE_PREFIX):
        raise Http404("not a picture")
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    if response.status_code == 200:
        response["Cache-Control"] = IMMUTABLE
    return response
