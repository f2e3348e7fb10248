"""What a STOP switched off is now marked on the subscriptions themselves."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notify", "0003_contacts_move_in_and_kinds"),
        ("alerts", "0003_contacts_move_to_notify"),
    ]

    operations = [
        migrations.RemoveField(model_name="whatsappprofile", name="stop_snapshot"),
    ]
