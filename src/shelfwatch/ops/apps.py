from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "shelfwatch.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from shelfwatch.ops import checks, db_connections, metric_signals  # noqa: F401 (checks)
        from shelfwatch.ops.tracing import configure_tracing

        metric_signals.connect()
        db_connections.connect()
        # Before any request handler loads its middleware, so requests are traced.
        configure_tracing()
