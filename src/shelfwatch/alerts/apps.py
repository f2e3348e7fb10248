from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "shelfwatch.alerts"
    label = "alerts"
    verbose_name = "Alerts: contacts and subscriptions"

    def ready(self) -> None:
        from shelfwatch.alerts import signals

        signals.connect()
