from django.urls import path

from shelfwatch.shop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.product_list, name="shop-products"),
    # No trailing slash: watch items of our stores link to /products/<id> (watch/internal.py).
    path("products/<int:product_id>", views.product_detail, name="shop-product"),
    path("products/<int:product_id>/notify", views.notify_me, name="shop-notify"),
    path("store/", views.choose_store, name="shop-choose-store"),
    path("account/", views.account, name="account"),
]
