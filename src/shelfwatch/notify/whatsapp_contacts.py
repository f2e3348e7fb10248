"""Who a WhatsApp update is about, and the opt-outs people make there.

Meta names people by `wa_id`, which can differ from the number we dialled (Brazil's ninth
digit, Mexico's 521, Argentina's 549): the one a send's answer carries is stored and matched
first, the dialled number second. STOP and START go through the address book
(`notify.contacts`); a marketing opt-out (a `user_preferences` webhook or error 131050)
stops marketing templates only.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from shelfwatch.notify.models import Contact, WhatsAppProfile


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
    """Record that the contact stopped marketing messages at `at` (default: now); an earlier stop is
    kept."""
    profile, _ = WhatsAppProfile.objects.get_or_create(contact_id=contact_id)
    if profile.marketing_stopped_at is None:
        WhatsAppProfile.objects.filter(pk=profile.pk).update(
            marketing_stopped_at=at or timezone.now()
        )


def resume_marketing(contact_id: int) -> None:
    """Allow marketing messages to the contact again; nothing happens without a profile."""
    WhatsAppProfile.objects.filter(contact_id=contact_id).update(marketing_stopped_at=None)


def marketing_stopped(contact_ids: list[int]) -> set[int]:
    """Which of these contacts stopped marketing messages."""
    return set(
        WhatsAppProfile.objects.filter(
            contact_id__in=contact_ids, marketing_stopped_at__isnull=False
        ).values_list("contact_id", flat=True)
    )
