"""Stores, their stock of catalog products, and the ledger of every quantity change.

Quantities change only through `inventory.stock.move_stock`, which writes the ledger row
and the new quantity in one transaction.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models


def validate_timezone(value: str) -> None:
    """Raise ValidationError unless `value` is an IANA time zone name."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone such as Asia/Kolkata")


class Store(models.Model):
    """A shop that keeps its own inventory of catalog products."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    city = models.CharField(max_length=120, blank=True)
    # ISO 3166-2 subdivision such as IN-MH: regional names in this region come first.
    region = models.CharField(max_length=10, blank=True)
    currency = models.CharField(
        max_length=3, default="INR", validators=[RegexValidator(r"^[A-Z]{3}$", "ISO 4217 code")]
    )
    timezone = models.CharField(
        max_length=64, default="Asia/Kolkata", validators=[validate_timezone]
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StockItem(models.Model):
    """One catalog product as one store keeps it: its quantity, prices and shelf details."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="stock_items")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="stock_items"
    )
    quantity = models.IntegerField(default=0)
    cost_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    selling_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    reorder_level = models.PositiveIntegerField(default=0)
    supplier = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=120, blank=True)
    # The store's own code for the item (its till's item code), how its spreadsheets name it.
    sku = models.CharField(max_length=64, blank=True)
    notes = models.TextField(blank=True)
    custom_images = models.ManyToManyField("catalog.ImageBlob", blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store", "product"]
        indexes = [
            models.Index(
                fields=["store", "sku"], condition=~models.Q(sku=""), name="stock_item_sku"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["store", "product"], name="stock_item_unique"),
            # The last line of defence: move_stock's conditional update is the first.
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="stock_non_negative"),
            models.CheckConstraint(
                condition=models.Q(cost_price__isnull=True) | models.Q(cost_price__gte=0),
                name="stock_cost_price_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(selling_price__isnull=True) | models.Q(selling_price__gte=0),
                name="stock_selling_price_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} @ {self.store}"

    @property
    def is_low(self) -> bool:
        """True when the quantity is at or below the reorder level."""
        return self.quantity <= self.reorder_level


class MovementReason(models.TextChoices):
    SALE = "sale"
    RESTOCK = "restock"
    ADJUSTMENT = "adjustment"
    IMPORT = "import"
    RETURN = "return"
    RESERVATION = "reservation"


class StockMovement(models.Model):
    """One change of one stock item's quantity; the ledger is append-only."""

    item = models.ForeignKey(StockItem, on_delete=models.CASCADE, related_name="movements")
    delta = models.IntegerField()
    quantity_after = models.IntegerField()
    reason = models.CharField(max_length=12, choices=MovementReason.choices)
    # What caused it: an order number, an import job, a count sheet.
    reference = models.CharField(max_length=120, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["item", "-id"], name="movement_item_recent")]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.reason} ({self.item_id})"
