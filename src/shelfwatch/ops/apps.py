from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "shelfwatch.ops"
    label = "ops"
    verbose_name = "Operations"
