from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard, teams and users"

    def ready(self) -> None:
        from dashboard import login_throttle, signals  # noqa: F401 - connects the receivers
