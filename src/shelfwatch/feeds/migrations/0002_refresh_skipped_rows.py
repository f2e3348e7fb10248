from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="refreshrun",
            name="skipped_rows",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="refreshrun",
            name="first_skipped",
            field=models.CharField(blank=True, max_length=300),
        ),
    ]
