from django.urls import path

from shelfwatch.analytics import dashboard_views, views

# Under stores/<store_id>/reports/.
urlpatterns = [
    path("", views.reports_page, name="store-reports"),
    path("frequency", views.choose_frequency, name="store-report-frequency"),
    path("<int:report_id>/", views.report_page, name="store-report"),
    path("<int:report_id>/<slug:name>.png", views.report_chart, name="store-report-chart"),
]

# Under reports/: the platform's reports, for admins.
platform_urlpatterns = [
    path("", views.reports_page, name="platform-reports"),
    path("frequency", views.choose_frequency, name="platform-report-frequency"),
    path("<int:report_id>/", views.report_page, name="platform-report"),
    path("<int:report_id>/<slug:name>.png", views.report_chart, name="platform-report-chart"),
]

# Under analytics/: the dashboard and its CSV downloads, for staff and admins.
dashboard_urlpatterns = [
    path("", dashboard_views.dashboard, name="analytics-dashboard"),
    path("<slug:table>.csv", dashboard_views.export, name="analytics-export"),
]
