"""How much of a period was collected, so that two periods are compared like with like.

A week whose first days were never collected (the account was added on a Thursday, collection was down) holds
less CO2e than a full one without the fleet emitting less: the digest compares the two weeks per collected day
and says how much of each was collected. "Collected" means hours for which Wattson stored at least one
``VariantHour`` of the team's endpoints: the hours its numbers are made of.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from collectors.models import VariantHour

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


def collected(endpoint_ids, start: dt.datetime, end: dt.datetime) -> Coverage:
    """The hours of ``[start, end)`` (UTC, whole hours) with at least one collected row of ``endpoint_ids``."""
    hours = (
        VariantHour.objects.filter(endpoint_id__in=list(endpoint_ids), hour__gte=start, hour__lt=end)
        .order_by()
        .values("hour")
        .distinct()
        .count()
    )
    return Coverage(collected_hours=hours, period_hours=int((end - start) / dt.timedelta(hours=1)))


def per_collected_day(total: float | None, coverage: Coverage) -> float | None:
    """A period's total as a daily rate over the days it was collected; None when nothing was collected."""
    if total is None or not coverage.collected_hours:
        return None
    return total * HOURS_PER_DAY / coverage.collected_hours
