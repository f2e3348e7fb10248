"""The address book: contacts (an address on a channel, verified or not, stopped or not).

Stopping and starting a contact happen here and only here, whoever asks: the person's STOP
or START on WhatsApp, the manage page's "unsubscribe from all", a provider saying the address
is gone, an operator in the admin. Apps that keep something per contact (alerts keeps
subscriptions) follow through the `contact_stopped` and `contact_started` signals, sent in
the same transaction.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from shelfwatch.notify.models import Channel, Contact

# Sent with `contact` and `opted_out`; receivers switch off what they send to it, so that
# a start restores it only if `opted_out` (the person's STOP, not a manage page's choice).
contact_stopped = Signal()
# Sent with `contact`; receivers switch back on what its stop switched off and return how
# many things came back.
contact_started = Signal()


def stop_contact(*, contact: Contact, opted_out: bool = False) -> None:
    """Send nothing more to `contact`. `opted_out`: the person (or the provider for them)
    refused messages, and a later start brings back what this stop switched off; without it
    (they left through a manage page) only what they turn on again comes back."""
    changes: dict = {"is_active": False}
    if opted_out:
        changes["opted_out_at"] = timezone.now()
    with transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(**changes)
        contact_stopped.send(sender=Contact, contact=contact, opted_out=opted_out)
    contact.is_active = False


def start_contact(*, contact: Contact) -> int:
    """`contact` receives messages again, with what its last stop switched off; returns how
    many subscriptions (or other per-contact things) came back."""
    with transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(is_active=True, opted_out_at=None)
        answers = contact_started.send(sender=Contact, contact=contact)
    contact.is_active = True
    contact.opted_out_at = None
    return sum(count for _, count in answers if isinstance(count, int))


def email_contact_of(user, *, verified: bool, language: str = "en") -> Contact:
    """The email contact at `user`'s sign-in address, created (verified only if `verified`:
    the address they signed up with is proven) when missing, and linked to `user`."""
    contact = Contact.objects.filter(channel=Channel.EMAIL, address=user.email).first()
    if contact is None:
        try:
            with transaction.atomic():
                return Contact.objects.create(
                    user=user,
                    channel=Channel.EMAIL,
                    address=user.email,
                    language=language,
                    verified_at=timezone.now() if verified else None,
                )
        except IntegrityError:  # created meanwhile by a concurrent request
            contact = Contact.objects.get(channel=Channel.EMAIL, address=user.email)
    if contact.user_id is None:
        Contact.objects.filter(pk=contact.pk).update(user=user)
        contact.user = user
    return contact
