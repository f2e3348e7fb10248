"""The import pages of a store's dashboard, under /stores/<store_id>/imports/."""

from django.urls import path

from shelfwatch.imports import views

urlpatterns = [
    path("", views.imports_page, name="store-imports"),
    path("upload", views.upload, name="store-import-upload"),
    path("previews/<slug:token>/", views.preview, name="store-import-preview"),
    path("jobs/<int:job_id>/", views.job_page, name="store-import-job"),
    path("jobs/<int:job_id>/cancel", views.cancel, name="store-import-cancel"),
    path("jobs/<int:job_id>/errors.csv", views.errors_csv, name="store-import-errors"),
]
