from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shelfwatch.shop"
    label = "shop"
    verbose_name = "Shop"
