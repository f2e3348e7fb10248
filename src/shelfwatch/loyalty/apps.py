from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "shelfwatch.loyalty"
    label = "loyalty"
    verbose_name = "Loyalty points"

    def ready(self) -> None:
        from shelfwatch.loyalty import signals

        signals.connect()
