from django.apps import AppConfig


class RecommendConfig(AppConfig):
    name = "shelfwatch.recommend"
    label = "recommend"
    verbose_name = "Recommendations"
