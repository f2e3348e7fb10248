from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shelfwatch.shop"
    label = "shop"
    verbose_name = "Shop"

    def ready(self) -> None:
        from shelfwatch.shop import signals

        signals.connect()
