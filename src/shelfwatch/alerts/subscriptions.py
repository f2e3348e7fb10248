"""Subscriptions (and adding a contact to subscribe with): the service functions the API
and the pages call."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from shelfwatch.accounts.models import User
from shelfwatch.alerts.addresses import normalize_address
from shelfwatch.alerts.models import Subscription, SubscriptionKind
from shelfwatch.alerts.verification import send_code
from shelfwatch.errors import Invalid
from shelfwatch.notify.contacts import start_contact
from shelfwatch.notify.models import Channel, Contact
from shelfwatch.watch.models import WatchedItem

MIN_COOLDOWN = timedelta(minutes=1)
MAX_COOLDOWN = timedelta(days=30)


class InvalidSubscription(Invalid):
    code = "invalid_subscription"


def add_contact(
    *, channel: str, address: str, user: User | None = None, ip: str | None = None
) -> Contact:
    """The contact for this address (created if new), with a fresh verification code sent.

    An address that already exists gets a new code, nothing else: whoever enters it proves
    they hold the address.
    """
    normalized = normalize_address(channel, address)
    with transaction.atomic():
        contact, _ = Contact.objects.get_or_create(
            channel=channel,
            address=normalized,
            defaults={
                "user": user,
                # Webhook receivers check our signature with this key.
                "signing_secret": secrets.token_hex(32) if channel == Channel.WEBHOOK else "",
            },
        )
    send_code(contact=contact, ip=ip)
    return contact


def claim_contact(contact: Contact, user: User | None) -> None:
    """After verification by a signed-in caller, the contact is theirs."""
    if user is not None and contact.user_id != user.pk:
        contact.user = user
        contact.save(update_fields=["user"])


def _storable(value: Decimal | None, *, field: str) -> Decimal | None:
    """`value` when the `field` column holds it exactly, else InvalidSubscription: a value
    the column cannot hold (NaN, 1e30, a third decimal place) would be stored rounded, or
    stored by SQLite as it is and then break every read of the row."""
    if value is None:
        return None
    column = Subscription._meta.get_field(field)
    whole_digits = column.max_digits - column.decimal_places
    if (
        not value.is_finite()
        or value.as_tuple().exponent < -column.decimal_places
        or abs(value) >= Decimal(10) ** whole_digits
    ):
        raise InvalidSubscription(
            f"{field} has at most {whole_digits} digits before the point and "
            f"{column.decimal_places} after it",
            code=f"{field}_out_of_range",
        )
    return value


def _cooldown(minutes: int | None) -> timedelta:
    if minutes is None:
        return timedelta(hours=1)
    value = timedelta(minutes=minutes)
    if not MIN_COOLDOWN <= value <= MAX_COOLDOWN:
        raise InvalidSubscription(
            "cooldown_minutes is between 1 and 43200", code="cooldown_out_of_range"
        )
    return value


def subscribe(
    *,
    contact: Contact,
    item: WatchedItem,
    kind: str = SubscriptionKind.BACK_IN_STOCK,
    target_price: Decimal | None = None,
    min_drop_percent: Decimal | None = None,
    cooldown_minutes: int | None = None,
) -> Subscription:
    """Subscribe (or re-subscribe, changing the terms) `contact` to `item` for `kind`."""
    if kind not in SubscriptionKind.values:
        raise InvalidSubscription(
            f"kind is one of {', '.join(SubscriptionKind.values)}", code="unknown_kind"
        )
    target_price = _storable(target_price, field="target_price")
    min_drop_percent = _storable(min_drop_percent, field="min_drop_percent")
    if kind == SubscriptionKind.PRICE_BELOW and (target_price is None or target_price <= 0):
        raise InvalidSubscription(
            "price_below needs a positive target_price", code="target_price_required"
        )
    if kind == SubscriptionKind.PRICE_DROP and not (
        min_drop_percent is not None and 0 < min_drop_percent < 100
    ):
        raise InvalidSubscription(
            "price_drop needs min_drop_percent between 0 and 100", code="drop_percent_required"
        )
    # In stock now: the next restock is news. Out of stock (or not known) now: its return
    # is, even if it comes back within the current episode (a flap) and even for an item
    # never seen in stock (episode 0, so -1).
    seen_episode = item.episode if item.available else item.episode - 1
    with transaction.atomic():
        subscription, created = Subscription.objects.select_for_update().get_or_create(
            contact=contact,
            item=item,
            kind=kind,
            defaults={
                "target_price": target_price,
                "min_drop_percent": min_drop_percent,
                "cooldown": _cooldown(cooldown_minutes),
                "last_episode": seen_episode,
            },
        )
        if not created:
            subscription.target_price = target_price
            subscription.min_drop_percent = min_drop_percent
            subscription.cooldown = _cooldown(cooldown_minutes)
            subscription.is_active = True
            # Asking again while the item is out re-arms the alert for its return.
            subscription.last_episode = min(subscription.last_episode, seen_episode)
            subscription.save()
    return subscription


def unsubscribe(subscription: Subscription) -> None:
    """`subscription` off (the person's choice: a START does not bring it back)."""
    Subscription.objects.filter(pk=subscription.pk).update(
        is_active=False, stopped_with_contact=False
    )


def resume(subscription: Subscription) -> None:
    """`subscription` on again, and its contact with it if it was stopped."""
    Subscription.objects.filter(pk=subscription.pk).update(
        is_active=True, stopped_with_contact=False
    )
    if not Contact.objects.filter(pk=subscription.contact_id, is_active=True).exists():
        start_contact(contact=subscription.contact)


def switch_off_for_stopped_contact(*, contact: Contact, opted_out: bool, **_: object) -> int:
    """Receiver of notify's `contact_stopped`: the contact's subscriptions off, marked for
    its START when the person opted out; returns how many were on."""
    return contact.subscriptions.filter(is_active=True).update(
        is_active=False, stopped_with_contact=opted_out
    )


def switch_on_for_started_contact(*, contact: Contact, **_: object) -> int:
    """Receiver of notify's `contact_started`: the subscriptions its STOP switched off come
    back; returns how many."""
    return contact.subscriptions.filter(stopped_with_contact=True).update(
        is_active=True, stopped_with_contact=False
    )
