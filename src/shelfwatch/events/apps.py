from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "shelfwatch.events"
    label = "events"
    verbose_name = "Domain events"
