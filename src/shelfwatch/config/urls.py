from django.contrib import admin
from django.urls import include, path

from shelfwatch.config.api import api, mount_routers
from shelfwatch.ops import views as ops_views

mount_routers()

urlpatterns = [
    path("health", ops_views.health, name="health"),
    path("ready", ops_views.ready, name="ready"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("shelfwatch.web.urls")),
]

handler404 = "shelfwatch.web.views.not_found"
handler500 = "shelfwatch.web.views.server_error"
