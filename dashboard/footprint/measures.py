"""What the footprint measures, named once: which columns add up, which are instance-hour-weighted means, and how
a weighted mean is formed — in SQL (aggregates) and in pandas (frames) alike.

Every surface (pages, API, FOCUS, Prometheus, digests, alerts, recommendations) takes its column lists and its
weighted means from here; a new summed quantity is added to ``ESTIMATED`` or ``SUMMED`` and appears everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
from django.db.models import Case, Count, F, FloatField, Q, Sum, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact

# Columns of an hour's estimate that add up over hours, endpoints and accounts. CO2e is reported twice (GHG
# Protocol Scope 2 dual reporting): ``co2e_kg`` location-based (the grid the load draws from, the default) and
# ``co2e_market_kg`` market-based (after AWS's renewable-energy purchases).
ESTIMATED = ("energy_kwh", "co2e_kg", "co2e_market_kg", "co2e_kg_low", "co2e_kg_high", "embodied_co2e_kg")
# Columns of a rollup row (day or month) that add up: usage, its idle share, and the estimates.
SUMMED = (
    "instance_hours",
    "idle_instance_hours",
    "invocations",
    "energy_kwh",
    "idle_energy_kwh",
    "co2e_kg",
    "co2e_market_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "embodied_co2e_kg",
)
# Summed columns that rows estimated before they existed lack (NULL until re-estimated). A sum of such a column is
# known only when every row summed has it: NULL (None, NaN) otherwise, never the low sum of the rows that have it
# and never 0 (``complete_total`` in SQL, ``with_unknowns`` / ``finish_unknowns`` in pandas).
PARTIAL = ("co2e_market_kg",)
# Utilization is summed over a host's cores and devices by SageMaker and normalised per vCPU / GPU by the
# collectors; over time and variants it is a mean weighted by instance-hours, over the hours that report it.
UTILIZATION = ("cpu_util_pct", "gpu_util_pct", "memory_util_pct")
WEIGHT = "instance_hours"


def total(expression) -> Coalesce:
    """A sum that is 0.0, not NULL, over no rows (a column name or an aggregate's expression)."""
    return Coalesce(Sum(expression) if isinstance(expression, str) else expression, 0.0, output_field=FloatField())


def complete_total(expression, rows: str = "pk") -> Case:
    """The sum of ``expression`` (a column name) over rows every one of which has it: NULL when any of them lacks
    it (fewer values than ``rows``, a column no row lacks), 0.0 over no rows."""
    known = Exact(Count(expression), Count(rows))
    return Case(When(known, then=total(expression)), default=None, output_field=FloatField())


def summed(name: str, rows: str = "pk"):
    """The SQL sum of a summed column: ``complete_total`` for a ``PARTIAL`` one, else ``total``."""
    return complete_total(name, rows) if name.split("__")[-1] in PARTIAL else total(name)


def with_unknowns(frame: pd.DataFrame, names: Iterable[str] = PARTIAL) -> pd.DataFrame:
    """Adds ``<name>_unknown`` (1.0 where the row lacks ``<name>``) for each ``PARTIAL`` column of the frame, so
    that any grouping, resampling or zero-filling of the sums ends with ``finish_unknowns``."""
    present = [name for name in names if name in frame.columns]
    return frame.assign(**{f"{name}_unknown": frame[name].isna().astype(float) for name in present})


def finish_unknowns(frame: pd.DataFrame, names: Iterable[str] = PARTIAL) -> pd.DataFrame:
    """Sums made over ``with_unknowns`` rows: NaN where any row summed lacked the value; drops ``_unknown``."""
    frame = frame.copy()
    for name in names:
        if f"{name}_unknown" in frame.columns:
            unknown = frame.pop(f"{name}_unknown")
            frame[name] = frame[name].astype(float).where(~(unknown > 0))
    return frame


def unknown_columns(names: Iterable[str] = PARTIAL) -> list[str]:
    return [f"{name}_unknown" for name in names]


def complete_sum(series: pd.Series) -> float | None:
    """The sum of a column of a frame (0.0 when empty); None when any value is missing."""
    values = series.astype(float)
    return None if values.isna().any() else float(values.sum())


def weighted_aggregates(names: Iterable[str] = UTILIZATION, prefix: str = "") -> dict:
    """SQL aggregates for the weighted means of ``names``: ``<name>_x`` (value x weight) and ``<name>_w`` (the
    weight of the rows that report the value); ``prefix`` reaches a related model's columns."""
    aggregates = {}
    for name in names:
        aggregates[f"{name}_x"] = Sum(F(f"{prefix}{name}") * F(f"{prefix}{WEIGHT}"), output_field=FloatField())
        aggregates[f"{name}_w"] = Sum(
            f"{prefix}{WEIGHT}", filter=Q(**{f"{prefix}{name}__isnull": False}), output_field=FloatField()
        )
    return aggregates


def weighted_means(row: Mapping, names: Iterable[str] = UTILIZATION) -> dict[str, float | None]:
    """The means of a row aggregated with ``weighted_aggregates`` (None where no row reported the value)."""
    return {name: row[f"{name}_x"] / row[f"{name}_w"] if row.get(f"{name}_w") else None for name in names}


def with_weights(frame: pd.DataFrame, names: Iterable[str] = UTILIZATION) -> pd.DataFrame:
    """A frame of rows with a mean per row plus ``<name>_x`` and ``<name>_w`` columns, ready to be summed by any
    grouping and finished with ``finish_weighted``."""
    columns = {}
    for name in names:
        reported = frame[name].notna()
        columns[f"{name}_x"] = (frame[name] * frame[WEIGHT]).where(reported, 0.0)
        columns[f"{name}_w"] = frame[WEIGHT].where(reported, 0.0)
    return frame.assign(**columns)


def finish_weighted(frame: pd.DataFrame, names: Iterable[str] = UTILIZATION) -> pd.DataFrame:
    """Replace summed ``<name>_x`` / ``<name>_w`` columns by the weighted means ``<name>``."""
    frame = frame.copy()
    for name in names:
        weight = frame.pop(f"{name}_w")
        frame[name] = (frame.pop(f"{name}_x") / weight).where(weight > 0)
    return frame


def stored_weighted_aggregates(names: Iterable[str] = UTILIZATION) -> dict:
    """SQL aggregates named as ``weighted_aggregates``'s, over rows that store ``<name>_x`` and ``<name>_w``
    themselves (the monthly rollups): the two kinds of rows add up into one weighted mean."""
    aggregates = {}
    for name in names:
        aggregates[f"{name}_x"] = Sum(f"{name}_x", output_field=FloatField())
        aggregates[f"{name}_w"] = Sum(f"{name}_w", output_field=FloatField())
    return aggregates


def weight_columns(names: Iterable[str] = UTILIZATION) -> list[str]:
    """The ``<name>_x`` and ``<name>_w`` columns of ``with_weights``, for summing a frame by any grouping."""
    return [f"{name}_{part}" for name in names for part in "xw"]
