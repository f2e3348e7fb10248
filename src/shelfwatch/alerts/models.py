"""Who wants to hear about what: subscriptions of contacts (notify's address book) to
watched items, and the codes that verify a contact.

A subscription ties a contact to a watched item (an external shop's product, or one of our
store's products through its internal source) and says what to be told about. Its contact
receives nothing until verified.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

from shelfwatch.notify.models import Contact


class VerificationCode(models.Model):
    """A one-time code sent to a contact; only its hash is kept."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    requested_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["contact", "-created_at"], name="alerts_code_contact")]

    def __str__(self) -> str:
        return f"code for {self.contact_id} at {self.created_at:%Y-%m-%d %H:%M}"


class SubscriptionKind(models.TextChoices):
    BACK_IN_STOCK = "back_in_stock", "Back in stock"
    PRICE_BELOW = "price_below", "Price at or below a target"
    PRICE_DROP = "price_drop", "Price drops by at least N percent"
    ANY_UPDATE = "any_update", "Any change"


class Subscription(models.Model):
    """A contact's wish to hear about one watched item."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="subscriptions")
    item = models.ForeignKey(
        "watch.WatchedItem", on_delete=models.CASCADE, related_name="subscriptions"
    )
    kind = models.CharField(
        max_length=16, choices=SubscriptionKind.choices, default=SubscriptionKind.BACK_IN_STOCK
    )
    target_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    min_drop_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    cooldown = models.DurationField(default=timedelta(hours=1))
    is_active = models.BooleanField(default=True)
    # Switched off by its contact's STOP (not by the person): the contact's START turns
    # exactly these back on.
    stopped_with_contact = models.BooleanField(default=False)
    # Set when a notification is created: nothing more until quiet_until passes, and a
    # back-in-stock alert only for an episode after last_episode, the last restock episode
    # the subscriber has seen. Subscribing while the item is out sets it one below the
    # current episode (-1 for an item never seen in stock), so its next return is news.
    last_notified_at = models.DateTimeField(null=True, blank=True)
    quiet_until = models.DateTimeField(null=True, blank=True)
    last_episode = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "item", "kind"], name="alerts_subscription_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="price_below") | models.Q(target_price__isnull=False),
                name="alerts_price_below_has_target",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="price_drop") | models.Q(min_drop_percent__gt=0),
                name="alerts_price_drop_has_percent",
            ),
        ]
        indexes = [
            models.Index(fields=["item", "kind", "is_active"], name="alerts_sub_item_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} -> {self.item_id} ({self.kind})"
