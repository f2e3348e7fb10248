from django.contrib.auth import views as auth_views
from django.urls import include, path

from shelfwatch.alerts import views as alerts_views
from shelfwatch.analytics import urls as analytics_urls
from shelfwatch.analytics import views as analytics_views
from shelfwatch.web import account_views, pwa, views

urlpatterns = [
    path("", include("shelfwatch.shop.urls")),
    path("login/", account_views.sign_in, name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="home"), name="logout"),
    path("signup/", account_views.sign_up, name="sign-up"),
    path("signup/verify/", account_views.verify_email, name="verify-email"),
    path("password/reset/", account_views.reset_request, name="password-reset"),
    path("password/reset/sent/", account_views.reset_sent, name="password-reset-sent"),
    path(
        "password/reset/<uidb64>/<token>/",
        account_views.reset_confirm,
        name="password-reset-confirm",
    ),
    path("password/reset/done/", account_views.reset_done, name="password-reset-done"),
    path("password/change/", account_views.change_password, name="password-change"),
    path("password/changed/", account_views.password_changed, name="password-changed"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    # At the root, so the worker's scope covers every page.
    path("sw.js", pwa.service_worker, name="service-worker"),
    path("offline", pwa.offline, name="offline"),
    # Browsers ask for /favicon.ico on every page, the admin's included.
    path("favicon.ico", views.favicon, name="favicon"),
    path("stores/<int:store_id>/imports/", include("shelfwatch.imports.urls")),
    path("stores/<int:store_id>/reports/", include("shelfwatch.analytics.urls")),
    path("reports/email/<str:token>/", analytics_views.preference_link, name="report-preference"),
    path("reports/platform/", include(analytics_urls.platform_urlpatterns)),
    path("stores/", include("shelfwatch.inventory.urls")),
    path("analytics/", include(analytics_urls.dashboard_urlpatterns)),
    path("subscribe", alerts_views.subscribe_page, name="subscribe"),
    path("alerts/", include("shelfwatch.alerts.urls")),
    path("assistant/", include("shelfwatch.assistant.urls")),
]
