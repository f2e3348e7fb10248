"""Carts, orders with their status history, flash sales and their reservations.

Stock leaves a store only through `inventory.stock.move_stock` (checkout takes it, a
cancellation returns it). Flash-sale units are counted on the sale row itself (`held`,
`sold`) and per customer, and both counters change only through conditional UPDATEs in
`shop.flash_sales`, so concurrent buyers can never take more than was allotted.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

MONEY = {"max_digits": 12, "decimal_places": 2}


class ShopSettings(models.Model):
    """How one store sells: tax, delivery fee and how long flash-sale units are held."""

    store = models.OneToOneField(
        "inventory.Store", on_delete=models.CASCADE, primary_key=True, related_name="shop_settings"
    )
    tax_rate_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    delivery_fee = models.DecimalField(
        **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    reservation_hold_minutes = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(240)]
    )
    offers_delivery = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "shop settings"

    def __str__(self) -> str:
        return f"shop settings of {self.store}"


class Cart(models.Model):
    """A visitor's cart: owned by a user, or by an anonymous Django session until sign-in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session_key = models.CharField(max_length=40, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(session_key__isnull=False),
                name="shop_cart_has_owner",
            )
        ]

    def __str__(self) -> str:
        return f"cart {self.pk} of {self.user_id or 'visitor'}"


class CartLine(models.Model):
    """One product of one store in a cart; `unit_price` is the price last shown."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    store = models.ForeignKey("inventory.Store", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(**MONEY)
    reservation = models.OneToOneField(
        "Reservation", null=True, blank=True, on_delete=models.SET_NULL, related_name="cart_line"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    # Not stored: set by the cart services when a flash-sale line fell back to the
    # regular price ("sale_sold_out" or "sale_ended"), so the page can say so.
    price_note = ""

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "store", "product"], name="shop_cart_line_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="shop_cart_line_qty"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id} @ {self.store_id}"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    PREPARING = "preparing", "Preparing"
    READY = "ready", "Ready for pickup"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class Fulfilment(models.TextChoices):
    PICKUP = "pickup", "Pickup at the store"
    DELIVERY = "delivery", "Delivery"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DUE = "due", "Due on delivery or pickup"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"


class Order(models.Model):
    """What one customer bought from one store; money as charged at checkout."""

    store = models.ForeignKey("inventory.Store", on_delete=models.PROTECT, related_name="orders")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    # The anonymous buyer's session, so the visitor can read the order they placed.
    session_key = models.CharField(max_length=40, blank=True, db_index=True)
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    fulfilment = models.CharField(
        max_length=10, choices=Fulfilment.choices, default=Fulfilment.PICKUP
    )
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=Decimal("0"))
    points_redeemed = models.PositiveIntegerField(default=0)
    tax = models.DecimalField(**MONEY, default=Decimal("0"))
    delivery_fee = models.DecimalField(**MONEY, default=Decimal("0"))
    total = models.DecimalField(**MONEY)
    note = models.CharField(max_length=500, blank=True)
    # Who to ask for and call about the order, as given at checkout (a guest has no
    # account to look them up in).
    customer_name = models.CharField(max_length=150, blank=True)
    customer_phone = models.CharField(max_length=20, blank=True)
    payment_provider = models.CharField(max_length=40, default="manual")
    payment_status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    payment_reference = models.CharField(max_length=200, blank=True)
    # The Idempotency-Key that placed it, as its buyer ("user:<id>" or "session:<key>")
    # used it, and a hash of the request it came with: unique per buyer, so writing the
    # order is what claims the key.
    checkout_owner = models.CharField(max_length=80, blank=True)
    checkout_key = models.CharField(max_length=100, blank=True)
    checkout_request_hash = models.CharField(max_length=64, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["store", "status", "-id"], name="shop_order_board"),
            models.Index(fields=["user", "-id"], name="shop_order_user"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="shop_order_total_non_negative"),
            models.UniqueConstraint(
                fields=["checkout_owner", "checkout_key"],
                condition=~Q(checkout_key=""),
                name="shop_order_checkout_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.pk} ({self.status})"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    stock_item = models.ForeignKey(
        "inventory.StockItem", on_delete=models.PROTECT, related_name="+"
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    product_name = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    line_total = models.DecimalField(**MONEY)
    flash_sale = models.ForeignKey(
        "FlashSale", null=True, blank=True, on_delete=models.PROTECT, related_name="order_lines"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"


class OrderStatusChange(models.Model):
    """One step of an order's history: who moved it where, when and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    previous_status = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.previous_status or '-'} -> {self.status}"


class FlashSale(models.Model):
    """A limited number of units of one product at a lower price for a time window.

    `held` counts units in active reservations (expired ones until they are released),
    `sold` units converted by checkout; `held + sold <= quantity_allotted` always.
    """

    store = models.ForeignKey("inventory.Store", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200, blank=True)
    sale_price = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    quantity_allotted = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    per_customer_limit = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    held = models.PositiveIntegerField(default=0, editable=False)
    sold = models.PositiveIntegerField(default=0, editable=False)
    # Which announcements went out, so each is emitted once.
    started_announced = models.BooleanField(default=False, editable=False)
    sold_out_announced = models.BooleanField(default=False, editable=False)
    ended_announced = models.BooleanField(default=False, editable=False)
    units_left_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A units-left figure the throttle held back; the next change or the tender sends it.
    units_left_due = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["store", "product", "ends_at"], name="shop_sale_lookup")]
        constraints = [
            models.CheckConstraint(
                condition=Q(held__gte=0)
                & Q(sold__gte=0)
                & Q(quantity_allotted__gte=F("held") + F("sold")),
                name="shop_sale_never_oversold",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="shop_sale_window"
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"flash sale {self.pk}"

    def is_active(self, now=None) -> bool:
        """Whether the sale runs at `now` (default: this instant); the end is exclusive."""
        now = now or timezone.now()
        return self.starts_at <= now < self.ends_at


class FlashSaleCustomer(models.Model):
    """Units one customer holds or bought in one sale, checked against the sale's limit."""

    sale = models.ForeignKey(FlashSale, on_delete=models.CASCADE, related_name="customers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    units = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sale", "user"], name="shop_sale_customer_unique"),
            models.CheckConstraint(condition=Q(units__gte=0), name="shop_sale_customer_units"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.units} of {self.sale_id}"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CONVERTED = "converted", "Bought"
    RELEASED = "released", "Released"


class Reservation(models.Model):
    """Units of a flash sale held for one customer until `expires_at`."""

    sale = models.ForeignKey(FlashSale, on_delete=models.CASCADE, related_name="reservations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    expires_at = models.DateTimeField()
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="reservations"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["sale", "status", "expires_at"], name="shop_reservation_live"),
            models.Index(fields=["status", "expires_at"], name="shop_reservation_due"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.sale_id} for {self.user_id} ({self.status})"
