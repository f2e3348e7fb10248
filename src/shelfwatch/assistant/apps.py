from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "shelfwatch.assistant"
    label = "assistant"
    verbose_name = "Shopping assistant"
