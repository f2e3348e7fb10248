from django.contrib.auth import views as auth_views
from django.urls import include, path

from shelfwatch.alerts import views as alerts_views
from shelfwatch.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("stores/", include("shelfwatch.inventory.urls")),
    path("subscribe", alerts_views.subscribe_page, name="subscribe"),
    path("alerts/", include("shelfwatch.alerts.urls")),
]
