from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "shelfwatch.feeds"
    label = "feeds"
    verbose_name = "Data feeds"

    def ready(self) -> None:
        from shelfwatch.feeds import signals

        signals.connect()
