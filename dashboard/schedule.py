"""The one table of periodic jobs that Celery beat runs.

Each job's period can be changed with ``SCHEDULE_<NAME>_SECONDS`` (an integer, or ``off`` to
disable it). Every job carries an ``expires`` shorter than its period, so that a backlog
built up while workers were down is dropped instead of running the same job many times over.
"""

import os
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

MIN_PERIOD_SECONDS = 10


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    every_seconds: int
    description: str


PERIODIC_JOBS = (
    PeriodicJob(
        "collect",
        "collectors.tasks.collect_all",
        3600,
        "collects every enabled AWS account: endpoints, utilization, log groups, Storage Lens",
    ),
    PeriodicJob(
        "prices",
        "collectors.tasks.collect_prices",
        86400,
        "collects on-demand list prices from the AWS Price List for every registered account's regions (daily)",
    ),
    PeriodicJob(
        "aws_figures",
        "collectors.tasks.collect_aws_figures",
        86400,
        "collects AWS's own figures for every account: its monthly carbon estimates (Sustainability API) and "
        "Compute Optimizer's idle findings on SageMaker endpoints (daily)",
    ),
    PeriodicJob(
        "estimate",
        "dashboard.tasks.estimate_pending",
        300,
        "estimates energy and CO2e of new or re-collected hours, and of history after a methodology change",
    ),
    PeriodicJob(
        "recommend",
        "dashboard.tasks.recommend",
        3600,
        "re-computes every team's recommendations from its hourly history (dismissed and snoozed ones stay so)",
    ),
    PeriodicJob(
        "alerts",
        "dashboard.tasks.check_alerts",
        600,
        "opens, reminds and resolves idle-endpoint alerts and sends them through the team's channels",
    ),
    PeriodicJob(
        "digests",
        "dashboard.tasks.send_digests",
        900,
        "sends each team's weekly digest once its local weekday and hour have come (claims make it go out once)",
    ),
    PeriodicJob(
        "heartbeat",
        "collectors.tasks.heartbeat",
        60,
        "records that a worker is alive, shown on the collection health page",
    ),
)


def period_seconds(job: PeriodicJob) -> int | None:
    """The job's period from the environment, its default, or None when switched off."""
    variable = f"SCHEDULE_{job.name.upper()}_SECONDS"
    raw = os.environ.get(variable, "").strip().lower()
    if raw == "":
        return job.every_seconds
    if raw == "off":
        return None
    try:
        seconds = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{variable} must be a number of seconds or 'off', got {raw!r}") from None
    if seconds < MIN_PERIOD_SECONDS:
        raise ImproperlyConfigured(f"{variable} must be at least {MIN_PERIOD_SECONDS} seconds, got {seconds}")
    return seconds


def beat_schedule() -> dict:
    schedule = {}
    for job in PERIODIC_JOBS:
        seconds = period_seconds(job)
        if seconds is None:
            continue
        schedule[job.name] = {
            "task": job.task,
            "schedule": float(seconds),
            "options": {"expires": seconds * 0.9},
        }
    return schedule
