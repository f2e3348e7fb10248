"""Who a WhatsApp update is about, and the opt-outs people make there.

Meta names people by `wa_id`, which can differ from the number we dialled (Brazil's ninth
digit, Mexico's 521, Argentina's 549): the one a send's answer carries is stored and matched
first, the dialled number second. STOP switches off what was on and remembers it, so START
restores exactly that; a marketing opt-out (a `user_preferences` webhook or error 131050)
stops marketing templates only.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from shelfwatch.alerts.models import Contact
from shelfwatch.notify.models import WhatsAppProfile


def contact_for(wa_id: str) -> Contact | None:
    """The WhatsApp contact `wa_id` names: by the stored wa_id, else by the dialled number."""
    wa_id = wa_id.lstrip("+")
    if not wa_id:
        return None
    profile = (
        WhatsAppProfile.objects.filter(wa_id=wa_id, contact__channel="whatsapp")
        .select_related("contact")
        .order_by("-updated_at")
        .first()
    )
    if profile is not None:
        return profile.contact
    return Contact.objects.filter(channel="whatsapp", address="+" + wa_id).first()


def remember_wa_id(contact_id: int, wa_id: str) -> None:
    """Store the wa_id Meta answered a send to this contact with."""
    WhatsAppProfile.objects.update_or_create(contact_id=contact_id, defaults={"wa_id": wa_id})


def change_number(old_wa_id: str, new_wa_id: str) -> bool:
    """A person moved WhatsApp to a new number (a `system` message): their contact is now
    reached, and matched, by the new wa_id. False when the old one is not ours."""
    contact = contact_for(old_wa_id)
    if contact is None or not new_wa_id:
        return False
    remember_wa_id(contact.pk, new_wa_id.lstrip("+"))
    return True


def stop_marketing(contact_id: int, at: datetime | None = None) -> None:
    profile, _ = WhatsAppProfile.objects.get_or_create(contact_id=contact_id)
    if profile.marketing_stopped_at is None:
        WhatsAppProfile.objects.filter(pk=profile.pk).update(
            marketing_stopped_at=at or timezone.now()
        )


def resume_marketing(contact_id: int) -> None:
    WhatsAppProfile.objects.filter(contact_id=contact_id).update(marketing_stopped_at=None)


def marketing_stopped(contact_ids: list[int]) -> set[int]:
    """Which of these contacts stopped marketing messages."""
    return set(
        WhatsAppProfile.objects.filter(
            contact_id__in=contact_ids, marketing_stopped_at__isnull=False
        ).values_list("contact_id", flat=True)
    )


def stop(contact: Contact) -> None:
    """STOP: every alert off, remembering which subscriptions were on (a second STOP adds to
    what the first remembered)."""
    # alerts.subscriptions reaches back into notify's delivery: imported when used.
    from shelfwatch.alerts.subscriptions import stop_contact

    with transaction.atomic():
        profile, _ = WhatsAppProfile.objects.select_for_update().get_or_create(contact=contact)
        was_on = list(contact.subscriptions.filter(is_active=True).values_list("pk", flat=True))
        snapshot = profile.stop_snapshot or {
            "subscriptions": [],
            "contact_was_active": Contact.objects.filter(pk=contact.pk, is_active=True).exists(),
        }
        snapshot["subscriptions"] = sorted(set(snapshot["subscriptions"]) | set(was_on))
        profile.stop_snapshot = snapshot
        profile.save(update_fields=["stop_snapshot", "updated_at"])
        stop_contact(contact)
        Contact.objects.filter(pk=contact.pk).update(opted_out_at=timezone.now())


def start(contact: Contact) -> int:
    """START: the contact back on and exactly the subscriptions its STOP switched off; how
    many subscriptions came back. Without a STOP on record only the contact comes back."""
    with transaction.atomic():
        profile = WhatsAppProfile.objects.select_for_update().filter(contact=contact).first()
        snapshot = (profile.stop_snapshot if profile else None) or {}
        Contact.objects.filter(pk=contact.pk).update(is_active=True, opted_out_at=None)
        restored = 0
        if snapshot.get("subscriptions"):
            restored = contact.subscriptions.filter(pk__in=snapshot["subscriptions"]).update(
                is_active=True
            )
        if profile is not None:
            WhatsAppProfile.objects.filter(pk=profile.pk).update(stop_snapshot=None)
    return restored
