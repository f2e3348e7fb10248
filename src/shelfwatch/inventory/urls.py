from django.urls import path

from shelfwatch.inventory import views

urlpatterns = [
    path("<int:store_id>/items/<int:item_id>/photo", views.upload_photo, name="store-photo"),
    path("<int:store_id>/", views.dashboard, name="store-dashboard"),
]
