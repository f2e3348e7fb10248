"""The address book moves in from alerts (same table, so only Django's state changes), and
each notification says its kind."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def mark_alerts(apps, schema_editor):
    Notification = apps.get_model("notify", "Notification")
    Notification.objects.filter(template__startswith="watch.").update(kind="alert")


class Migration(migrations.Migration):
    dependencies = [
        ("notify", "0002_whatsapp_profiles_pauses_early_statuses"),
        ("alerts", "0002_subscription_last_episode_signed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Contact",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "channel",
                            models.CharField(
                                choices=[
                                    ("whatsapp", "WhatsApp"),
                                    ("email", "Email"),
                                    ("webhook", "Webhook"),
                                    ("apprise", "Apprise"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("address", models.CharField(max_length=500)),
                        ("verified_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "is_active",
                            models.BooleanField(
                                default=True,
                                help_text="Off after STOP or unsubscribe-all: nothing is sent.",
                            ),
                        ),
                        ("timezone", models.CharField(default="Asia/Kolkata", max_length=64)),
                        (
                            "language",
                            models.CharField(
                                default="en",
                                help_text="Language of the messages: en or hi.",
                                max_length=8,
                            ),
                        ),
                        ("last_inbound_at", models.DateTimeField(blank=True, null=True)),
                        ("opted_out_at", models.DateTimeField(blank=True, null=True)),
                        ("signing_secret", models.CharField(blank=True, max_length=64)),
                        ("link_version", models.PositiveIntegerField(default=1)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="contacts",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "alerts_contact", "ordering": ["-created_at", "-id"]},
                ),
                migrations.AddConstraint(
                    model_name="contact",
                    constraint=models.UniqueConstraint(
                        fields=("channel", "address"), name="alerts_contact_unique"
                    ),
                ),
                migrations.AlterField(
                    model_name="notification",
                    name="contact",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to="notify.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="whatsappprofile",
                    name="contact",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="whatsapp_profile",
                        to="notify.contact",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[("alert", "Alert"), ("message", "Message")],
                default="message",
                max_length=12,
            ),
        ),
        migrations.RunPython(mark_alerts, migrations.RunPython.noop),
    ]
