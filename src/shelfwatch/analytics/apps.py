from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "shelfwatch.analytics"
    label = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from shelfwatch.analytics import tracking

        tracking.connect()
