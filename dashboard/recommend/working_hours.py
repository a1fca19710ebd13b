"""A team's working time, the one definition the notebook rules and the notebook alerts read (issue 19).

``TeamPolicy.working_hours`` is ``"HH-HH"`` (UTC, start inclusive, end exclusive: ``"08-19"`` is 08:00 to 19:00) and
``TeamPolicy.working_days`` a day range or list (``"mon-fri"``, ``"mon,tue,thu"``, ``"sun-thu"``). An hour is *out of
hours* when it starts outside that time: nights and weekends, when nobody works in a notebook.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS, DEFAULT_DAYS = "08-19", "mon-fri"


@dataclass(frozen=True)
class WorkingTime:
    start_hour: int
    end_hour: int
    weekdays: frozenset[int]  # 0 = Monday

    @classmethod
    def of(cls, policy) -> WorkingTime:
        """The policy's working time; a value that does not parse falls back to the default (08-19, mon-fri)."""
        return cls.parse(getattr(policy, "working_hours", DEFAULT_HOURS), getattr(policy, "working_days", DEFAULT_DAYS))

    @classmethod
    def parse(cls, hours: str, days: str) -> WorkingTime:
        try:
            start, end = (int(part) for part in (hours or DEFAULT_HOURS).split("-", 1))
            if not (0 <= start <= 24 and 0 <= end <= 24):
                raise ValueError(hours)
        except ValueError:
            start, end = 8, 19
        return cls(start, end, frozenset(_days(days) or _days(DEFAULT_DAYS)))

    def working(self, at: dt.datetime) -> bool:
        """Whether the hour starting at ``at`` (UTC) is working time."""
        at = at.astimezone(dt.UTC) if at.tzinfo else at
        return at.weekday() in self.weekdays and self._in_hours(at.hour)

    def _in_hours(self, hour: int) -> bool:
        if self.start_hour <= self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour  # a night shift, e.g. 22-06

    def outside(self, hours: pd.Series) -> np.ndarray:
        """Per hour (UTC timestamps): True where it is out of hours."""
        stamps = pd.to_datetime(hours, utc=True)
        weekday = stamps.dt.day_of_week.to_numpy()
        hour = stamps.dt.hour.to_numpy()
        if self.start_hour <= self.end_hour:
            in_hours = (hour >= self.start_hour) & (hour < self.end_hour)
        else:
            in_hours = (hour >= self.start_hour) | (hour < self.end_hour)
        return ~(np.isin(weekday, sorted(self.weekdays)) & in_hours)

    def text(self) -> str:
        names = [DAYS[d].capitalize() for d in sorted(self.weekdays)]
        return f"{self.start_hour:02d}:00-{self.end_hour:02d}:00 UTC, {', '.join(names)}"


def _days(spec: str) -> set[int]:
    found: set[int] = set()
    for part in (spec or "").lower().replace(" ", "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            return set()
        a, b = DAYS.index(first), DAYS.index(last or first)
        found.update((a + n) % 7 for n in range((b - a) % 7 + 1))
    return found
