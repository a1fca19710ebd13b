from django.apps import AppConfig


class RecommendConfig(AppConfig):
    name = "dashboard.recommend"
    label = "recommend"
    verbose_name = "Recommendations"
