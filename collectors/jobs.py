"""The ``jobs`` collector (issue 19): training, hyperparameter tuning, processing and batch-transform jobs of one
account and region. STUB: pre-wired by the lead; the collectors work package fills it in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from collectors import aws


@dataclass
class JobsResult:
    training: int = 0
    tuning: int = 0
    processing: int = 0
    transform: int = 0
    described: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)


def collect_jobs(account, region: str, watermark: datetime | None, now: datetime, calls: aws.ApiCalls) -> JobsResult:
    return JobsResult()
