from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "shelfwatch.inventory"
    label = "inventory"
    verbose_name = "Stores and inventory"

    def ready(self) -> None:
        from shelfwatch.inventory import signals

        signals.connect()
