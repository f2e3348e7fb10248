from django.contrib.auth import views as auth_views
from django.urls import include, path

from shelfwatch.alerts import views as alerts_views
from shelfwatch.web import pwa

urlpatterns = [
    path("", include("shelfwatch.shop.urls")),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    # At the root, so the worker's scope covers every page.
    path("sw.js", pwa.service_worker, name="service-worker"),
    path("offline", pwa.offline, name="offline"),
    path("stores/", include("shelfwatch.inventory.urls")),
    path("subscribe", alerts_views.subscribe_page, name="subscribe"),
    path("alerts/", include("shelfwatch.alerts.urls")),
]
