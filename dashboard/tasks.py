from celery import shared_task

from dashboard import footprint


@shared_task(name="dashboard.tasks.estimate_pending")
def estimate_pending() -> int:
    """Estimate new, re-collected and outdated variant-hours (the estimator's version is stored with each)."""
    return footprint.estimate_pending()


@shared_task(name="dashboard.tasks.recommend")
def recommend() -> dict:
    """Re-compute every team's recommendations; returns per team what was created, updated, resolved."""
    from dataclasses import asdict

    from dashboard.recommend import engine

    return {slug: asdict(outcome) for slug, outcome in engine.recompute_all().items()}
