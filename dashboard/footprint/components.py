"""Inference components: each component's share of its variant's estimated energy and emissions, and the totals
per component over a period that the endpoint page, the API and their tests read (defined once, here).

Several models share an inference-component (IC) variant's instances; SageMaker publishes how much of the
instances each component reserved and how busy each was, not the power each drew. One variant-hour's estimate
(energy ``E``, PUE included) is split among the components placed on it and one "unreserved capacity" line, the
parts adding up to ``E`` exactly:

- **Reserved share** ``r_i`` = the component's *dominant* share of the variant's capacity in the hour: the
  largest of its reserved accelerator devices (``NumberOfAcceleratorDevicesRequired`` x copies), CPU cores
  (``NumberOfCpuCoresRequired`` x copies) and memory (``MinMemoryRequiredInMb`` x copies), each over what the
  instances offer of it (per instance from the instance catalog x the hour's instance-hours). A component holding
  half an instance's memory keeps half the instance from others whatever its cores; one reserving only cores on
  a GPU instance gets its share of it. When the shares add up to more than 1 (copies counted while instances were
  still starting) they are scaled down to add up to 1.
- **Idle and dynamic energy**: ``E_idle`` is the same hour estimated at 0 % utilization (the estimator run on the
  hour's usage with its utilizations set to 0): what the instances draw for being there. ``E_dyn = E - E_idle``
  is what their load added (never below 0: ``E_idle`` is capped at ``E``).
- **Component i** gets ``E_idle x r_i + E_dyn x (r_i x u_i) / sum_j (r_j x u_j)`` where ``u_i`` is its
  utilization of what it reserved (``GPUUtilizationNormalized`` for a component holding accelerators, else
  ``CPUUtilizationNormalized``, 0-100 %): the idle draw by reservation, the load's extra by reservation times
  load. When no component reports load (the sum is 0), ``E_dyn`` is split by ``r_i``.
- **Unreserved capacity** gets ``E_idle x (1 - sum r_i)``: the draw of capacity nobody reserved. A component at
  zero copies reserves nothing and gets nothing: scaled to zero, it has no instance cost of its own.

Operational CO2e (location-based, market-based, and the low/high range) is split as the energy is (one grid
factor within an hour). Embodied CO2e and instance-hours (the cost's basis: list price x instance-hours) are
hardware held, not load, so they are split by the reserved shares, the unreserved line taking ``1 - sum r_i``.
A component's g CO2e per 1,000 inferences is (its operational + embodied CO2e) / its invocations x 10^6, as the
estimator defines it for a variant-hour (None without invocations).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import Count, F, FloatField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate

import estimator
from collectors.models import ComponentConfig, ComponentHour, InferenceComponent
from dashboard.footprint.measures import SUMMED, total
from dashboard.footprint.models import ComponentHourEstimate

UNRESERVED = "(unreserved capacity)"
# What a split row carries, summed over hours by ``component_totals``: the operational measures follow energy,
# BY_CAPACITY ones (hardware held, not load) follow the reserved capacity.
BY_ENERGY = ("co2e_kg", "co2e_market_kg", "co2e_kg_low", "co2e_kg_high")
BY_CAPACITY = ("embodied_co2e_kg", "instance_hours")
# The rollups' summed measures, less idle instance-hours (a component's hours are not split into idle and busy).
TOTALS = tuple(name for name in SUMMED if name != "idle_instance_hours")
# Fields of the variant-hour rows ``estimate_components`` needs beyond ``estimates.ROW_FIELDS``.
HOUR_FIELDS = ("endpoint_id", "variant_name", "hour", "vcpus", "gpus", "cpu_reservation_pct", "gpu_reservation_pct")


# --- the split ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capacity:
    """What one instance offers components: accelerator devices (GPUs or accelerator chips), CPU cores (vCPUs) and
    memory (MiB, as ``MinMemoryRequiredInMb`` counts it); 0 where unknown."""

    devices: float
    cores: float
    memory_mb: float = 0.0

    @property
    def accelerated(self) -> bool:
        return self.devices > 0


@functools.lru_cache(maxsize=1024)  # a batch asks for a few instance types thousands of times
def capacity_of(instance_type: str, vcpus: int | None = None, gpus: int | None = None) -> Capacity:
    """Per-instance capacity from the instance catalog; the variant-hour's own ``vcpus``/``gpus`` (memory unknown)
    for a type the catalog lacks."""
    try:
        row = estimator.catalog.hardware(instance_type)
        devices = float(row["gpu_count"] or 0) + float(row["accelerator_count"] or 0)
        return Capacity(devices, float(row["vcpus"] or 0), float(row["memory_gb"] or 0) * 1024)
    except KeyError:
        return Capacity(float(gpus or 0), float(vcpus or 0))


# (reserved field of a component hour, per-copy field of its specification, Capacity field)
RESOURCES = (
    ("accelerators_reserved", "accelerators_required", "devices"),
    ("cpu_cores_reserved", "cpu_cores_required", "cores"),
    ("memory_reserved_mb", "min_memory_mb", "memory_mb"),
)


def reserved_share(
    hour: ComponentHour, spec: ComponentConfig | None, capacity: Capacity, instance_hours: float
) -> float:
    """The component's *dominant* reserved share of the hour's instances: the largest of its reserved accelerators,
    cores and memory, each over what the instances offer of it (a component reserving half the memory holds half
    the instance whatever its cores). Each reservation is the collector's, else the specification valid then x
    copies. A component reserving only cores on a GPU instance so gets its share, not none."""
    fractions = []
    for reserved_field, per_copy_field, offered_field in RESOURCES:
        offered = getattr(capacity, offered_field) * instance_hours
        if offered <= 0:
            continue
        value = getattr(hour, reserved_field)
        if value is None and spec is not None:
            value = (getattr(spec, per_copy_field) or 0.0) * hour.copies
        fractions.append(max(float(value or 0.0), 0.0) / offered)
    return max(fractions, default=0.0)


def shares(reserved: list[float]) -> np.ndarray:
    """The reserved shares ``r_i``, scaled down to add up to 1 when they add up to more."""
    r = np.array(reserved, dtype=float)
    total = r.sum()
    return r / total if total > 1 else r


def energy_split(energy: float, idle: float, r: np.ndarray, util: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Each component's energy, the unreserved line's, and each component's idle part (see the module)."""
    idle = min(max(idle, 0.0), energy)
    dynamic = energy - idle
    load = r * np.nan_to_num(util, nan=0.0)
    weights = load / load.sum() if load.sum() > 0 else (r / r.sum() if r.sum() > 0 else r)
    idle_parts = idle * r
    unreserved = idle * max(1.0 - r.sum(), 0.0)
    if r.sum() == 0:  # nothing reserved: the load's extra too is capacity nobody reserved
        unreserved += dynamic
    return idle_parts + dynamic * weights, unreserved, idle_parts


def per_thousand(co2e_kg: float, invocations: float | None) -> float | None:
    """g CO2e per 1,000 inferences; None without invocations."""
    return co2e_kg * 1e6 / invocations if invocations and invocations > 0 else None


def holds_accelerators(hour: ComponentHour, spec: ComponentConfig | None) -> bool:
    """Whether the component holds accelerators (its specification says so; else its hour's reservation)."""
    if spec is not None and spec.accelerators_required is not None:
        return spec.accelerators_required > 0
    return bool(hour.accelerators_reserved)


def _util(hour: ComponentHour, accelerated: bool) -> float:
    """Its utilization of what it reserved: GPU for a component holding accelerators, else CPU."""
    value = hour.gpu_util_pct if accelerated else hour.cpu_util_pct
    if value is None and accelerated:
        value = hour.cpu_util_pct  # a GPU model that reports no GPU load: its CPU load, rather than none
    return math.nan if value is None else float(value)


def split_hour(  # noqa: PLR0913 - one variant-hour: its usage, its estimate, its idle estimate, its components
    row: dict,
    estimate: dict,
    idle_kwh: float,
    hours: list[ComponentHour],
    specs: dict[int, ComponentConfig | None],
    now: dt.datetime,
) -> list[ComponentHourEstimate]:
    """The component rows and the unreserved row of one variant-hour (``row``: its usage fields; ``estimate``: its
    ``VariantHourEstimate`` values)."""
    capacity = capacity_of(row["instance_type"], row.get("vcpus"), row.get("gpus"))
    instance_hours = float(row["instance_hours"] or 0.0)
    r = shares([reserved_share(h, specs.get(h.pk), capacity, instance_hours) for h in hours])
    util = np.array([_util(h, capacity.accelerated and holds_accelerators(h, specs.get(h.pk))) for h in hours])
    energy = float(estimate["energy_kwh"])
    parts, unreserved, idle_parts = energy_split(energy, idle_kwh, r, util)
    free = max(1.0 - float(r.sum()), 0.0)
    common = {
        "variant_hour_id": row["pk"],
        "endpoint_id": row["endpoint_id"],
        "hour": row["hour"],
        "methodology_version": estimate["methodology_version"],
        "computed_at": now,
    }

    def measures(energy_part: float, capacity_share: float) -> dict:
        by_energy = energy_part / energy if energy > 0 else capacity_share
        values = {name: _scaled(estimate[name], by_energy) for name in BY_ENERGY}
        values["embodied_co2e_kg"] = float(estimate["embodied_co2e_kg"]) * capacity_share
        values["instance_hours"] = float(row["instance_hours"] or 0.0) * capacity_share
        return values

    rows = []
    for position, hour in enumerate(hours):
        values = measures(float(parts[position]), float(r[position]))
        rows.append(
            ComponentHourEstimate(
                **common,
                **values,
                component_hour_id=hour.pk,
                component_id=hour.component_id,
                reserved_share=float(r[position]),
                util_pct=None if math.isnan(util[position]) else float(util[position]),
                copies=hour.copies,
                invocations=hour.invocations,
                energy_kwh=float(parts[position]),
                idle_energy_kwh=float(idle_parts[position]),
                gco2e_per_1k_invocations=per_thousand(values["co2e_kg"] + values["embodied_co2e_kg"], hour.invocations),
            )
        )
    values = measures(unreserved, free)  # free is 1 when no capacity is known: the whole hour is unreserved
    rows.append(
        ComponentHourEstimate(
            **common,
            **values,
            component_hour_id=None,
            component_id=None,
            reserved_share=free,
            util_pct=None,
            copies=0.0,
            invocations=None,
            energy_kwh=unreserved,
            idle_energy_kwh=min(max(idle_kwh, 0.0), energy) * free,
            gco2e_per_1k_invocations=None,
        )
    )
    return rows


def _scaled(value, share: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value) * share


# --- estimation (called by ``estimates.estimate_pending`` in the batch's transaction) ---------------------------


def component_hours_of(rows: list[dict]) -> dict[tuple[int, str, dt.datetime], list[ComponentHour]]:
    """The component hours of the variant-hours ``rows``, by (endpoint id, variant name, hour): one query."""
    if not rows:
        return {}
    endpoints = {row["endpoint_id"] for row in rows}
    wanted = {(row["endpoint_id"], row["variant_name"], row["hour"]) for row in rows}
    # The batch's hours, not their span: a batch of old hours re-estimated after a methodology change may span a
    # year, of which it holds a few hours per endpoint.
    found = ComponentHour.objects.filter(
        component__endpoint_id__in=endpoints, hour__in={row["hour"] for row in rows}
    ).select_related("component")
    by_hour: dict[tuple[int, str, dt.datetime], list[ComponentHour]] = defaultdict(list)
    for hour in found.order_by("component_id"):
        key = (hour.component.endpoint_id, hour.component.variant_name, hour.hour)
        if key in wanted:
            by_hour[key].append(hour)
    return by_hour


def is_component_hour(row: dict, hours: list[ComponentHour]) -> bool:
    """An IC variant's hour: it has component hours, or SageMaker published its reservations."""
    return bool(hours) or row.get("gpu_reservation_pct") is not None or row.get("cpu_reservation_pct") is not None


def specs_of(hours: list[ComponentHour]) -> dict[int, ComponentConfig | None]:
    """For component hours that lack a reservation: the configuration valid in that hour (one query)."""
    missing = [h for h in hours if h.accelerators_reserved is None or h.cpu_cores_reserved is None]
    if not missing:
        return {}
    configs = defaultdict(list)
    for config in ComponentConfig.objects.filter(component_id__in={h.component_id for h in missing}):
        configs[config.component_id].append(config)
    return {
        h.pk: next(
            (
                c
                for c in configs[h.component_id]
                if c.valid_from <= h.hour + dt.timedelta(hours=1) and (c.valid_to is None or c.valid_to > h.hour)
            ),
            None,
        )
        for h in missing
    }


def idle_estimates(rows: list[dict], usage_frame: Callable[[list[dict]], pd.DataFrame], methodology: str) -> np.ndarray:
    """Each row's energy at 0 % utilization: the estimator on a copy of the rows' usage with utilizations 0."""
    frame = usage_frame(rows)
    frame[["cpu_util_pct", "gpu_util_pct", "memory_util_pct"]] = 0.0
    return estimator.estimate(frame, methodology=methodology)["energy_kwh"].to_numpy(dtype=float)


def estimate_components(
    rows: list[dict],
    estimates: pd.DataFrame,
    now: dt.datetime,
    usage_frame: Callable[[list[dict]], pd.DataFrame],
    methodology: str,
) -> int:
    """Replace the component rows of the variant-hours ``rows`` (just estimated as ``estimates``, same order, by
    ``methodology`` from ``usage_frame(rows)``), inside the caller's transaction. Returns how many were written."""
    by_hour = component_hours_of(rows)
    chosen = [
        (position, row)
        for position, row in enumerate(rows)
        if is_component_hour(row, by_hour.get((row["endpoint_id"], row["variant_name"], row["hour"]), []))
    ]
    ComponentHourEstimate.objects.filter(variant_hour_id__in=[row["pk"] for row in rows]).delete()
    if not chosen:
        return 0
    idle = idle_estimates([row for _, row in chosen], usage_frame, methodology)
    all_hours = [
        h for _, row in chosen for h in by_hour.get((row["endpoint_id"], row["variant_name"], row["hour"]), [])
    ]
    specs = specs_of(all_hours)
    records = estimates.to_dict("records")
    objects = []
    for (position, row), idle_kwh in zip(chosen, idle, strict=True):
        hours = by_hour.get((row["endpoint_id"], row["variant_name"], row["hour"]), [])
        objects.extend(split_hour(row, records[position], float(idle_kwh), hours, specs, now))
    ComponentHourEstimate.objects.bulk_create(objects, batch_size=1000)
    return len(objects)


# --- components now --------------------------------------------------------------------------------------------


def latest_components():
    """Inference components annotated with their latest configuration (``copy_count`` now, ``desired_copy_count``,
    the per-copy ``cpu_cores_required``, ``accelerators_required``, ``min_memory_mb``): one query however many,
    for the API's endpoint list (a prefetch) and the endpoint page."""

    def latest(field: str) -> Subquery:
        configs = ComponentConfig.objects.filter(component=OuterRef("pk")).order_by("-valid_from", "-pk")
        return Subquery(configs.values(field)[:1])

    return InferenceComponent.objects.annotate(
        copy_count=latest("current_copy_count"),
        desired_copy_count=latest("desired_copy_count"),
        cpu_cores_required=latest("cpu_cores_required"),
        accelerators_required=latest("accelerators_required"),
        min_memory_mb=latest("min_memory_mb"),
    ).order_by("variant_name", "name")


# --- totals over a period --------------------------------------------------------------------------------------


def in_window(rows, start: dt.datetime, end: dt.datetime):
    """The rows whose hour is in ``[start, end)``: the same window as the pages' (``Filters.start_time`` /
    ``end_time``, a rolling period's exact hours)."""
    return rows.filter(hour__gte=start, hour__lt=end)


def _sums() -> dict:
    sums: dict = {name: total(name) for name in TOTALS if name != "co2e_market_kg"}
    sums["co2e_market_kg"] = Sum("co2e_market_kg")  # NULL summed as SQL does; a missing part is checked below
    measured = Q(util_pct__isnull=False)
    sums["market_missing"] = Count("pk", filter=Q(co2e_market_kg__isnull=True))
    sums["hours"] = Count("pk")
    # Utilization: a mean weighted by the instance-hours reserved, over the hours that report it.
    sums["util_x"] = total(Sum(F("util_pct") * F("instance_hours"), filter=measured, output_field=FloatField()))
    sums["util_w"] = total(Sum("instance_hours", filter=measured))
    return {f"t_{name}": value for name, value in sums.items()}  # an annotation may not shadow the field it sums


def component_rows(endpoint_ids: list[int], start: dt.datetime, end: dt.datetime, by: str = "") -> pd.DataFrame:
    """Sums per (endpoint, variant, component, instance type, region[, ``by``: "hour" or UTC "day", as ``time``])
    over ``[start, end)``: one query. The unreserved line has ``component_id`` NaN. A market-based CO2e any summed
    row lacks is NaN."""
    rows = in_window(ComponentHourEstimate.objects.filter(endpoint_id__in=endpoint_ids), start, end)
    keys = {
        "k_endpoint_id": F("endpoint_id"),
        "k_variant_name": F("variant_hour__variant_name"),
        "k_component_id": F("component_id"),
        "k_instance_type": F("variant_hour__instance_type"),
        "k_region": F("endpoint__region"),
    }
    if by == "day":
        keys["k_time"] = TruncDate("hour", tzinfo=dt.UTC)
    elif by == "hour":
        keys["k_time"] = F("hour")
    sums = _sums()
    records = list(rows.annotate(**keys).values(*keys).annotate(**sums).order_by()) if endpoint_ids else []
    frame = pd.DataFrame.from_records(records, columns=[*keys, *sums])
    frame = frame.rename(columns=lambda name: name.removeprefix("k_").removeprefix("t_"))
    for name in [*TOTALS, "util_x", "util_w", "market_missing", "hours"]:
        frame[name] = frame[name].astype(float)
    frame["component_id"] = frame["component_id"].astype(float)
    frame.loc[frame["market_missing"].fillna(0) > 0, "co2e_market_kg"] = np.nan
    if by:
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def priced(frame: pd.DataFrame) -> pd.DataFrame:
    """``queries.with_cost`` on component rows: list price x their instance-hours, at the price of their time."""
    from dashboard.footprint.queries import with_cost

    return with_cost(frame) if not frame.empty else frame.assign(cost_usd=[], priced_instance_hours=[])


def series(endpoint_ids: list[int], start: dt.datetime, end: dt.datetime, grain: str) -> pd.DataFrame:
    """Sums per period of the grain, endpoint, variant and component (NaN: the unreserved line) over
    ``[start, end)``, priced per day (per hour at hour grain). ``bucket`` is the period's start: the hour (aware)
    at hour grain, else its first UTC day as a date, weeks starting on Monday as the other series'."""
    frame = priced(component_rows(endpoint_ids, start, end, by="hour" if grain == "hour" else "day"))
    if frame.empty:
        return frame.assign(bucket=[])
    stamps = frame["time"].dt.tz_localize(None)
    if grain == "hour":
        frame["bucket"] = frame["time"]
    elif grain == "day":
        frame["bucket"] = stamps.dt.date
    else:
        frame["bucket"] = stamps.dt.to_period("M" if grain == "month" else "W-SUN").dt.start_time.dt.date
    return added_up(frame, ["bucket", "endpoint_id", "variant_name", "component_id"])


def day_series(endpoint_ids: list[int], start: dt.date, end: dt.date, grain: str) -> pd.DataFrame:
    """``series`` over the UTC days ``start``..``end`` (the API's period)."""
    first = dt.datetime.combine(start, dt.time(), dt.UTC)
    return series(endpoint_ids, first, dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC), grain)


def added_up(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Component rows added up per ``keys``: a cost is the sum of its priced parts (NaN when none is), the
    market-based CO2e NaN where any part lacks it."""
    numbers = [*TOTALS, "util_x", "util_w", "market_missing", "hours", "priced_instance_hours"]
    grouped = frame.groupby(keys, dropna=False, sort=True)
    totals = grouped[numbers].sum()
    totals["cost_usd"] = grouped["cost_usd"].sum(min_count=1)
    totals = totals.reset_index()
    totals["co2e_market_kg"] = totals["co2e_market_kg"].where(totals["market_missing"] == 0)
    return totals


def component_totals(endpoint, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """One row per component of ``endpoint`` (every component it ever had, even without hours in the period) and
    one "unreserved capacity" row per IC variant with hours, over ``[start, end)``: usage, energy, emissions, cost
    (list price x the component's instance-hours, each day at its own price), g CO2e per 1,000 inferences and the
    share of the variant's energy. Empty for an endpoint without inference components."""
    components = list(InferenceComponent.objects.filter(endpoint=endpoint).order_by("variant_name", "name"))
    frame = priced(component_rows([endpoint.pk], start, end, by="day"))
    if frame.empty and not components:
        return pd.DataFrame()
    return fold(frame, components, endpoint.pk)


def fold(frame: pd.DataFrame, components: list[InferenceComponent], endpoint_id: int) -> pd.DataFrame:
    """Per-(component, day, type) rows added up per component and variant; components without rows appear with
    zeros; ratios added."""
    keys = ["endpoint_id", "variant_name", "component_id"]
    numbers = [*TOTALS, "util_x", "util_w", "market_missing", "hours", "priced_instance_hours"]
    totals = added_up(frame, keys) if not frame.empty else pd.DataFrame(columns=[*keys, *numbers, "cost_usd"])
    seen = {int(c) for c in totals["component_id"].dropna()}
    absent = [
        {
            "endpoint_id": endpoint_id,
            "variant_name": c.variant_name,
            "component_id": c.pk,
            **dict.fromkeys(numbers, 0.0),
        }
        for c in components
        if c.pk not in seen
    ]
    if absent:
        totals = pd.concat([totals, pd.DataFrame(absent)], ignore_index=True)
    by_id = {c.pk: c for c in components}
    totals["component"] = [
        by_id[int(i)].name if not pd.isna(i) and int(i) in by_id else UNRESERVED for i in totals["component_id"]
    ]
    totals["unreserved"] = totals["component_id"].isna()
    return with_ratios(totals).sort_values(["variant_name", "unreserved", "component"], ignore_index=True)


def with_ratios(totals: pd.DataFrame) -> pd.DataFrame:
    totals = totals.copy()
    numbers = totals[[*TOTALS, "util_x", "util_w"]].astype(float)
    totals[list(numbers.columns)] = numbers
    totals["util_pct"] = (numbers["util_x"] / numbers["util_w"]).where(numbers["util_w"] > 0)
    # Mean reserved share of the variant's capacity over the hours counted, 0-1.
    totals["reserved_share"] = (numbers["instance_hours"] / _variant_sum(totals, "instance_hours")).where(
        _variant_sum(totals, "instance_hours") > 0
    )
    total_co2e = numbers["co2e_kg"] + numbers["embodied_co2e_kg"]
    invocations = numbers["invocations"]
    totals["gco2e_per_1k_invocations"] = (total_co2e * 1e6 / invocations).where(
        (invocations > 0) & ~totals["component_id"].isna()
    )
    variant_energy = _variant_sum(totals, "energy_kwh")
    totals["energy_share_pct"] = (100 * numbers["energy_kwh"] / variant_energy).where(variant_energy > 0)
    return totals


def _variant_sum(totals: pd.DataFrame, name: str) -> pd.Series:
    return totals.groupby(["endpoint_id", "variant_name"])[name].transform("sum").astype(float)
