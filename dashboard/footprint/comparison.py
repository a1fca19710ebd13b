"""What a new version of the ``default`` methodology changes for a team's own fleet: the last 30 days of collected
usage estimated on the fly with the version the current default replaced and with the current one, side by side.

Read-only: both estimates are computed in memory from the same usage frame (``estimates.usage_frame``, the job's
own conversion) and never stored, so there is no second estimate per hour and no race with re-estimation. Cached
per (teams, day, both versions) for 6 h."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import pandas as pd
from django.core.cache import cache
from django.db.models import Count, F, Q

import estimator
from collectors.models import VariantHour
from dashboard.footprint.estimates import METHODOLOGY, ROW_FIELDS, usage_frame
from estimator.methods import PREVIOUS_DEFAULT, Methodology

DAYS = 30
CACHE_SECONDS = 6 * 3600
CHUNK_ROWS = 20_000  # rows fetched per round trip of the server-side cursor; bounds the row dicts held at once
MAX_REFUSED = 1000  # rows the estimator refuses before the comparison gives up (a broken frame, not bad rows)

# (output column, label with its unit, shown for the previous version too)
MEASURES = (
    ("energy_kwh", "Energy (kWh)", True),
    ("co2e_kg", "Operational CO2e, location-based (kg)", True),
    ("co2e_market_kg", "Operational CO2e, market-based (kg)", False),
    ("embodied_co2e_kg", "Embodied CO2e (kg)", True),
    ("cpu_kwh", "CPU energy (kWh)", True),
    ("gpu_kwh", "GPU energy (kWh)", True),
    ("memory_kwh", "Memory energy (kWh)", True),
    ("accelerator_kwh", "Accelerator energy (kWh)", True),
)


@dataclass(frozen=True)
class Line:
    column: str
    label: str
    previous: float | None  # None: not shown for the previous version (market-based, which 1.0.0 did not have)
    current: float
    change_pct: float | None  # None where there is no previous figure or it is 0


@dataclass(frozen=True)
class Comparison:
    previous: str  # "default 1.0.0"
    current: str
    start: dt.date
    end: dt.date  # inclusive
    hours: int  # variant-hours estimated by both versions
    refused: int  # variant-hours either version refused (left out of both sides)
    lines: tuple[Line, ...]

    def line(self, column: str) -> Line:
        return next(line for line in self.lines if line.column == column)


def compared_pair() -> tuple[Methodology, Methodology]:
    """The version the current default replaced, and the current default."""
    return PREVIOUS_DEFAULT, estimator.METHODOLOGIES[METHODOLOGY]


def label(method: Methodology) -> str:
    return f"{method.name} {method.version}"


def same(previous: Methodology, current: Methodology) -> bool:
    return (previous.name, previous.version) == (current.name, current.version)


def change_pct(previous: float, current: float) -> float | None:
    return None if previous == 0 else (current - previous) / previous * 100


def window(end: dt.date, days: int = DAYS) -> tuple[dt.datetime, dt.datetime]:
    """The UTC hours of the ``days`` days ending with ``end`` (included)."""
    stop = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return stop - dt.timedelta(days=days), stop


def team_hours(teams):
    return VariantHour.objects.filter(endpoint__account__team__in=teams)


def load_frame(teams, end: dt.date, days: int = DAYS) -> pd.DataFrame:
    """The teams' collected variant-hours of the window as estimator input, fetched through a server-side cursor in
    chunks (one query) and converted a chunk at a time."""
    start, stop = window(end, days)
    rows = team_hours(teams).filter(hour__gte=start, hour__lt=stop).order_by().values(*ROW_FIELDS)
    parts, chunk = [], []
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            parts.append(usage_frame(chunk))
            chunk = []
    if chunk or not parts:
        parts.append(usage_frame(chunk))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def estimate_both(
    frame: pd.DataFrame, previous: Methodology, current: Methodology
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Both versions' estimates of the same rows: a row either version refuses (``InputError`` names it) is left
    out of both, so the two sides always cover the same hours. Also returns how many rows were left out."""
    refused = 0
    while True:
        try:
            return estimator.estimate(frame, previous), estimator.estimate(frame, current), refused
        except estimator.InputError as error:
            if error.row is None or refused >= MAX_REFUSED:
                raise
            frame = frame.drop(index=error.row).reset_index(drop=True)
            refused += 1


def compare(frame: pd.DataFrame, previous: Methodology, current: Methodology, end: dt.date, days: int) -> Comparison:
    old, new, refused = estimate_both(frame, previous, current)
    lines = []
    for column, text, both in MEASURES:
        before, after = float(old[column].sum()), float(new[column].sum())
        lines.append(Line(column, text, before if both else None, after, change_pct(before, after) if both else None))
    start, _ = window(end, days)
    return Comparison(label(previous), label(current), start.date(), end, len(new), refused, tuple(lines))


def cache_key(team_ids: list[int], end: dt.date, days: int, previous: Methodology, current: Methodology) -> str:
    key = repr((sorted(team_ids), end.isoformat(), days, label(previous), label(current)))
    return "methodology-comparison:" + hashlib.sha256(key.encode()).hexdigest()


def compare_versions(
    teams,
    end: dt.date,
    days: int = DAYS,
    previous: Methodology | None = None,
    current: Methodology | None = None,
) -> Comparison | None:
    """The teams' last ``days`` days (ending with ``end``) estimated by ``previous`` and ``current`` (default: the
    version the current default replaced, and the current default); None when the two are the same version.
    Writes nothing; cached per (teams, day, both versions) for 6 h."""
    default_previous, default_current = compared_pair()
    previous, current = previous or default_previous, current or default_current
    if same(previous, current):
        return None
    team_ids = [team.pk for team in teams]
    key = cache_key(team_ids, end, days, previous, current)
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = compare(load_frame(team_ids, end, days), previous, current, end, days)
    cache.set(key, result, CACHE_SECONDS)
    return result


@dataclass(frozen=True)
class Progress:
    version: str
    hours: int  # every collected variant-hour of the teams
    estimated: int  # of them, estimated by the current version
    refused: int  # of them, refused by the current version (listed on Collection health; retried when re-collected)

    @property
    def pct(self) -> float:
        return self.estimated / self.hours * 100 if self.hours else 0.0

    @property
    def pending(self) -> int:
        """Hours the background job has still to (re-)estimate."""
        return max(self.hours - self.estimated - self.refused, 0)


def reestimation_progress(teams) -> Progress:
    """How much of the teams' history the current ``default`` version has estimated (one query)."""
    version = estimator.METHODOLOGIES[METHODOLOGY].version
    counts = team_hours(teams).aggregate(
        hours=Count("pk"),
        estimated=Count("pk", filter=Q(estimate__methodology=METHODOLOGY, estimate__methodology_version=version)),
        # As pending() counts them: refused by this version since the hour was last collected (a re-collected
        # hour is retried, so it is pending, not refused).
        refused=Count(
            "pk",
            filter=Q(
                estimate_failure__methodology_version=version,
                estimate_failure__failed_at__gte=F("collected_at"),
            ),
        ),
    )
    return Progress(version, counts["hours"], counts["estimated"], counts["refused"])
