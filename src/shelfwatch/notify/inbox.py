"""The in-app inbox: a signed-in user's copy of each alert, also pushed over the event stream."""

from __future__ import annotations

from django.db import transaction

from shelfwatch.events.publishing import emit
from shelfwatch.notify.messages import Message
from shelfwatch.notify.models import InboxItem, Notification


def add_to_inbox(notification: Notification, message: Message) -> InboxItem | None:
    """File the notification in its user's inbox (once) and announce it on `user:<id>`."""
    user_id = notification.contact.user_id
    if user_id is None:
        return None
    with transaction.atomic():
        item, created = InboxItem.objects.get_or_create(
            notification=notification,
            defaults={
                "user_id": user_id,
                "title": message.subject[:200],
                "body": message.text,
                "url": message.url[:1000],
            },
        )
        if created:
            emit(
                type="notify.inbox",
                payload={"inbox_item_id": item.pk, "title": item.title, "url": item.url},
                topics=[f"user:{user_id}"],
            )
    return item
