"""The ``job_metrics`` collector (issue 19): hourly host metrics of training, processing and transform jobs.
STUB: pre-wired by the lead; the collectors work package fills it in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from collectors import aws


@dataclass
class JobMetricsResult:
    jobs: int = 0
    hours: int = 0  # WorkloadHour rows written (the estimation signal counts them)
    queries: int = 0
    calls: int = 0
    minimum_calls: int = 0
    errors: list[dict] = field(default_factory=list)


def collect_job_metrics(
    account, region: str, now: datetime, calls: aws.ApiCalls, progress: Callable | None = None
) -> JobMetricsResult:
    return JobMetricsResult()
