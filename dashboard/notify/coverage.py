"""How much of a period was collected, so that two periods are compared like with like.

A week whose first days were never collected (the account was added on a Thursday, collection was down) holds
less CO2e than a full one without the fleet emitting less: the digest compares the two weeks per collected day
and says how much of each was collected. What was collected is the footprint's one definition
(``queries.collected_span``: from the first collected hour to the utilization collectors' watermark), the one the
charts mark partial buckets with; a quiet hour (nothing served, scaled to zero) inside it counts as collected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dashboard.footprint import queries

HOURS_PER_DAY = 24


@dataclass(frozen=True)
class Coverage:
    """``collected_hours`` of the ``period_hours`` of a period."""

    collected_hours: int
    period_hours: int

    @property
    def complete(self) -> bool:
        return self.collected_hours >= self.period_hours

    @property
    def collected_days(self) -> float:
        return self.collected_hours / HOURS_PER_DAY

    @property
    def period_days(self) -> float:
        return self.period_hours / HOURS_PER_DAY

    def text(self) -> str:
        """ "4 of 7 days collected", "3.4 of 7 days collected (81 of 168 hours)" when not whole days."""
        whole = self.collected_hours % HOURS_PER_DAY == 0
        days = f"{self.collected_days:.0f}" if whole else f"{self.collected_days:.1f}"
        hours = "" if whole else f" ({self.collected_hours} of {self.period_hours} hours)"
        return f"{days} of {self.period_days:g} days collected{hours}"


def collected(accounts: list[dict], start: dt.datetime, end: dt.datetime) -> Coverage:
    """The whole hours of ``[start, end)`` (UTC) that were collected for the accounts' endpoints."""
    hours = queries.collected_hours(queries.collected_span(accounts), start, end)
    return Coverage(collected_hours=hours, period_hours=int((end - start) / dt.timedelta(hours=1)))


def per_collected_day(total: float | None, coverage: Coverage) -> float | None:
    """A period's total as a daily rate over the days it was collected; None when nothing was collected."""
    if total is None or not coverage.collected_hours:
        return None
    return total * HOURS_PER_DAY / coverage.collected_hours
