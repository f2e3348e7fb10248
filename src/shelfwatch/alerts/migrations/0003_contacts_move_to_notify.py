"""Contacts now belong to notify (same table: only Django's state moves); a subscription
remembers being switched off by its contact's STOP, which WhatsApp profiles kept before."""

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="notify", model="contact").exists():
        ContentType.objects.filter(app_label="alerts", model="contact").update(app_label="notify")


def mark_stopped(apps, schema_editor):
    WhatsAppProfile = apps.get_model("notify", "WhatsAppProfile")
    Subscription = apps.get_model("alerts", "Subscription")
    for snapshot in WhatsAppProfile.objects.exclude(stop_snapshot=None).values_list(
        "stop_snapshot", flat=True
    ):
        ids = (snapshot or {}).get("subscriptions") or []
        Subscription.objects.filter(pk__in=ids, is_active=False).update(stopped_with_contact=True)


def capture_pending_contexts(apps, schema_editor):
    """Alerts waiting to be sent were rendered from their event at send time; now their
    context is captured when enqueued, so give the waiting ones theirs."""
    Notification = apps.get_model("notify", "Notification")
    WatchedItem = apps.get_model("watch", "WatchedItem")
    waiting = Notification.objects.filter(
        kind="alert", status__in=["pending", "sending"], context={}
    ).exclude(event=None)
    for event_id in waiting.values_list("event_id", flat=True).distinct():
        event = apps.get_model("events", "Event").objects.filter(pk=event_id).first()
        if event is None:
            continue
        payload = event.payload or {}
        changes = [str(c) for c in payload.get("changes") or []]
        summary = {"watch.out_of_stock": "out of stock", "watch.gone": "no longer listed"}
        context = {
            "price": payload.get("price") or payload.get("new_price") or "",
            "old_price": payload.get("old_price") or "",
            "percent": payload.get("percent"),
            "currency": payload.get("currency") or "",
            "available": payload.get("available"),
            "changes": changes,
            "summary": summary.get(event.type, ", ".join(changes or ["updated"])),
            "product": payload.get("name", ""),
            "product_names": {},
            "source": "",
            "url": payload.get("url", ""),
        }
        item = WatchedItem.objects.filter(pk=payload.get("item_id")).first()
        if item is not None:
            source = apps.get_model("watch", "Source").objects.get(pk=item.source_id)
            context.update(product=item.name, source=source.name)
            if item.url.startswith("http"):
                context["url"] = item.url
        waiting.filter(event_id=event_id).update(context=context)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_subscription_last_episode_signed"),
        ("notify", "0003_contacts_move_in_and_kinds"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("events", "0002_event_topics"),
        ("watch", "0002_page_errors_and_observed_currency"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="verificationcode",
                    name="contact",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="codes",
                        to="notify.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="subscription",
                    name="contact",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="subscriptions",
                        to="notify.contact",
                    ),
                ),
                migrations.DeleteModel(name="Contact"),
            ],
        ),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
        migrations.AddField(
            model_name="subscription",
            name="stopped_with_contact",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_stopped, migrations.RunPython.noop),
        migrations.RunPython(capture_pending_contexts, migrations.RunPython.noop),
    ]
