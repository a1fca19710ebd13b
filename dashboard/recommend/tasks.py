from dataclasses import asdict

from celery import shared_task

from dashboard.celery import DATABASE_RETRY
from dashboard.recommend import engine


@shared_task(name="dashboard.tasks.recommend", **DATABASE_RETRY)
def recommend() -> dict:
    """Re-compute every team's recommendations; returns per team what was created, updated, resolved."""
    return {slug: asdict(outcome) for slug, outcome in engine.recompute_all().items()}
