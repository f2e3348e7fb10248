from django.urls import path

from shelfwatch.assistant import views

urlpatterns = [
    path("", views.assistant_page, name="assistant"),
]
