from celery import shared_task

from dashboard import footprint


@shared_task(name="dashboard.tasks.estimate_pending")
def estimate_pending() -> int:
    """Estimate new, re-collected and outdated variant-hours (the estimator's version is stored with each)."""
    return footprint.estimate_pending()
