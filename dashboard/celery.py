"""The Celery app: settings come from Django's (the CELERY_ namespace), tasks are autodiscovered."""

import os

from celery import Celery
from django.db.utils import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("wattson")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A lost database connection (a restart, a failover) is retried with Celery's exponential backoff and jitter, from
# 5 s up to 5 minutes; every task that uses it is idempotent (estimates are upserted, alerts and digests claimed).
# Task names stay those they had before the apps were split out of the project (``dashboard.tasks.*``): a name
# is a wire contract with queued messages and deployed schedules.
DATABASE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 12,
}
