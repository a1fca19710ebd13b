"""Idleness, defined once: what makes an endpoint idle, since when, and what its idle period has cost.

An endpoint is *idle* at ``end`` when, over the detection window (the ``min_hours`` complete hours before
``end``), it served no inference while its instances ran, with at least ``COVERAGE`` of those hours collected
(missing data is not idleness). Its idle period began with the first hour without invocations of the current run
(the hour after its last inference, from the hourly history, not the window's start), and its cost is what that
whole period used. It is *corroborated* when the p95 CPU and GPU utilization of the period stay under the
thresholds: a busy CPU without invocations may be batch work or health checks.

Alerts (after ``NotificationSettings.idle_hours``, corroborated), the weekly digest (the endpoints that became
idle during the week, as alerts would have) and recommendations (after ``TeamPolicy.idle_days``: delete it, with
high confidence when corroborated) get their ``IdlePolicy`` from one function, ``recommend.policy.idle_policy``,
with the team's CPU and GPU limits (``TeamPolicy.idle_max_cpu_pct``, ``idle_max_gpu_pct``), and read ``assess``:
they differ only in the duration.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import reduce
from operator import or_

import numpy as np
from django.db.models import Count, FloatField, Max, Q, Sum

from collectors.models import VariantHour

COVERAGE = 0.9  # share of the detection window's hours that must have been collected
QUIET_PCT = 5.0  # default corroboration: p95 CPU and GPU under 5 % (``TeamPolicy``'s default limits)
HOUR = dt.timedelta(hours=1)
RUN_FIELDS = (
    "endpoint_id",
    "hour",
    "instance_type",
    "instance_hours",
    "cpu_util_pct",
    "gpu_util_pct",
    "estimate__energy_kwh",
    "estimate__co2e_kg",
    "estimate__embodied_co2e_kg",
)


@dataclass(frozen=True)
class Idleness:
    """One endpoint at ``end``: idle or not, and for an idle one its idle period (``since`` to ``end``)."""

    endpoint_id: int
    end: dt.datetime
    collected_hours: int  # hours collected in the detection window
    window_invocations: float
    window_instance_hours: float
    covered: bool
    since: dt.datetime | None = None  # start of the first hour without invocations of the current run
    instance_hours: float = 0.0  # over the idle period
    energy_kwh: float = 0.0
    co2e_kg: float = 0.0  # operational + embodied
    instance_types: tuple[str, ...] = ()
    cpu_util_pct_p95: float = 0.0
    gpu_util_pct_p95: float = 0.0
    corroborated: bool = False

    @property
    def idle(self) -> bool:
        return self.since is not None

    @property
    def hours(self) -> int:
        """How long the idle period has lasted, in whole hours."""
        return int((self.end - self.since) / HOUR) if self.since else 0

    def evidence(self) -> dict:
        """The facts as JSON (what alerts store and channels send)."""
        return {
            "hours": self.hours,
            "idle_since": self.since.isoformat() if self.since else None,
            "instance_hours": round(self.instance_hours, 2),
            "instance_types": list(self.instance_types),
            "cpu_util_pct_p95": round(self.cpu_util_pct_p95, 2),
            "gpu_util_pct_p95": round(self.gpu_util_pct_p95, 2),
            "energy_kwh": round(self.energy_kwh, 4),
            "co2e_kg": round(self.co2e_kg, 4),
        }


@dataclass(frozen=True)
class IdlePolicy:
    """When an endpoint is idle: no inference for ``min_hours`` while instances ran; corroborated when p95 CPU and
    GPU stay under ``max_cpu_pct`` / ``max_gpu_pct`` over the idle period."""

    min_hours: int
    max_cpu_pct: float = QUIET_PCT
    max_gpu_pct: float = QUIET_PCT

    def assess(self, endpoint_ids, end: dt.datetime) -> dict[int, Idleness]:
        """Every endpoint of ``endpoint_ids`` at ``end`` (truncated to the hour: only complete hours count).
        Three queries whatever the number of endpoints: the window, the last inference of the candidates, and
        the hours of their idle periods."""
        end = end.replace(minute=0, second=0, microsecond=0)
        endpoint_ids = list(endpoint_ids)
        window = _window(endpoint_ids, end - self.min_hours * HOUR, end)
        facts = {e: self._window_facts(e, window.get(e), end) for e in endpoint_ids}
        candidates = [
            e for e, f in facts.items() if f.covered and not f.window_invocations and f.window_instance_hours > 0
        ]
        for endpoint_id, rows in _runs(candidates, end).items():
            facts[endpoint_id] = self._period(facts[endpoint_id], rows)
        return facts

    def _window_facts(self, endpoint_id: int, row: dict | None, end: dt.datetime) -> Idleness:
        row = row or {}
        collected = int(row.get("collected_hours") or 0)
        return Idleness(
            endpoint_id=endpoint_id,
            end=end,
            collected_hours=collected,
            window_invocations=float(row.get("invocations") or 0.0),
            window_instance_hours=float(row.get("instance_hours") or 0.0),
            covered=collected >= COVERAGE * self.min_hours,
        )

    def _period(self, facts: Idleness, rows: list[dict]) -> Idleness:
        if not rows:
            return facts
        cpu, gpu = _p95(r["cpu_util_pct"] for r in rows), _p95(r["gpu_util_pct"] for r in rows)
        return replace(
            facts,
            since=min(r["hour"] for r in rows),
            instance_hours=sum(r["instance_hours"] for r in rows),
            energy_kwh=sum(r["estimate__energy_kwh"] or 0 for r in rows),
            co2e_kg=sum((r["estimate__co2e_kg"] or 0) + (r["estimate__embodied_co2e_kg"] or 0) for r in rows),
            instance_types=tuple(sorted({r["instance_type"] for r in rows if r["instance_type"]})),
            cpu_util_pct_p95=cpu,
            gpu_util_pct_p95=gpu,
            corroborated=cpu < self.max_cpu_pct and gpu < self.max_gpu_pct,
        )


def _window(endpoint_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict[int, dict]:
    rows = (
        VariantHour.objects.filter(endpoint_id__in=endpoint_ids, hour__gte=start, hour__lt=end)
        .values("endpoint_id")
        .annotate(
            collected_hours=Count("hour", distinct=True),
            invocations=Sum("invocations", output_field=FloatField()),
            instance_hours=Sum("instance_hours", output_field=FloatField()),
        )
        .order_by()
    )
    return {row["endpoint_id"]: row for row in rows}


def _runs(endpoint_ids: list[int], end: dt.datetime) -> dict[int, list[dict]]:
    """The hours of each endpoint's current run without invocations: after its last inference, before ``end``."""
    if not endpoint_ids:
        return {}
    last = dict(
        VariantHour.objects.filter(endpoint_id__in=endpoint_ids, hour__lt=end, invocations__gt=0)
        .values("endpoint_id")
        .annotate(last=Max("hour"))
        .values_list("endpoint_id", "last")
        .order_by()
    )
    since = [Q(endpoint_id=e, hour__gt=last[e]) if e in last else Q(endpoint_id=e) for e in endpoint_ids]
    runs: dict[int, list[dict]] = {}
    for row in VariantHour.objects.filter(reduce(or_, since), hour__lt=end).values(*RUN_FIELDS).order_by("hour"):
        runs.setdefault(row["endpoint_id"], []).append(row)
    return runs


def _p95(values) -> float:
    values = [v for v in values if v is not None]
    return float(np.percentile(values, 95)) if values else 0.0
