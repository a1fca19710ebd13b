from django.apps import AppConfig


class FootprintConfig(AppConfig):
    name = "dashboard.footprint"
    label = "footprint"
    verbose_name = "Footprint: estimates and rollups"

    def ready(self) -> None:
        from dashboard.footprint import signals  # noqa: F401 - connects the receivers
