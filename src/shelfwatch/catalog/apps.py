from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "shelfwatch.catalog"
    label = "catalog"
    verbose_name = "Catalog"
