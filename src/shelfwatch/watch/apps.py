from django.apps import AppConfig


class WatchConfig(AppConfig):
    name = "shelfwatch.watch"
    label = "watch"
    verbose_name = "Watched shops"

    def ready(self) -> None:
        from shelfwatch.watch import signals

        signals.connect()
