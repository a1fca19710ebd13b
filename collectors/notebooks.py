"""The ``notebooks`` collector (issue 19): notebook instances (with their lifecycle configurations) and Studio apps.
STUB: pre-wired by the lead; the collectors work package fills it in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from collectors import aws


@dataclass
class NotebooksResult:
    notebooks: int = 0
    apps: int = 0
    hours: int = 0  # WorkloadHour rows written (the estimation signal counts them)
    spans: int = 0
    errors: list[dict] = field(default_factory=list)


def collect_notebooks(
    account, region: str, watermark: datetime | None, now: datetime, calls: aws.ApiCalls
) -> NotebooksResult:
    return NotebooksResult()
