"""The one definition of every workload figure (issue 19): per job, per tuning job, per lifecycle stage, per hour.
Pages, API, FOCUS, Prometheus, digests, alerts and recommendations ask here.

``accounts`` is ``queries.team_accounts(team)`` (dicts with ``pk``, ``account_id``, ``name``): the scope.
``start``/``end`` are UTC datetimes, ``[start, end)``, on hour boundaries.

Every function reads the workload-hours with their estimates in one aggregate query (grouped by workload, instance
type and UTC day: a day is priced at the price in effect then), the workloads' own fields in a second, and folds
the rest in pandas; no query per workload. Hours not estimated yet count their instance-hours but no energy (the
estimator runs right after each collection: ``workload_estimates``).

Cost is the on-demand list price of the workload's own SageMaker component per instance-hour (``price_book.
PriceBook.component_usd``: Training, Processing, Batch Transform, Notebook; collected from the AWS Price List, else
a cited shipped row), NaN where none is known ("unpriced": Studio apps, a type never collected). A managed-Spot
training job is billed for ``BillableTimeInSeconds`` of its ``TrainingTimeInSeconds`` (AWS bills what was paid,
not the wall clock): its list cost is scaled by billable / training seconds (1 while unknown, e.g. still running).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from django.db.models import Count, F, FloatField, Max, Q, Sum
from django.db.models.functions import TruncDate

from collectors.models import TuningJob, Workload, WorkloadHour
from collectors.models.workloads import RUNNING_STATUSES, WorkloadKind
from dashboard.footprint import price_book, queries, storage
from dashboard.footprint.filters import UNTAGGED, Filters
from dashboard.footprint.measures import complete_total, total, weighted_aggregates
from dashboard.footprint.models import WorkloadHourEstimate

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
    # Appended by the footprint work package (after the frozen columns):
    "arn",
    "family",
    "memory_util_pct",
    "estimated_instance_hours",  # the instance-hours with an estimate (energy covers these)
    "price_source",  # price_book.COLLECTED / SHIPPED; None where unpriced
    "spot_billed_ratio",  # billable / training seconds of a Spot job (1.0 otherwise or while unknown)
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
    # Appended:
    "co2e_market_kg",
    "hours",
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
    # Appended:
    "spot_instance_hours",
    "cpu_util_max_pct",
    "co2e_market_kg",
    "util_source",
    "fallbacks",
]

#: lifecycle_split: the footprint by lifecycle stage, in this order.
STAGES = ("inference", "training", "processing", "transform", "notebooks", "storage")
STAGE_COLUMNS = ["stage", "energy_kwh", "co2e_kg", "embodied_co2e_kg", "cost_usd", "instance_hours", "note"]
# The workload kinds of each stage (inference and storage come from the endpoints' and storage's own figures).
STAGE_KINDS = {
    "training": (WorkloadKind.TRAINING,),
    "processing": (WorkloadKind.PROCESSING,),
    "transform": (WorkloadKind.TRANSFORM,),
    "notebooks": (WorkloadKind.NOTEBOOK, WorkloadKind.STUDIO_APP),
}

# Estimate columns that add up (``co2e_market_kg`` apart: unknown where any hour lacks it, ``measures.PARTIAL``).
ESTIMATE_SUMS = ("energy_kwh", "co2e_kg", "co2e_kg_low", "co2e_kg_high", "embodied_co2e_kg")
SUMS = ("instance_hours", "spot_instance_hours", *ESTIMATE_SUMS, "co2e_market_kg")
ESTIMATES = ("energy_kwh", "co2e_kg", "co2e_market_kg", "embodied_co2e_kg")
UTIL = ("cpu_util_pct", "gpu_util_pct", "memory_util_pct")
WORKLOAD_FIELDS = (
    "id",
    "kind",
    "name",
    "arn",
    "family",
    "account__account_id",
    "region",
    "status",
    "instance_type",
    "instance_count",
    "spot",
    "tuning_job_id",
    "tags",
    "start_time",
    "end_time",
    "training_seconds",
    "billable_seconds",
)


def _kinds(kind: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    if kind is None:
        return None
    return [str(kind)] if isinstance(kind, str) else [str(k) for k in kind]


def _hours(accounts: list[dict] | None, start, end, kind=None, ids=None):
    rows = WorkloadHour.objects.all()
    if accounts is not None:
        rows = rows.filter(workload__account_id__in=[a["pk"] for a in accounts])
    if start is not None:
        rows = rows.filter(hour__gte=start)
    if end is not None:
        rows = rows.filter(hour__lt=end)
    kinds = _kinds(kind)
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    if ids is not None:
        rows = rows.filter(workload_id__in=list(ids))
    return rows


def day_sums(  # noqa: PLR0913 - the scope (accounts, period, kind, ids), then the grain
    accounts: list[dict] | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    kind: str | list[str] | None = None,
    ids: list[int] | None = None,
    by: str = "day",
) -> pd.DataFrame:
    """One row per (workload, instance type, UTC day) with hours in [start, end) (``by="hour"``: per hour, in an
    ``hour`` column, instead): the sums of ``SUMS``, distinct hours, the highest GPU maximum, instance-hour-weighted
    utilization parts (``<name>_x``/``_w``) and the instance-hours with an estimate. One query."""
    key = {"day": TruncDate("hour", tzinfo=dt.UTC), "hour": F("hour")}[by]
    rows = (
        _hours(accounts, start, end, kind, ids)
        .annotate(**{f"k_{by}": key})
        .values("workload_id", "kind", "instance_type", f"k_{by}")
        .annotate(
            t_hours=Count("hour", distinct=True),
            t_instance_hours=total("instance_hours"),
            t_spot_instance_hours=total("spot_instance_hours"),
            t_estimated_instance_hours=total(
                Sum("instance_hours", filter=Q(estimate__isnull=False), output_field=FloatField())
            ),
            **{f"t_{name}": total(f"estimate__{name}") for name in ESTIMATE_SUMS},
            t_co2e_market_kg=complete_total("estimate__co2e_market_kg", "estimate__pk"),
            t_gpu_util_max_pct=Max("gpu_util_max_pct"),
            **{f"t_{name}": value for name, value in weighted_aggregates(UTIL).items()},
        )
        .order_by()
    )
    columns = [
        "workload_id",
        "kind",
        "instance_type",
        by,
        "hours",
        *SUMS,
        "estimated_instance_hours",
        "gpu_util_max_pct",
        *[f"{n}_{p}" for n in UTIL for p in "xw"],
    ]
    frame = pd.DataFrame.from_records(list(rows))
    frame = frame.rename(columns=lambda name: name.removeprefix("t_").removeprefix("k_")).reindex(columns=columns)
    numeric = [c for c in columns if c not in ("workload_id", "kind", "instance_type", by)]
    frame[numeric] = frame[numeric].astype(float)
    return frame


def workload_rows(ids) -> pd.DataFrame:
    """The workloads' own fields (``WORKLOAD_FIELDS``), team and project from their tags. One query."""
    rows = Workload.objects.filter(pk__in=list(ids)).values(*WORKLOAD_FIELDS)
    frame = pd.DataFrame.from_records(list(rows), columns=WORKLOAD_FIELDS)
    tags = frame["tags"].map(lambda t: t if isinstance(t, dict) else {})
    frame["team"] = tags.map(lambda t: str(t.get("team", "")))
    frame["project"] = tags.map(lambda t: str(t.get("project", "")))
    parts = zip(frame["spot"], frame["training_seconds"], frame["billable_seconds"], strict=True)
    frame["spot_billed_ratio"] = [_billed_ratio(*row) for row in parts]
    return frame.rename(columns={"id": "workload_id", "account__account_id": "account_id"})


def _billed_ratio(spot, training_seconds, billable_seconds) -> float:
    """The share of a managed-Spot job's run AWS bills (billable / training seconds); 1.0 for on-demand or while
    unknown."""
    if not spot or pd.isna(training_seconds) or pd.isna(billable_seconds) or not training_seconds:
        return 1.0
    return float(billable_seconds) / float(training_seconds)


def priced(days: pd.DataFrame, ratios: pd.Series, book: price_book.PriceBook | None = None) -> pd.DataFrame:
    """``days`` (``day_sums``) with ``cost_usd`` (instance-hours x the component's list price on that day x the
    workload's Spot billed ratio; NaN unpriced), ``price_source`` and ``sku_id`` (the Price List SKU, if collected).
    ``ratios``: Spot billed ratio by workload id."""
    days = days.copy()
    if days.empty:
        return days.assign(cost_usd=pd.Series(dtype=float), price_source=pd.Series(dtype=object),
                           sku_id=pd.Series(dtype=object), hourly_usd=pd.Series(dtype=float))  # fmt: skip
    book = book or price_book.PriceBook.load()
    regions = days["region"] if "region" in days.columns else days["workload_id"].map(_regions(days))
    at = price_book.times(days, dt.datetime.now(dt.UTC))  # each row at its hour or day
    usd, source, sku = book.component_usd(days["kind"], days["instance_type"], regions.reset_index(drop=True), at)
    ratio = days["workload_id"].map(ratios).fillna(1.0).to_numpy(dtype=float)
    days["hourly_usd"] = usd
    days["cost_usd"] = days["instance_hours"].to_numpy(dtype=float) * usd * ratio
    days["price_source"] = source
    days["sku_id"] = sku
    return days


def _regions(days: pd.DataFrame) -> dict:
    ids = days["workload_id"].unique().tolist()
    return dict(Workload.objects.filter(pk__in=ids).values_list("pk", "region"))


def workload_totals(
    accounts: list[dict],
    start: dt.datetime,
    end: dt.datetime,
    kind: str | list[str] | None = None,
    ids: list[int] | None = None,
) -> pd.DataFrame:
    """One row per workload with hours in [start, end): ``TOTAL_COLUMNS``, largest CO2e first. Three queries
    (the hours' day sums, the workloads, the price book)."""
    days = day_sums(accounts, start, end, kind, ids)
    if days.empty:
        return pd.DataFrame(columns=TOTAL_COLUMNS)
    meta = workload_rows(days["workload_id"].unique())
    days = days.merge(meta[["workload_id", "region"]], on="workload_id", how="left")
    days = priced(days, meta.set_index("workload_id")["spot_billed_ratio"])
    return _fold(days, meta)


def _fold(days: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    grouped = days.groupby("workload_id", sort=False)
    sums = grouped[[*SUMS, "estimated_instance_hours", *[f"{n}_{p}" for n in UTIL for p in "xw"]]].sum()
    sums["co2e_market_kg"] = _complete(grouped, "co2e_market_kg")
    # Heterogeneous clusters have a row per instance type of the same hour: a workload's hours in a day are its
    # busiest type's (every group of a SageMaker job runs the job's timeline).
    sums["hours"] = days.groupby(["workload_id", "day"], sort=False)["hours"].max().groupby(level=0).sum()
    sums["gpu_util_max_pct"] = grouped["gpu_util_max_pct"].max()
    sums["cost_usd"] = grouped["cost_usd"].sum(min_count=1)
    sums["price_source"] = _sources(days, "workload_id")
    for name in UTIL:
        weight = sums.pop(f"{name}_w")
        sums[name] = (sums.pop(f"{name}_x") / weight).where(weight > 0)
    frame = meta.merge(sums.reset_index(), on="workload_id", how="inner")
    frame["price_source"] = frame["price_source"].astype(object).where(frame["price_source"].notna(), None)
    frame = frame.sort_values(["co2e_kg", "name"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return frame[TOTAL_COLUMNS]


def _complete(grouped, column: str) -> pd.Series:
    """The sum of ``column`` per group where every row has it, NaN where any lacks it (``measures.PARTIAL``)."""
    return grouped[column].sum().where(grouped[column].count() == grouped.size())


def _sources(frame: pd.DataFrame, key: str) -> pd.Series:
    """What priced each group's rows: the AWS Price List where any row was priced from it, else the shipped table
    where any was, else None (vectorised: no Python call per workload)."""
    collected = (frame["price_source"] == price_book.COLLECTED).groupby(frame[key], sort=False).any()
    shipped = (frame["price_source"] == price_book.SHIPPED).groupby(frame[key], sort=False).any()
    values = np.where(collected, price_book.COLLECTED, np.where(shipped, price_book.SHIPPED, None))
    return pd.Series(values, index=collected.index, dtype=object)


def tuning_totals(accounts: list[dict], start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """One row per tuning job whose training jobs have hours in [start, end): its children's totals summed
    (``children``: how many of them ran in the period), largest CO2e first."""
    jobs = workload_totals(accounts, start, end, kind=WorkloadKind.TRAINING)
    jobs = jobs[jobs["tuning_job_id"].notna()]
    if jobs.empty:
        return pd.DataFrame(columns=TUNING_COLUMNS)
    jobs = jobs.assign(tuning_job_id=jobs["tuning_job_id"].astype(int))
    grouped = jobs.groupby("tuning_job_id")
    sums = grouped[["instance_hours", "energy_kwh", "co2e_kg", "embodied_co2e_kg", "hours"]].sum()
    sums["cost_usd"] = grouped["cost_usd"].sum(min_count=1)
    sums["co2e_market_kg"] = _complete(grouped, "co2e_market_kg")
    sums["children"] = grouped.size()
    fields = ("id", "name", "account__account_id", "region", "strategy", "max_parallel_jobs", "max_jobs",
              "warm_start_type", "status")  # fmt: skip
    meta = pd.DataFrame.from_records(
        list(TuningJob.objects.filter(pk__in=sums.index.tolist()).values(*fields)), columns=fields
    ).rename(columns={"id": "tuning_job_id", "account__account_id": "account_id"})
    frame = meta.merge(sums.reset_index(), on="tuning_job_id", how="inner")
    frame = frame.sort_values(["co2e_kg", "name"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return frame[TUNING_COLUMNS]


def workload_series(workload_id: int, start: dt.datetime | None = None, end: dt.datetime | None = None) -> pd.DataFrame:
    """One row per hour and instance type of one workload (oldest first), with its estimate (NaN where the hour is
    not estimated yet). One query."""
    fields = {
        "hour": F("hour"),
        "instance_type": F("instance_type"),
        "instance_hours": F("instance_hours"),
        "hosts": F("hosts"),
        **{
            name: F(name)
            for name in (
                "cpu_util_pct",
                "gpu_util_pct",
                "gpu_util_max_pct",
                "gpu_memory_util_pct",
                "memory_util_pct",
                "gpu_util_by_host",
                "spot_instance_hours",
                "cpu_util_max_pct",
                "util_source",
            )
        },  # fmt: skip
        **{
            name: F(f"estimate__{name}")
            for name in ("energy_kwh", "co2e_kg", "embodied_co2e_kg", "co2e_market_kg", "fallbacks")
        },  # fmt: skip
    }
    rows = _hours(None, start, end, ids=[workload_id]).order_by("hour", "instance_type").values(**{
        f"c_{name}": expression for name, expression in fields.items()
    })  # fmt: skip
    frame = pd.DataFrame.from_records(list(rows), columns=[f"c_{name}" for name in fields])
    frame = frame.rename(columns=lambda name: name.removeprefix("c_"))
    numeric = [c for c in SERIES_COLUMNS if c not in ("hour", "instance_type", "gpu_util_by_host", "util_source",
                                                        "fallbacks")]  # fmt: skip
    frame[numeric] = frame[numeric].astype(float)
    return frame[SERIES_COLUMNS]


def lifecycle_split(
    accounts: list[dict], start: dt.datetime, end: dt.datetime, endpoint_totals: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per ``STAGES`` entry (zeros where nothing ran). Inference is the endpoints' totals of the same
    period and accounts from the endpoints' query layer (``queries.endpoint_totals``, not recomputed here); the
    training, processing, transform and notebook (notebook instances and Studio apps) stages are ``workload_totals``
    summed by kind; storage is ``storage.period_footprint`` (log groups and capture prefixes at the storage page's
    per-month estimate, per day's snapshot, no instance-hours). ``endpoint_totals``: that frame when the caller has
    it already (``queries.endpoint_totals`` of the same accounts and window)."""
    endpoints = endpoint_totals
    if endpoints is None:
        filters = Filters(
            "custom", start.date(), (end - dt.timedelta(microseconds=1)).date(), "day", window=(start, end)
        )
        endpoints = queries.endpoint_totals(accounts, filters, None) if accounts else pd.DataFrame()
    workloads = workload_totals(accounts, start, end)
    rows = [_stage_row("inference", endpoints)]
    for stage, kinds in STAGE_KINDS.items():
        rows.append(_stage_row(stage, workloads[workloads["kind"].isin([str(k) for k in kinds])]))
    rows.append({"stage": "storage", **storage.period_footprint(accounts, start, end)})
    return pd.DataFrame(rows, columns=STAGE_COLUMNS)


def _stage_row(stage: str, frame: pd.DataFrame) -> dict:
    row: dict = {"stage": stage, "note": ""}
    for name in ("energy_kwh", "co2e_kg", "embodied_co2e_kg", "instance_hours"):
        row[name] = float(frame[name].sum()) if len(frame) else 0.0
    costs = frame["cost_usd"] if len(frame) else pd.Series(dtype=float)
    row["cost_usd"] = float(costs.sum()) if costs.notna().any() else (np.nan if len(frame) else 0.0)
    if len(frame) and costs.isna().any():
        row["note"] = "Cost covers the priced instance-hours only (some are unpriced)."
    return row


# --- What FOCUS and Prometheus ask ------------------------------------------------------------------------------


def workload_days(accounts: list[dict], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per workload, UTC day (a date) and instance type over the days ``start``..``end``: the FOCUS export's
    workload rows (``day_sums`` priced, with the workloads' fields). Three queries."""
    begin = dt.datetime.combine(start, dt.time(), dt.UTC)
    stop = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    days = day_sums(accounts, begin, stop)
    if days.empty:
        return days.assign(region=pd.Series(dtype=object), cost_usd=pd.Series(dtype=float))
    meta = workload_rows(days["workload_id"].unique())
    days = days.merge(meta.drop(columns=["kind", "instance_type"]), on="workload_id", how="left")
    days = priced(days, meta.set_index("workload_id")["spot_billed_ratio"])
    days["day"] = pd.to_datetime(days["day"]).dt.date
    return days.sort_values(["day", "workload_id", "instance_type"], kind="stable").reset_index(drop=True)


def workload_hour(team, hour: dt.datetime) -> list[dict]:
    """Per running workload (``RUNNING_STATUSES``, not deleted) of the team, one hour: instance-hours, energy,
    CO2e (location- and market-based), embodied CO2e and instance-hour-weighted utilization (None where no hour
    reported it), ordered by kind and name. One query."""
    rows = (
        WorkloadHour.objects.filter(
            workload__account__team=team,
            hour=hour,
            workload__status__in=RUNNING_STATUSES,
            workload__deleted_at__isnull=True,
        )
        .values("workload_id", "kind", "workload__name", "workload__region", "workload__account__account_id")
        .annotate(
            **{f"t_{name}": total(f"estimate__{name}") for name in ("energy_kwh", "co2e_kg", "embodied_co2e_kg")},
            t_co2e_market_kg=complete_total("estimate__co2e_market_kg", "estimate__pk"),
            t_instance_hours=total("instance_hours"),
            **weighted_aggregates(UTIL),
        )
        .order_by("kind", "workload__name", "workload_id")
    )
    result = []
    for row in rows:
        result.append(
            {
                "workload_id": row["workload_id"],
                "kind": row["kind"],
                "name": row["workload__name"],
                "region": row["workload__region"],
                "account_id": row["workload__account__account_id"],
                **{name.removeprefix("t_"): value for name, value in row.items() if name.startswith("t_")},
                **{n: row[f"{n}_x"] / row[f"{n}_w"] if row.get(f"{n}_w") else None for n in UTIL},
            }
        )
    return result


def latest_hour(team, before: dt.datetime) -> dt.datetime | None:
    """The last hour before ``before`` with an estimated workload-hour of a running workload of the team."""
    return (
        WorkloadHour.objects.filter(
            workload__account__team=team,
            estimate__isnull=False,
            workload__status__in=RUNNING_STATUSES,
            workload__deleted_at__isnull=True,
            hour__lt=before,
        )
        .order_by("-hour")
        .values_list("hour", flat=True)
        .first()
    )


def in_scope(frame: pd.DataFrame, region: str = "", team_tag: str | None = None) -> pd.DataFrame:
    """Rows (with the workloads' ``region`` and ``team``) narrowed as the API narrows endpoints: a region, a team tag
    (``filters.UNTAGGED`` for workloads without one)."""
    if region:
        frame = frame[frame["region"] == region]
    if team_tag is not None:
        frame = frame[frame["team"].replace("", UNTAGGED) == team_tag]
    return frame


def kind_series(  # noqa: PLR0913 - the scope (accounts, days), the grain, then the API's narrowing
    accounts: list[dict],
    start: dt.date,
    end: dt.date,
    grain: str,
    region: str = "",
    team_tag: str | None = None,
) -> pd.DataFrame:
    """Sums per period of the grain and per workload kind over the UTC days ``start``..``end``: ``bucket`` (the
    period's first day, a date, as ``queries.grouped_series``; its hour, an aware timestamp, at hour grain),
    ``kind``, ``SUMS``, ``cost_usd`` (NaN where none is priced) and ``priced_instance_hours``. Each day (hour) is
    priced at the price in effect then. Three queries."""
    by = "hour" if grain == "hour" else "day"
    begin = dt.datetime.combine(start, dt.time(), dt.UTC)
    stop = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    rows = day_sums(accounts, begin, stop, by=by)
    columns = ["bucket", "kind", *SUMS, "cost_usd", "priced_instance_hours"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    meta = workload_rows(rows["workload_id"].unique())
    rows = rows.merge(meta[["workload_id", "region", "team"]], on="workload_id", how="left")
    rows = in_scope(rows, region, team_tag)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = priced(rows, meta.set_index("workload_id")["spot_billed_ratio"])
    rows["priced_instance_hours"] = rows["instance_hours"].where(rows["cost_usd"].notna(), 0.0)
    if grain == "hour":
        rows["bucket"] = pd.to_datetime(rows["hour"], utc=True)
    else:
        stamps = pd.to_datetime(rows["day"])
        if grain == "day":
            rows["bucket"] = stamps.dt.date
        else:
            rows["bucket"] = stamps.dt.to_period("M" if grain == "month" else "W-SUN").dt.start_time.dt.date
    grouped = rows.groupby(["bucket", "kind"], sort=True)
    sums = grouped[[name for name in SUMS if name != "co2e_market_kg"] + ["priced_instance_hours"]].sum()
    sums["co2e_market_kg"] = _complete(grouped, "co2e_market_kg")
    sums["cost_usd"] = grouped["cost_usd"].sum(min_count=1)
    return sums.reset_index()[columns]


def data_version() -> tuple:
    """Changes whenever workload-hours are collected or (re-)estimated: a cached answer is never served after its
    data changed."""
    hours = WorkloadHour.objects.aggregate(v=Max("id"), at=Max("collected_at"))
    estimates = WorkloadHourEstimate.objects.aggregate(at=Max("computed_at"), n=Count("id"))
    return (hours["v"], hours["at"], estimates["at"], estimates["n"])
