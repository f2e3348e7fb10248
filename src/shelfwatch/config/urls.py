import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from shelfwatch.catalog.media import serve_media
from shelfwatch.config.api import api, mount_routers
from shelfwatch.ops import views as ops_views

mount_routers()

urlpatterns = [
    path("health", ops_views.health, name="health"),
    path("ready", ops_views.ready, name="ready"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
# Uploaded images, when the app itself serves them (SERVE_MEDIA; see catalog/media.py).
if settings.MEDIA_URL.startswith("/"):
    media_prefix = re.escape(settings.MEDIA_URL.lstrip("/"))
    urlpatterns.append(re_path(rf"^{media_prefix}(?P<path>.+)$", serve_media, name="media"))
urlpatterns.append(path("", include("shelfwatch.web.urls")))

handler404 = "shelfwatch.web.views.not_found"
handler500 = "shelfwatch.web.views.server_error"
