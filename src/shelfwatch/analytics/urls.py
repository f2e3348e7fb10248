"""The analytics dashboard for staff and admins, under /analytics/."""

from django.urls import path

from shelfwatch.analytics import views

urlpatterns = [
    path("", views.dashboard, name="analytics-dashboard"),
    path("<slug:table>.csv", views.export, name="analytics-export"),
]
