from django.urls import path

from shelfwatch.alerts import views

urlpatterns = [
    path("confirm/<str:token>/", views.confirm_email, name="alerts-confirm"),
    path("manage/<str:token>/", views.manage, name="alerts-manage"),
    path("history/<int:item_id>/", views.item_history, name="alerts-item-history"),
    path("manage-link/", views.manage_link, name="alerts-manage-link"),
    path("unsubscribe/<str:token>/", views.unsubscribe_one, name="alerts-unsubscribe"),
    path("unsubscribe-all/<str:token>/", views.unsubscribe_all, name="alerts-unsubscribe-all"),
]
