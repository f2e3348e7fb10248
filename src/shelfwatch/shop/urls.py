from django.urls import path

from shelfwatch.shop import checkout_views, order_views, sale_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.product_list, name="shop-products"),
    # No trailing slash: watch items of our stores link to /products/<id> (watch/internal.py).
    path("products/<int:product_id>", views.product_detail, name="shop-product"),
    path("products/<int:product_id>/notify", views.notify_me, name="shop-notify"),
    path("store/", views.choose_store, name="shop-choose-store"),
    path("account/", views.account, name="account"),
    path("cart/", checkout_views.cart_page, name="shop-cart"),
    path("cart/add", checkout_views.cart_add, name="shop-cart-add"),
    path("cart/lines/<int:line_id>", checkout_views.cart_line_update, name="shop-cart-line"),
    path(
        "cart/lines/<int:line_id>/remove",
        checkout_views.cart_line_remove,
        name="shop-cart-line-remove",
    ),
    path("checkout/<int:store_id>/", checkout_views.checkout_page, name="shop-checkout"),
    path("orders/<int:order_id>", order_views.order_page, name="shop-order"),
    path("orders/<int:order_id>/cancel", order_views.order_cancel, name="shop-order-cancel"),
    # The staff's list of stores, with counts from inventory and orders (so it lives in the
    # shop, which knows both); it takes the /stores/ path before inventory/urls.py's.
    path("stores/", order_views.stores_overview, name="stores"),
    # Beside the store dashboard (/stores/<id>/, inventory/urls.py), which this include
    # precedes without overlapping.
    path("stores/<int:store_id>/orders/", order_views.order_board, name="shop-order-board"),
    path(
        "stores/<int:store_id>/orders/<int:order_id>/status",
        order_views.order_board_move,
        name="shop-order-move",
    ),
    path("stores/<int:store_id>/flash-sales/", sale_views.sale_list, name="store-flash-sales"),
    path("stores/<int:store_id>/flash-sales/new", sale_views.sale_new, name="store-flash-sale-new"),
    path(
        "stores/<int:store_id>/flash-sales/<int:sale_id>/",
        sale_views.sale_edit,
        name="store-flash-sale-edit",
    ),
    path(
        "stores/<int:store_id>/flash-sales/<int:sale_id>/end",
        sale_views.sale_end,
        name="store-flash-sale-end",
    ),
    path(
        "stores/<int:store_id>/flash-sales/<int:sale_id>/cancel",
        sale_views.sale_cancel,
        name="store-flash-sale-cancel",
    ),
]
