"""Idleness, defined once: what makes an endpoint idle, since when, and what its idle period has cost.

An endpoint is *idle* at ``end`` when, over the detection window (the ``min_hours`` complete hours before
``end``), it served no inference while its instances ran, with at least ``COVERAGE`` of those hours collected
(missing data is not idleness). Its idle period began with the first hour without invocations of the current run
(the hour after its last inference, from the hourly history, not the window's start), and its cost is what that
whole period used. It is *corroborated* when the p95 CPU and GPU utilization of the period stay under the
thresholds: a busy CPU without invocations may be batch work or health checks.

The history gives the same answer at every hour: ``IdlePolicy.reached_between`` finds the idle periods that
reached ``min_hours`` within a span (when ``assess`` at that hour would first have called them idle), with the
same window rule and the same start, whether or not traffic returned before the span ended.

Alerts (after ``NotificationSettings.idle_hours``, corroborated), the weekly digest (the idle periods that
reached the alert threshold during the week, corroborated or not) and recommendations (after
``TeamPolicy.idle_days``: delete it, with high confidence when corroborated) get their ``IdlePolicy`` from one
function, ``recommend.policy.idle_policy``, with the team's CPU and GPU limits (``TeamPolicy.idle_max_cpu_pct``,
``idle_max_gpu_pct``): they differ only in the duration.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
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
    since_collection_began: bool = False  # no inference in the whole collected history: it may have begun earlier

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
            "since_collection_began": self.since_collection_began,
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

    def quiet(self, collected_hours: int, invocations: float, instance_hours: float) -> bool:
        """The window rule: enough of the ``min_hours`` collected, no inference, instances running."""
        return collected_hours >= COVERAGE * self.min_hours and not invocations and instance_hours > 0

    def corroborates(self, cpu_util_pct_p95: float, gpu_util_pct_p95: float) -> bool:
        return cpu_util_pct_p95 < self.max_cpu_pct and gpu_util_pct_p95 < self.max_gpu_pct

    def assess(self, endpoint_ids, end: dt.datetime) -> dict[int, Idleness]:
        """Every endpoint of ``endpoint_ids`` at ``end`` (truncated to the hour: only complete hours count).
        Three queries whatever the number of endpoints: the window, the last inference of the candidates, and
        the hours of their idle periods."""
        end = _hour(end)
        endpoint_ids = list(endpoint_ids)
        window = _window(endpoint_ids, end - self.min_hours * HOUR, end)
        facts = {e: self._window_facts(e, window.get(e), end) for e in endpoint_ids}
        candidates = [
            e for e, f in facts.items() if self.quiet(f.collected_hours, f.window_invocations, f.window_instance_hours)
        ]
        runs, served = _runs(candidates, end)
        for endpoint_id, rows in runs.items():
            facts[endpoint_id] = self._period(facts[endpoint_id], rows, endpoint_id not in served)
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

    def _period(self, facts: Idleness, rows: list[dict], never_served: bool = False) -> Idleness:
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
            corroborated=self.corroborates(cpu, gpu),
            since_collection_began=never_served,
        )

    def reached_between(self, endpoint_ids, start: dt.datetime, end: dt.datetime) -> list[IdlePeriod]:
        """The idle periods that reached ``min_hours`` after ``start`` and by ``end`` (both truncated to the hour):
        those ``assess`` at some hour of ``(start, end]`` calls idle for the first time, whether or not traffic
        returned before ``end``. Two queries: the hours from ``min_hours`` + 1 before ``start`` to ``end``, and
        which endpoints have hours before them (their quiet runs began before, whatever gap opens the span)."""
        start, end = _hour(start), _hour(end)
        first = start - (self.min_hours + 1) * HOUR
        endpoint_ids = list(endpoint_ids)
        earlier = _collected_before(endpoint_ids, first)
        periods: list[IdlePeriod] = []
        for endpoint_id, rows in _history(endpoint_ids, first, end).items():
            periods += self._reached(endpoint_id, _Hours(first, end, rows, endpoint_id in earlier), start)
        return sorted(periods, key=lambda p: (p.since, p.endpoint_id))

    def _reached(self, endpoint_id: int, hours: _Hours, start: dt.datetime) -> list[IdlePeriod]:
        found: dict[dt.datetime, dt.datetime] = {}  # since -> when it reached min_hours
        for t in hours.instants_after(start):
            since = hours.since(t)
            if since is not None and since + self.min_hours * HOUR > start and self._quiet_before(hours, t):
                found.setdefault(since, t)
        return [self._idle_period(endpoint_id, hours, since, reached) for since, reached in found.items()]

    def _quiet_before(self, hours: _Hours, t: dt.datetime) -> bool:
        return self.quiet(*hours.window(t - self.min_hours * HOUR, t))

    def _idle_period(self, endpoint_id: int, hours: _Hours, since: dt.datetime, reached: dt.datetime) -> IdlePeriod:
        until = hours.next_inference(since)
        rows = hours.rows_between(since, until or hours.end)
        cpu, gpu = _p95(r["cpu_util_pct"] for r in rows), _p95(r["gpu_util_pct"] for r in rows)
        return IdlePeriod(
            endpoint_id=endpoint_id,
            since=since,
            reached=reached,
            until=until or hours.end,
            ongoing=until is None,
            cpu_util_pct_p95=cpu,
            gpu_util_pct_p95=gpu,
            corroborated=self.corroborates(cpu, gpu),
        )


@dataclass(frozen=True)
class IdlePeriod:
    """One idle period found in the hourly history: quiet from ``since`` until ``until`` (the hour traffic
    returned, or the end of the span read when ``ongoing``); ``reached`` is when it had lasted ``min_hours``."""

    endpoint_id: int
    since: dt.datetime
    reached: dt.datetime
    until: dt.datetime
    ongoing: bool
    cpu_util_pct_p95: float
    gpu_util_pct_p95: float
    corroborated: bool

    @property
    def hours(self) -> int:
        """How long it lasted (up to the end of the span read, while ongoing), in whole hours."""
        return int((self.until - self.since) / HOUR)


class _Hours:
    """One endpoint's collected hours in ``[first, end)``, with prefix sums so that any window's collected hours,
    invocations and instance-hours cost O(1): the history is read once and every hour of the span judged."""

    def __init__(self, first: dt.datetime, end: dt.datetime, rows: list[dict], earlier: bool):
        self.first, self.end = first, end
        self.rows = rows  # ordered by hour
        self.earlier = earlier  # hours were collected before ``first``
        size = int((end - first) / HOUR)
        collected, invocations, instance_hours = np.zeros(size), np.zeros(size), np.zeros(size)
        for row in rows:  # one row per variant and hour: an hour is collected once, its amounts add up
            i = self._index(row["hour"])
            collected[i] = 1
            invocations[i] += row["invocations"] or 0.0
            instance_hours[i] += row["instance_hours"] or 0.0
        self._sums = [np.concatenate(([0.0], np.cumsum(a))) for a in (collected, invocations, instance_hours)]
        self._served = sorted({row["hour"] for row in rows if (row["invocations"] or 0) > 0})

    def _index(self, hour: dt.datetime) -> int:
        return int((hour - self.first) / HOUR)

    def instants_after(self, start: dt.datetime):
        """Every whole hour in ``(start, end]``: the moments ``assess`` could have been asked about."""
        return (start + n * HOUR for n in range(1, int((self.end - start) / HOUR) + 1))

    def window(self, start: dt.datetime, end: dt.datetime) -> tuple[int, float, float]:
        """Collected hours, invocations and instance-hours of ``[start, end)``."""
        i, j = self._index(start), self._index(end)
        collected, invocations, instance_hours = (float(s[j] - s[i]) for s in self._sums)
        return int(collected), invocations, instance_hours

    def since(self, t: dt.datetime) -> dt.datetime | None:
        """As ``_runs`` reads it: the hour after the last inference before ``t``, else the first collected hour;
        ``first`` stands for any start before the span (too early to matter to ``reached_between``)."""
        before = bisect_left(self._served, t)
        if before:
            return self._served[before - 1] + HOUR
        if self.earlier:
            return self.first
        return self.rows[0]["hour"] if self.rows and self.rows[0]["hour"] < t else None

    def next_inference(self, since: dt.datetime) -> dt.datetime | None:
        after = bisect_left(self._served, since)
        return self._served[after] if after < len(self._served) else None

    def rows_between(self, start: dt.datetime, end: dt.datetime) -> list[dict]:
        return [row for row in self.rows if start <= row["hour"] < end]


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _collected_before(endpoint_ids: list[int], first: dt.datetime) -> set[int]:
    rows = VariantHour.objects.filter(endpoint_id__in=endpoint_ids, hour__lt=first).order_by()
    return set(rows.values_list("endpoint_id", flat=True).distinct())


def _history(endpoint_ids: list[int], first: dt.datetime, end: dt.datetime) -> dict[int, list[dict]]:
    rows = VariantHour.objects.filter(endpoint_id__in=endpoint_ids, hour__gte=first, hour__lt=end).values(
        "endpoint_id", "hour", "invocations", "instance_hours", "cpu_util_pct", "gpu_util_pct"
    )
    history: dict[int, list[dict]] = {}
    for row in rows.order_by("hour"):
        history.setdefault(row["endpoint_id"], []).append(row)
    return history


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


def _runs(endpoint_ids: list[int], end: dt.datetime) -> tuple[dict[int, list[dict]], set[int]]:
    """The hours of each endpoint's current run without invocations: after its last inference, before ``end``;
    and which endpoints served any inference before ``end`` (for the others the run starts at the first hour
    collected)."""
    if not endpoint_ids:
        return {}, set()
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
    return runs, set(last)


def _p95(values) -> float:
    values = [v for v in values if v is not None]
    return float(np.percentile(values, 95)) if values else 0.0
