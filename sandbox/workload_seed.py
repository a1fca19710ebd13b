"""Seed the demo's training, tuning, processing and transform jobs, notebook instances and Studio apps with their
host metrics (issue 19). STUB: pre-wired by the lead; the sandbox work package fills it in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime


def seed_workloads(
    endpoint_url: str,
    now: datetime,
    sink: Callable[[str, str, str, list[dict]], None],
    progress: Callable[[str], None] = print,
    training_jobs: int | None = None,
) -> dict:
    """Create the workloads; returns the summary ``fleet_summary`` publishes under ``"workloads"`` (what tests
    recompute from). ``training_jobs``: generate that many extra training jobs (benchmarks)."""
    return {}
