from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "shelfwatch.web"
    label = "web"
    verbose_name = "Pages"
