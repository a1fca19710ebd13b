from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The project package. As an app it holds only the migration history of the models that lived here before
    they moved to the apps beside it (teams, footprint, recommend, notify); docs/adr/0008."""

    name = "dashboard"
    verbose_name = "Wattson (migration history)"
