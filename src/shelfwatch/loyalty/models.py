"""Loyalty points: each store's program settings, one account per (customer, store), and
the append-only ledger every balance is the sum of.

There is no balance column. The account row exists so writers can lock it; the balance is
`SUM(points)` over the account's entries, and each entry's `balance_after` records the
running total at the time it was written.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Program(models.Model):
    """One store's rules: how points are earned, what they are worth, when they expire."""

    store = models.OneToOneField(
        "inventory.Store", on_delete=models.CASCADE, related_name="loyalty_program"
    )
    enabled = models.BooleanField(default=True)
    earn_points = models.PositiveIntegerField(
        default=1, help_text="Points earned for every full `earn_per_amount` of an order."
    )
    earn_per_amount = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("100.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Amount of a delivered order's total that earns `earn_points`.",
    )
    point_value = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Discount one point buys, in the store's currency.",
    )
    max_redeem_percent = models.PositiveSmallIntegerField(
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="At most this share of an order's total may be paid with points.",
    )
    expiry_months = models.PositiveSmallIntegerField(
        default=12, help_text="Unspent points expire this many months after earning; 0 never."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(max_redeem_percent__gte=1, max_redeem_percent__lte=100),
                name="loyalty_program_cap_percent",
            ),
            models.CheckConstraint(
                condition=Q(earn_per_amount__gt=0, point_value__gt=0),
                name="loyalty_program_positive_amounts",
            ),
        ]

    def __str__(self) -> str:
        return f"loyalty program of {self.store}"


class Account(models.Model):
    """A customer's points at one store: the row writers lock, never a stored balance."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="loyalty_accounts"
    )
    store = models.ForeignKey(
        "inventory.Store", on_delete=models.CASCADE, related_name="loyalty_accounts"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "store"], name="loyalty_account_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.store}"


class EntryKind(models.TextChoices):
    EARN = "earn", "Earned on a delivered order"
    REDEEM = "redeem", "Redeemed at checkout"
    REFUND = "refund", "Redemption given back (order cancelled)"
    REVERSE = "reverse", "Earning reversed (order cancelled)"
    EXPIRE = "expire", "Expired"
    ADJUST = "adjust", "Manual adjustment"


# Kinds that happen at most once per order: the unique constraint makes a redelivered
# event harmless even if two workers race on it.
ONCE_PER_ORDER = (EntryKind.EARN, EntryKind.REDEEM, EntryKind.REFUND, EntryKind.REVERSE)
# Entries that add points are lots; spending takes from the oldest lots first.
LOT_KINDS = (EntryKind.EARN, EntryKind.REFUND, EntryKind.ADJUST)


class Entry(models.Model):
    """One change of one account's points; the ledger is append-only.

    Lots (entries that added points) also track `remaining`: what redemptions, reversals
    and expiry have not taken yet. The sum of `remaining` equals the balance.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=8, choices=EntryKind.choices)
    points = models.IntegerField(help_text="Signed: positive adds, negative takes.")
    balance_after = models.IntegerField()
    remaining = models.PositiveIntegerField(default=0)
    order_id = models.BigIntegerField(null=True, blank=True)
    # The lot an `expire` entry closed: one expiry per lot, so reruns cannot double-expire.
    lot = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="expiries"
    )
    reason = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "entries"
        indexes = [
            models.Index(fields=["account", "-id"], name="loyalty_entry_recent"),
            models.Index(
                fields=["account", "id"],
                condition=Q(remaining__gt=0),
                name="loyalty_open_lots",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["order_id", "kind"],
                condition=Q(order_id__isnull=False, kind__in=ONCE_PER_ORDER),
                name="loyalty_entry_once_per_order",
            ),
            models.UniqueConstraint(
                fields=["lot"], condition=Q(lot__isnull=False), name="loyalty_entry_one_expiry"
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="loyalty_no_debt"),
            # A reversal of points already spent elsewhere records the zero it could take.
            models.CheckConstraint(
                condition=~Q(points=0) | Q(kind="reverse"), name="loyalty_entry_nonzero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.kind} ({self.account_id})"
