"""The one definition of every workload figure (issue 19): per job, per tuning job, per lifecycle stage, per hour.
Pages, API, FOCUS, Prometheus, digests, alerts and recommendations ask here. STUB: pre-wired by the lead with the
frozen signatures and columns; the footprint work package fills in the bodies.

``accounts`` is ``queries.team_accounts(team)`` (dicts with ``pk``, ``account_id``, ``name``): the scope.
``start``/``end`` are UTC datetimes, ``[start, end)``, on hour boundaries.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

#: workload_totals: one row per workload with hours in [start, end) (``kind`` filters, ``ids`` limits).
TOTAL_COLUMNS = [
    "workload_id",
    "kind",
    "name",
    "account_id",  # the 12-digit AWS account id
    "region",
    "status",
    "instance_type",
    "instance_count",
    "spot",
    "tuning_job_id",
    "team",  # the workload's "team" tag, else ""
    "project",  # its "project" tag, else ""
    "start_time",
    "end_time",
    "hours",  # distinct hours with a WorkloadHour row in the period
    "instance_hours",
    "spot_instance_hours",
    "cpu_util_pct",  # instance-hour-weighted mean over hours with metrics; NaN without
    "gpu_util_pct",
    "gpu_util_max_pct",  # the highest hourly maximum
    "energy_kwh",
    "co2e_kg",
    "co2e_market_kg",
    "embodied_co2e_kg",
    "cost_usd",  # list cost of the instance-hours (spot: scaled by billable / training seconds); NaN unpriced
]

#: tuning_totals: one row per tuning job whose children have hours in [start, end).
TUNING_COLUMNS = [
    "tuning_job_id",
    "name",
    "account_id",
    "region",
    "strategy",
    "max_parallel_jobs",
    "max_jobs",
    "warm_start_type",
    "status",
    "children",
    "instance_hours",
    "energy_kwh",
    "co2e_kg",
    "embodied_co2e_kg",
    "cost_usd",
]

#: workload_series: one row per hour and instance type of one workload.
SERIES_COLUMNS = [
    "hour",
    "instance_type",
    "instance_hours",
    "hosts",
    "cpu_util_pct",
    "gpu_util_pct",
    "gpu_util_max_pct",
    "gpu_memory_util_pct",
    "memory_util_pct",
    "gpu_util_by_host",
    "energy_kwh",
    "co2e_kg",
    "embodied_co2e_kg",
]

#: lifecycle_split: the footprint by lifecycle stage, in this order.
STAGES = ("inference", "training", "processing", "transform", "notebooks", "storage")
STAGE_COLUMNS = ["stage", "energy_kwh", "co2e_kg", "embodied_co2e_kg", "cost_usd", "instance_hours"]


def workload_totals(
    accounts: list[dict],
    start: dt.datetime,
    end: dt.datetime,
    kind: str | list[str] | None = None,
    ids: list[int] | None = None,
) -> pd.DataFrame:
    return pd.DataFrame(columns=TOTAL_COLUMNS)


def tuning_totals(accounts: list[dict], start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    return pd.DataFrame(columns=TUNING_COLUMNS)


def workload_series(workload_id: int, start: dt.datetime | None = None, end: dt.datetime | None = None) -> pd.DataFrame:
    return pd.DataFrame(columns=SERIES_COLUMNS)


def lifecycle_split(accounts: list[dict], start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """One row per ``STAGES`` entry (zeros where nothing ran); storage's energy from ``footprint.storage``."""
    return pd.DataFrame([{"stage": s, **dict.fromkeys(STAGE_COLUMNS[1:], 0.0)} for s in STAGES], columns=STAGE_COLUMNS)
