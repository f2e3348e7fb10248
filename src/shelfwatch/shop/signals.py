"""What the shop hooks into: topic kinds, event consumers and the sign-in signal."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in

from shelfwatch.accounts.principal import Principal


def _may_follow_order(principal: Principal, key: str) -> bool:
    """The customer who placed the order and the staff of its store (admins always)."""
    from shelfwatch.shop.models import Order

    order = Order.objects.filter(pk=int(key)).values("user_id", "store_id").first()
    if order is None:
        return False
    return order["user_id"] == principal.user.pk or order["store_id"] in principal.store_roles


def _visitor_placed_order(session_key: str, key: str) -> bool:
    """A visitor follows the orders their session placed without an account."""
    from shelfwatch.shop.models import Order

    return Order.objects.filter(pk=int(key), user__isnull=True, session_key=session_key).exists()


def _merge_on_login(sender, request, user, **kwargs) -> None:
    from django.conf import settings

    from shelfwatch.shop.carts import merge_carts, visitor_keys
    from shelfwatch.shop.orders import claim_visitor_orders

    if request is None:
        return
    # Login gives the session a new key; the visitor cart and orders are keyed by the one
    # from before, which the session's data and the request's cookie still carry.
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    for key in visitor_keys(getattr(request, "session", None), cookie):
        merge_carts(user=user, session_key=key)
        claim_visitor_orders(user=user, session_key=key)


def connect() -> None:
    """Register the shop's topic kinds, event consumers and signal receivers (once, at start)."""
    from shelfwatch.events.consumers import register_consumer
    from shelfwatch.events.topics import register_topic_kind
    from shelfwatch.shop.order_mail import on_order_status_changed

    register_topic_kind("order", check=_may_follow_order, visitor_check=_visitor_placed_order)
    register_topic_kind("flash_sale", public=True)
    register_consumer("order.status_changed", on_order_status_changed, name="shop.order_mail")
    user_logged_in.connect(_merge_on_login, dispatch_uid="shop_merge_cart_on_login")
