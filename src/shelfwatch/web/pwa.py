"""The installable web app: its manifest, its service worker and the offline page.

The worker keeps only the shell (stylesheet, scripts, icons and a user-free offline page)
and answers nothing else from its cache: pages and API responses always come from the
network, so no shopper's data is ever stored on the device by it.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.cache import cache_control

APP_NAME = "Shelfwatch"
THEME_COLOR = "#1f6feb"
BACKGROUND_COLOR = "#ffffff"
ICONS = (("web/icons/icon-192.png", 192), ("web/icons/icon-512.png", 512))
# What the worker stores at install, as static paths.
SHELL_STATIC = (
    "web/site.css",
    "shop/shop.css",
    "shop/live.js",
    "web/pwa.js",
    *(path for path, _size in ICONS),
)


def manifest_document() -> dict:
    """The web app manifest (W3C): how the app installs and which icons it shows."""
    icons = [
        {"src": static(path), "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
        for path, size in ICONS
    ]
    # The big icon keeps its glyph inside the central safe zone, so it may be masked too.
    icons.append({**icons[-1], "purpose": "maskable"})
    return {
        "name": APP_NAME,
        "short_name": APP_NAME,
        "description": "Shop your local stores and hear when things are back in stock.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "lang": get_language() or "en",
        "icons": icons,
    }


@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest as JSON, cacheable for an hour."""
    return HttpResponse(
        json.dumps(manifest_document(), ensure_ascii=False),
        content_type="application/manifest+json",
    )


@lru_cache(maxsize=1)
def shell_version() -> str:
    """A digest of the shell files' contents: a new release gets a new cache, even where
    static URLs carry no hash."""
    digest = hashlib.sha256()
    for path in SHELL_STATIC:
        found = finders.find(path)
        digest.update(path.encode())
        if found:
            digest.update(Path(found).read_bytes())
    template = Path(__file__).parent / "templates" / "web" / "offline.html"
    digest.update(template.read_bytes())
    return digest.hexdigest()[:16]


# Browsers re-check the worker script on navigation; no-cache makes that check real.
@cache_control(no_cache=True, max_age=0)
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker script, which browsers must revalidate on every load: the versioned app
    shell to precache and the offline page."""
    context = {
        "version": shell_version(),
        "shell": [static(path) for path in SHELL_STATIC] + [reverse("offline")],
        "offline_url": reverse("offline"),
    }
    return render(request, "web/sw.js", context, content_type="text/javascript")


def offline(request: HttpRequest) -> HttpResponse:
    """What the app shows when a page cannot be fetched; it holds nothing about the user."""
    return render(request, "web/offline.html", {"theme_color": THEME_COLOR})
