from django.urls import path

from shelfwatch.inventory import views

urlpatterns = [
    path("", views.store_list, name="stores"),
    path("<int:store_id>/", views.dashboard, name="store-dashboard"),
]
