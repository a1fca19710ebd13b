"""The Celery app: settings come from Django's (the CELERY_ namespace), tasks are autodiscovered."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("wattson")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
