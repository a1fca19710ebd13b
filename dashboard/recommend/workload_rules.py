"""Rules for the rest of the ML lifecycle (issue 19): Trainium, managed Spot, tuning strategy, parallelism and
warm start, low GPU use in training, idle notebook instances and Studio apps. STUB: pre-wired by the lead; the
advice work package fills it in."""

from __future__ import annotations

from datetime import datetime

from dashboard.recommend.draft import Draft


def workload_drafts(team, policy, now: datetime) -> list[Draft]:
    return []
