from celery import shared_task

from dashboard.celery import DATABASE_RETRY
from dashboard.footprint import estimates


@shared_task(name="dashboard.tasks.estimate_pending", **DATABASE_RETRY)
def estimate_pending() -> int:
    """Estimate new, re-collected and outdated variant-hours (the estimator's version is stored with each)."""
    return estimates.estimate_pending()
