from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "shelfwatch.imports"
    label = "imports"
    verbose_name = "Bulk imports"
