from celery import shared_task

from dashboard.celery import DATABASE_RETRY
from dashboard.footprint import estimates, workload_estimates


@shared_task(name="dashboard.tasks.estimate_pending", **DATABASE_RETRY)
def estimate_pending() -> int:
    """Estimate new, re-collected and outdated variant-hours and workload-hours (jobs, notebooks, Studio apps; the
    estimator's version is stored with each)."""
    return estimates.estimate_pending() + workload_estimates.estimate_pending()
