import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from shelfwatch.catalog.media import serve_media
from shelfwatch.config.api import api, mount_routers
from shelfwatch.ops import views as ops_views

mount_routers()
api_urls = api.urls
# Feed reads are the hottest machine path (clients revalidate every few seconds and mostly
# get 304). Inside the API's include Django tries its routes one by one, and the feeds
# come after about a hundred others: 0.1 ms of CPU per request, as much as the rest of a
# 304. So the feeds' routes are also tried first, in their own order (so `feeds/health`
# still comes before `feeds/<name>`), with the API's own views (its authentication, rate
# limits and problem answers) and the same routes for metrics. The flash-sale rush path
# (adding to the cart, checking out) comes next, for the same reason: it sits behind
# some eighty routes.
FIRST_API_PREFIX = "feeds/"
FIRST_API_ROUTES = ("cart/lines", "checkout")
first_api_patterns = [
    path(f"api/v1/{pattern.pattern}", pattern.callback)
    for pattern in api_urls[0]
    if str(pattern.pattern).startswith(FIRST_API_PREFIX) or str(pattern.pattern) in FIRST_API_ROUTES
]

urlpatterns = [
    path("health", ops_views.health, name="health"),
    path("ready", ops_views.ready, name="ready"),
    path("status", ops_views.status_page, name="status"),
    path("metrics", ops_views.metrics, name="metrics"),
    *first_api_patterns,
    path("api/v1/", api_urls),
    path("admin/", admin.site.urls),
]
# Uploaded images, when the app itself serves them (SERVE_MEDIA; see catalog/media.py).
if settings.MEDIA_URL.startswith("/"):
    media_prefix = re.escape(settings.MEDIA_URL.lstrip("/"))
    urlpatterns.append(re_path(rf"^{media_prefix}(?P<path>.+)$", serve_media, name="media"))
urlpatterns.append(path("", include("shelfwatch.web.urls")))

handler400 = "shelfwatch.web.views.bad_request"
handler403 = "shelfwatch.web.views.forbidden"
handler404 = "shelfwatch.web.views.not_found"
handler500 = "shelfwatch.web.views.server_error"
