from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "shelfwatch.notify"
    label = "notify"
    verbose_name = "Notifications"
