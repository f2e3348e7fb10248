from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "shelfwatch.loyalty"
    label = "loyalty"
    verbose_name = "Loyalty points"
