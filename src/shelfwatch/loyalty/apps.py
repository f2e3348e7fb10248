from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "shelfwatch.loyalty"
    label = "loyalty"
    verbose_name = "Loyalty points"

    def ready(self) -> None:
        from shelfwatch.events.consumers import register_consumer
        from shelfwatch.loyalty.orders import on_order_status_changed

        register_consumer(
            "order.status_changed", on_order_status_changed, name="loyalty.order_points"
        )
