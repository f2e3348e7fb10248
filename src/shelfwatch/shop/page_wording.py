"""Words the storefront pages use for shop states: a refused request (the problem's stable
`code` mapped to a translated sentence, the API's English `detail` as the fallback), and
order statuses and moves in the shopper's language.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from shelfwatch.errors import DomainError


def _limit(extra: dict) -> str:
    limit = int(extra.get("limit") or 1)
    return ngettext(
        "You may buy at most %(counter)s unit at the flash sale price.",
        "You may buy at most %(counter)s units at the flash sale price.",
        limit,
    ) % {"counter": limit}


def _over_cap(extra: dict) -> str:
    return _("At most %(counter)s points may be used on this order.") % {
        "counter": extra.get("max_points", 0)
    }


def _insufficient_points(extra: dict) -> str:
    return _("You have %(counter)s points here.") % {"counter": extra.get("balance", 0)}


_MESSAGES = {
    "invalid_quantity": lambda extra: _("Choose a quantity from 1 to 999."),
    "product_not_sold": lambda extra: _("This store does not sell that product now."),
    "sign_in_required": lambda extra: _("Sign in to buy at the flash sale price."),
    "flash_sale_not_active": lambda extra: _("The flash sale is not running now."),
    "flash_sale_sold_out": lambda extra: _("The flash sale is sold out."),
    "flash_sale_already_started": lambda extra: _(
        "That flash sale has started, so it cannot be cancelled: end it instead."
    ),
    "flash_sale_limit_exceeded": _limit,
    "reservation_expired": lambda extra: _(
        "Your hold on a flash-sale item ran out. Update its quantity in the cart to hold it "
        "again, or to buy it at the regular price once the sale is over."
    ),
    "cart_line_not_found": lambda extra: _("That item is no longer in your cart."),
    "cart_empty": lambda extra: _("Your cart has nothing from this store."),
    "delivery_not_offered": lambda extra: _("This store offers pickup only."),
    "invalid_fulfilment": lambda extra: _("Choose pickup or delivery."),
    "unknown_payment_method": lambda extra: _("Choose a way to pay."),
    "idempotency_key_required": lambda extra: _("The form was incomplete; place the order again."),
    "idempotency_key_reused": lambda extra: _(
        "This form was already used for another order. Check the details and place the order again."
    ),
    "insufficient_points": _insufficient_points,
    "points_over_cap": _over_cap,
    "invalid_points": lambda extra: _("Enter a whole number of points."),
    "invalid_order_total": lambda extra: _("Points cannot be used on this order."),
    "loyalty_disabled": lambda extra: _("This store has no points program now."),
    "insufficient_stock": lambda extra: _("Some items are short; nothing was ordered."),
    "payment_failed": lambda extra: _("The payment failed; the order was cancelled."),
    "payment_unavailable": lambda extra: _("The payment failed; the order was cancelled."),
    "invalid_phone": lambda extra: _(
        "That phone number does not look right. Write it with its country code, like "
        "+91 98123 45678."
    ),
    "transition_not_allowed": lambda extra: _(
        "The order changed meanwhile; it is shown as it is now."
    ),
}


def problem_message(exc: DomainError) -> str:
    """A sentence for the shopper about `exc`, in the active language."""
    message = _MESSAGES.get(exc.code)
    return message(exc.extra) if message else exc.detail


# Order statuses in the shopper's words, and the staff board's buttons for each move.
STATUS_LABELS = {
    "pending": gettext_lazy("Placed"),
    "confirmed": gettext_lazy("Confirmed"),
    "preparing": gettext_lazy("Being prepared"),
    "ready": gettext_lazy("Ready for pickup"),
    "out_for_delivery": gettext_lazy("Out for delivery"),
    "delivered": gettext_lazy("Delivered"),
    "cancelled": gettext_lazy("Cancelled"),
}
MOVE_LABELS = {
    "confirmed": gettext_lazy("Confirm"),
    "preparing": gettext_lazy("Start preparing"),
    "ready": gettext_lazy("Ready for pickup"),
    "out_for_delivery": gettext_lazy("Send out"),
    "delivered": gettext_lazy("Handed over"),
    "cancelled": gettext_lazy("Cancel order"),
}


def label_orders(orders) -> list:
    """The orders, each with `status_label` set for the page."""
    for order in orders:
        order.status_label = STATUS_LABELS.get(order.status, order.status)
    return list(orders)


POINT_KINDS = {
    "earn": gettext_lazy("Earned on a delivered order"),
    "redeem": gettext_lazy("Used at checkout"),
    "refund": gettext_lazy("Given back (order cancelled)"),
    "reverse": gettext_lazy("Taken back (order cancelled)"),
    "expire": gettext_lazy("Expired"),
    "adjust": gettext_lazy("Adjusted by the store"),
}


def label_entries(entries) -> list:
    """Loyalty entries, each with `kind_label` set for the page."""
    for entry in entries:
        entry.kind_label = POINT_KINDS.get(entry.kind, entry.kind)
    return list(entries)
