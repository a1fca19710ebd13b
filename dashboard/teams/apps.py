from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "dashboard.teams"
    label = "teams"
    verbose_name = "Teams, members and API tokens"

    def ready(self) -> None:
        from dashboard.teams import login_throttle, signals  # noqa: F401 - connects the receivers
