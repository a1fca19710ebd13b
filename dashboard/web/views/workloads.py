"""Training, processing and transform jobs, hyperparameter tuning jobs, notebook instances and Studio apps (issue 19):
the team's jobs over a period, one job's page, and the notebooks page.

Every figure (energy, CO2e, embodied CO2e, cost, instance-hours, utilization) comes from
``dashboard.footprint.workload_queries``: the pages only select, label, add up and draw what it returns."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from collectors.models import JOB_KINDS, Workload, WorkloadKind
from collectors.models.workloads import INTERACTIVE_KINDS
from dashboard.footprint import filters
from dashboard.footprint import queries as reports
from dashboard.footprint import workload_queries as wq
from dashboard.notify.models import Alert
from dashboard.teams.scoping import current_team, get_for_team_or_404
from dashboard.web import charts
from dashboard.web.tables import Column, Table, csv_response, page_query, sort_params, sort_tables

HOUR = dt.timedelta(hours=1)
UNPRICED = "unpriced"
LIST_ROWS = 200  # the largest emitters first; the CSV has every row
KIND_LABELS = dict(WorkloadKind.choices)
KIND_MESSAGE = f"Kind must be one of {', '.join(JOB_KINDS)}."
NOTEBOOK_KIND_MESSAGE = f"Kind must be one of {', '.join(INTERACTIVE_KINDS)}."
WORKLOAD_FIELDS = (
    "id",
    "kind",
    "name",
    "region",
    "status",
    "instance_type",
    "instance_count",
    "instance_groups",
    "spot",
    "tuning_job_id",
    "created_time",
    "start_time",
    "end_time",
    "deleted_at",
    "tags",
    "auto_stop",
    "lifecycle_config_name",
    "domain_id",
    "space_name",
    "user_profile_name",
    "app_type",
    "account__account_id",
    "account__name",
)
NOTEBOOK_ALERT_KIND = "notebook-idle"
SUMMED_FIGURES = ("instance_hours", "energy_kwh", "co2e_kg", "embodied_co2e_kg")
DETAIL_FIGURES = (
    "instance_hours",
    "spot_instance_hours",
    "cpu_util_pct",
    "gpu_util_pct",
    "gpu_util_max_pct",
    "energy_kwh",
    "co2e_kg",
    "embodied_co2e_kg",
    "cost_usd",
)
TREND_FIGURES = ("co2e_kg", "embodied_co2e_kg", "energy_kwh")
TREND_STEPS = ((31, dt.timedelta(days=1), "day"), (190, dt.timedelta(days=7), "week"))


@dataclass(frozen=True)
class CostColumn(Column):
    """A cost: "unpriced" on the page where no list price is known (an empty cell in the CSV)."""

    def text(self, row: dict) -> str:
        return UNPRICED if self.value(row) is None else super().text(row)


def job_link(row: dict) -> str:
    return reverse("training-job", args=[int(row["workload_id"])])


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _hardware(row: dict) -> str:
    """'ml.p4d.24xlarge × 2', or every instance group of a heterogeneous cluster."""
    groups = row.get("instance_groups") or []
    if groups:
        return ", ".join(f"{g.get('instance_type', '?')} × {g.get('instance_count', 1)}" for g in groups)
    return f"{row['instance_type'] or '?'} × {row['instance_count']}"


def _duration_hours(row: dict, now: dt.datetime) -> float | None:
    start = row.get("start_time")
    if start is None:
        return None
    return ((row.get("end_time") or now) - start).total_seconds() / 3600


def _ran_in(row: dict, start: dt.datetime, end: dt.datetime) -> bool:
    """A job whose run [start, end or now) meets the period; a notebook or app not deleted before it."""
    if row["kind"] in INTERACTIVE_KINDS:
        began = row.get("created_time") or row.get("start_time")
        return (row["deleted_at"] is None or row["deleted_at"] >= start) and (began is None or began < end)
    began = row.get("start_time") or row.get("created_time")
    return began is not None and began < end and (row["end_time"] is None or row["end_time"] > start)


def team_workloads(team, kinds) -> list[dict]:
    if team is None:
        return []
    return list(
        Workload.objects.filter(account__team=team, kind__in=list(kinds)).values(*WORKLOAD_FIELDS).order_by("name")
    )


def _matches(view: filters.Filters, row: dict) -> bool:
    return view.matches(row)  # account__account_id, region, tags: the pages' rule for endpoints, here for workloads


def totals_by_id(frame: pd.DataFrame) -> dict[int, dict]:
    if frame.empty:
        return {}
    return {int(row["workload_id"]): row for row in frame.to_dict("records")}


def parse_kind(query, allowed) -> tuple[str, str | None]:
    kind = query.get("kind", "")
    if kind and kind not in allowed:
        return "", KIND_MESSAGE if allowed == JOB_KINDS else NOTEBOOK_KIND_MESSAGE
    return kind, None


def _view(request, rows: list[dict], now: dt.datetime, **defaults) -> filters.Filters:
    return filters.parse(request.GET, now.date(), teams=filters.team_tags(rows), now=now, **defaults)


def _scoped(accounts: list[dict], view: filters.Filters) -> list[dict]:
    return [a for a in accounts if not view.account or a["account_id"] == view.account]


# --- /training/ ---------------------------------------------------------------------------------------------------


def footprint_columns() -> list[Column]:
    return [
        Column("instance_hours", "Instance-hours", 1),
        Column("cpu_util_pct", "CPU (%)", 1, help="Mean per vCPU, weighted by instance-hours with host metrics"),
        Column("gpu_util_pct", "GPU (%)", 1, help="Mean per GPU, weighted by instance-hours with host metrics"),
        Column("energy_kwh", "Energy (kWh)", 3),
        Column("co2e_kg", "Operational CO2e (kg)", 3, help="Location-based: the grid the load draws from"),
        Column("embodied_co2e_kg", "Embodied CO2e (kg)", 3),
        CostColumn("cost_usd", "Cost (USD)", 2, help="On-demand list price (Spot: the billable share); unpriced: none"),
    ]


def job_rows(workloads: list[dict], totals: dict[int, dict], now: dt.datetime) -> list[dict]:
    rows = []
    for w in workloads:
        figures = totals.get(w["id"], {})
        rows.append(
            {
                **{name: figures.get(name) for name in wq.TOTAL_COLUMNS},
                "workload_id": w["id"],
                "name": w["name"],
                "kind": w["kind"],
                "kind_label": KIND_LABELS.get(w["kind"], w["kind"]),
                "status": w["status"],
                "hardware": _hardware(w),
                "spot_label": "Spot" if w["spot"] else "",
                "start": w["start_time"].strftime("%Y-%m-%d %H:%M") if w["start_time"] else "",
                "duration_hours": _duration_hours(w, now),
                "account": w["account__name"],
                "region": w["region"],
                "team": (w["tags"] or {}).get("team", ""),
                "project": (w["tags"] or {}).get("project", ""),
                "tuning_job_id": w["tuning_job_id"],
                "instance_hours": figures.get("instance_hours", 0.0),
                "energy_kwh": figures.get("energy_kwh", 0.0),
                "co2e_kg": figures.get("co2e_kg", 0.0),
                "embodied_co2e_kg": figures.get("embodied_co2e_kg", 0.0),
            }
        )
    rows.sort(key=lambda row: (-(_number(row["co2e_kg"]) or 0.0), row["name"]))
    return rows


def jobs_table(rows: list[dict], empty: str) -> Table:
    columns = [
        Column("name", "Job", link=job_link),
        Column("kind_label", "Kind", css="brief-wrap"),
        Column("status", "Status", css="brief-wrap"),
        Column("hardware", "Instances", css="type-wrap"),
        Column("spot_label", "Spot", help="Managed Spot training: billed for the billable seconds only"),
        Column("start", "Start (UTC)"),
        Column("duration_hours", "Duration (h)", 2, help="Start to end, or to now while it runs"),
        *footprint_columns(),
        Column("account", "Account"),
        Column("region", "Region"),
        Column("team", "Team (tag)", css="brief-wrap"),
        Column("project", "Project (tag)", css="brief-wrap"),
    ]
    return Table("jobs", "Jobs", columns, rows, empty=empty, page_rows=LIST_ROWS)


def label_table(rows: list[dict], label: str, title: str) -> Table:
    """The jobs' figures added up per ``label`` tag ("team" or "project"); untagged jobs together."""
    sums: dict[str, dict] = {}
    for row in rows:
        key = row[label] or filters.UNTAGGED
        into = sums.setdefault(key, {label: key, "jobs": 0, **dict.fromkeys(SUMMED_FIGURES, 0.0), "cost_usd": None})
        into["jobs"] += 1
        for name in SUMMED_FIGURES:
            into[name] += _number(row.get(name)) or 0.0
        if (cost := _number(row.get("cost_usd"))) is not None:
            into["cost_usd"] = (into["cost_usd"] or 0.0) + cost
    table_rows = sorted(sums.values(), key=lambda row: (-row["co2e_kg"], row[label]))
    columns = [
        Column(label, f"{label.capitalize()} (tag)"),
        Column("jobs", "Jobs", 0),
        Column("instance_hours", "Instance-hours", 1),
        Column("energy_kwh", "Energy (kWh)", 3),
        Column("co2e_kg", "Operational CO2e (kg)", 3),
        Column("embodied_co2e_kg", "Embodied CO2e (kg)", 3),
        CostColumn("cost_usd", "Cost (USD)", 2, help="The priced jobs' list cost; unpriced: none of them priced"),
    ]
    return Table(f"by-{label}", title, columns, table_rows, empty="No job ran in this period.")


def tuning_section(accounts, view, job_list: list[dict], in_view_ids: set[int]) -> tuple[Table, list[dict]]:
    """Tuning jobs (``tuning_totals``) as a table, and each one's children (the jobs' rows) for the expandable list."""
    frame = wq.tuning_totals(accounts, view.start_time, view.end_time)
    children: dict[int, list[dict]] = {}
    for row in job_list:
        if row["tuning_job_id"] is not None:
            children.setdefault(int(row["tuning_job_id"]), []).append(row)
    rows = []
    for row in frame.to_dict("records") if not frame.empty else []:
        pk = int(row["tuning_job_id"])
        kids = children.get(pk, [])
        if view.narrows_endpoints and not any(k["workload_id"] in in_view_ids for k in kids):
            continue
        rows.append({**row, "children_rows": kids})
    rows.sort(key=lambda row: (-(_number(row["co2e_kg"]) or 0.0), row["name"]))
    columns = [
        Column("name", "Tuning job"),
        Column("strategy", "Strategy"),
        Column("max_parallel_jobs", "Max parallel", 0),
        Column("max_jobs", "Max jobs", 0),
        Column("warm_start_type", "Warm start"),
        Column("status", "Status"),
        Column("children", "Training jobs", 0, help="Children with hours in the period"),
        Column("instance_hours", "Instance-hours", 1),
        Column("energy_kwh", "Energy (kWh)", 3),
        Column("co2e_kg", "Operational CO2e (kg)", 3),
        Column("embodied_co2e_kg", "Embodied CO2e (kg)", 3),
        CostColumn("cost_usd", "Cost (USD)", 2),
        Column("account_id", "Account"),
        Column("region", "Region"),
    ]
    table = Table("tuning", "Hyperparameter tuning jobs", columns, rows, empty="No tuning job ran in this period.")
    return table, rows


def trend_buckets(start: dt.datetime, end: dt.datetime) -> tuple[str, list[tuple[dt.datetime, dt.datetime]]]:
    """The trend's buckets: days up to a month, then weeks up to ~half a year, then 30-day spans (each bucket is one
    ``workload_totals`` call: the one definition of the figures, at a bounded number of queries)."""
    days = (end - start) / dt.timedelta(days=1)
    step, grain = next(
        ((step, grain) for most, step, grain in TREND_STEPS if days <= most), (dt.timedelta(days=30), "month")
    )
    first = start.replace(hour=0) if grain == "day" else start
    buckets, at = [], first
    while at < end:
        buckets.append((max(at, start), min(at + step, end)))
        at += step
    return grain, buckets


def kind_trend(accounts, view, kinds, ids: list[int] | None) -> pd.DataFrame:
    """kg CO2e per bucket and kind: ``workload_queries.kind_series`` over the UTC days the period touches (three
    queries); under a tag filter, which it does not take, ``workload_totals`` of the jobs in view over each bucket."""
    grain, buckets = trend_buckets(view.start_time, view.end_time)
    columns = ["time", "kind", "grain", *TREND_FIGURES]
    if not view.tag:
        team_tag = view.team or None
        frame = wq.kind_series(accounts, view.start, view.end, grain, region=view.region, team_tag=team_tag)
        frame = frame[frame["kind"].isin(list(kinds))]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        return frame.assign(time=_utc(frame["bucket"]), grain=grain)[columns].reset_index(drop=True)
    out = []
    for start, end in buckets:
        frame = wq.workload_totals(accounts, start, end, kind=list(kinds), ids=ids)
        sums = frame.groupby("kind")[list(TREND_FIGURES)].sum() if not frame.empty else None
        for kind in kinds:
            values = sums.loc[kind] if sums is not None and kind in sums.index else {}
            figures = {name: float(values.get(name, 0.0)) for name in TREND_FIGURES}
            out.append({"time": start, "kind": kind, "grain": grain, **figures})
    return pd.DataFrame(out, columns=columns)


def _utc(values) -> pd.Series:
    """Dates or instants (naive: UTC) as naive UTC timestamps, as the charts' axes take them."""
    return pd.to_datetime(pd.Series(values), utc=True).dt.tz_localize(None)


def kind_chart(chart_id: str, trend: pd.DataFrame, title: str) -> dict:
    data: list[dict] = []
    grain = trend["grain"].iloc[0] if not trend.empty else "day"
    hours = charts.BUCKET_HOURS.get(grain, 24.0)
    times = pd.Series(_utc(trend["time"]).unique()) if not trend.empty else pd.Series(dtype="datetime64[ns]")
    shown = trend[trend["co2e_kg"] + trend["embodied_co2e_kg"] > 0] if not trend.empty else trend
    for index, kind in enumerate(k for k in dict.fromkeys(trend["kind"]) if k in set(shown["kind"])):
        rows = trend[trend["kind"] == kind]
        trace = {
            "name": f"{KIND_LABELS.get(kind, kind)} (kg CO2e)",
            "x": [t.isoformat() for t in _utc(rows["time"])],
            "marker": {"color": charts.PALETTE[index % len(charts.PALETTE)]},
        }
        values = [round(float(v), 6) for v in rows["co2e_kg"]]
        data += charts.bar_traces(trace, values, [""] * len(values), "%{y:.3f} kg", hours)
    chart_layout = charts.layout(
        title,
        "kg CO2e (operational, location-based)",
        barmode="stack",
        xaxis=charts.time_axis(times, hours),
        annotations=charts.explanations(charts.NO_DATA if not data else "", []),
    )
    return charts.figure(chart_id, data, chart_layout)


@require_GET
def training_list(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    accounts = reports.team_accounts(team) if team else []
    workloads = team_workloads(team, JOB_KINDS)
    now = timezone.now()
    view = _view(request, workloads, now)
    kind, kind_error = parse_kind(request.GET, JOB_KINDS)
    scope = _scoped(accounts, view)
    kinds = [kind] if kind else list(JOB_KINDS)
    frame = wq.workload_totals(scope, view.start_time, view.end_time, kind=kinds)
    totals = totals_by_id(frame)
    shown = [
        w
        for w in workloads
        if w["kind"] in kinds
        and _matches(view, w)
        and (w["id"] in totals or _ran_in(w, view.start_time, view.end_time))
    ]
    rows = job_rows(shown, totals, now)
    ids = {row["workload_id"] for row in rows}
    # Tuning jobs are training: on a processing or transform view their children are not among the figures shown.
    tuning, tuning_rows = tuning_section(scope if kind in ("", None, "training") else [], view, rows, ids)
    tables = [
        jobs_table(
            rows,
            "No job ran in this period." if workloads else "No training, processing or transform job collected yet.",
        ),
        label_table(rows, "project", "By project"),
        label_table(rows, "team", "By team"),
        tuning,
    ]
    page_params = {**view.params(), "kind": kind}
    errors = {**view.errors, **({"kind": kind_error} if kind_error else {})}
    errors.update(sort_tables(tables, request.GET, page_params))
    if wanted := request.GET.get("csv"):
        return csv_response(tables, wanted, f"wattson-training-{view.start}-{view.end}")
    trend = kind_trend(scope, view, kinds, sorted(ids) if view.narrows_endpoints else None)
    summary = {
        name: sum(_number(row.get(name)) or 0.0 for row in rows)
        for name in ("instance_hours", "energy_kwh", "co2e_kg", "embodied_co2e_kg")
    }
    priced = [c for row in rows if (c := _number(row.get("cost_usd"))) is not None]
    summary["cost_usd"] = sum(priced) if priced else None
    return render(
        request,
        "dashboard/training_list.html",
        {
            "view": view,
            "errors": errors,
            "kind": kind,
            "kinds": [(k, KIND_LABELS[k]) for k in JOB_KINDS],
            "tables": tables,
            "tuning_rows": tuning_rows,
            "summary": summary,
            "jobs": len(rows),
            "periods": filters.PERIODS,
            "query": page_query(page_params, tables),
            "filter_query": view.query(),
            "sort_fields": sort_params(tables),
            "chart": kind_chart("training-trend-chart", trend, "Operational CO2e by kind (whole UTC days)"),
            "accounts": accounts,
            "regions": sorted({w["region"] for w in workloads}),
            "teams": sorted(filters.team_tags(workloads)),
        },
    )


# --- /training/<pk>/ ----------------------------------------------------------------------------------------------


def job_window(workload: Workload, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The job's whole life in whole hours: from the hour it started (or was created) to the end of the hour it
    ended in (or of the current hour while it runs)."""
    began = workload.start_time or workload.created_time or workload.first_seen
    ended = workload.end_time or workload.deleted_at or now
    start = began.replace(minute=0, second=0, microsecond=0)
    end = ended.replace(minute=0, second=0, microsecond=0)
    end = end if end == ended else end + HOUR  # the hour it ended in, whole
    return start, max(end, start + HOUR)


def _series_times(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["hour"], utc=True).dt.tz_localize(None)


def utilization_chart(series: pd.DataFrame) -> dict:
    """CPU, GPU and GPU memory per hour (normalised per vCPU / GPU, mean over hosts), per instance type."""
    data: list[dict] = []
    times = _series_times(series) if not series.empty else pd.Series(dtype="datetime64[ns]")
    metrics = (
        ("cpu_util_pct", "CPU", "solid"),
        ("gpu_util_pct", "GPU", "dash"),
        ("gpu_memory_util_pct", "GPU memory", "dot"),
    )
    for index, (instance_type, rows) in enumerate(
        series.groupby("instance_type", sort=True) if not series.empty else []
    ):
        color = charts.PALETTE[index % len(charts.PALETTE)]
        x = [t.isoformat() for t in _series_times(rows)]
        for column, label, dash in metrics:
            if rows[column].notna().any():
                trace = {
                    "name": f"{charts.text(instance_type)} {label} %",
                    "x": x,
                    "line": {"color": color, "dash": dash},
                }
                values = [None if pd.isna(v) else round(float(v), 2) for v in rows[column]]
                data += charts.line_traces(trace, values, [""] * len(values), "%{y:.1f} %")
    empty = charts.NO_DATA if series.empty else ("" if data else "No host metrics: utilization assumed at the default")
    chart_layout = charts.layout(
        "Utilization per hour (normalised per vCPU / GPU, mean over hosts)",
        "%",
        xaxis=charts.time_axis(times, 1.0),
        annotations=charts.explanations(empty, []),
    )
    chart_layout["yaxis"]["range"] = [0, 100]
    return charts.figure("utilization-chart", data, chart_layout)


def host_gpu_chart(series: pd.DataFrame) -> dict | None:
    """Each host's GPU % per hour (``gpu_util_by_host``); None for a job without per-host GPU data."""
    by_host: dict[str, dict] = {}
    for row in series.to_dict("records") if not series.empty else []:
        for host, value in (row.get("gpu_util_by_host") or {}).items():
            by_host.setdefault(str(host), {})[pd.Timestamp(row["hour"]).tz_convert(None)] = value
    if not by_host:
        return None
    times = sorted({t for values in by_host.values() for t in values})
    data: list[dict] = []
    for index, host in enumerate(sorted(by_host)):
        values = [by_host[host].get(t) for t in times]
        color = charts.PALETTE[index % len(charts.PALETTE)]
        trace = {"name": f"{charts.text(host)} GPU %", "x": [t.isoformat() for t in times], "line": {"color": color}}
        rounded = [None if v is None else round(float(v), 2) for v in values]
        data += charts.line_traces(trace, rounded, [""] * len(values), "%{y:.1f} %")
    title = "GPU utilization per host (mean over the host's GPUs)"
    chart_layout = charts.layout(title, "%", xaxis=charts.time_axis(pd.Series(times), 1.0))
    chart_layout["yaxis"]["range"] = [0, 100]
    return charts.figure("host-gpu-chart", data, chart_layout)


def energy_chart(series: pd.DataFrame) -> dict:
    """Operational and embodied CO2e (kg, stacked bars) and energy (kWh, right axis) per hour."""
    hourly = (
        series.assign(time=_series_times(series)).groupby("time")[["energy_kwh", "co2e_kg", "embodied_co2e_kg"]].sum()
        if not series.empty
        else pd.DataFrame(columns=["energy_kwh", "co2e_kg", "embodied_co2e_kg"])
    )
    times = [t.isoformat() for t in hourly.index]
    notes = [""] * len(times)
    data = [
        *charts.bar_traces(
            {"name": "Operational CO2e, location-based (kg)", "x": times, "marker": {"color": charts.ACCENT}},
            [round(float(v), 6) for v in hourly["co2e_kg"]],
            notes,
            "%{y:.3f} kg",
            1.0,
        ),
        *charts.bar_traces(
            {"name": "Embodied CO2e (kg)", "x": times, "marker": {"color": charts.EMBODIED}},
            [round(float(v), 6) for v in hourly["embodied_co2e_kg"]],
            notes,
            "%{y:.3f} kg",
            1.0,
        ),
        *charts.line_traces(
            {"name": "Energy (kWh)", "x": times, "yaxis": "y2", "line": {"color": charts.INK, "width": 1.5}},
            [round(float(v), 6) for v in hourly["energy_kwh"]],
            notes,
            "%{y:.3f} kWh",
        ),
    ]
    chart_layout = charts.layout(
        "CO2e and energy per hour",
        "kg CO2e",
        barmode="stack",
        xaxis=charts.time_axis(pd.Series(hourly.index), 1.0),
        yaxis2={"title": {"text": "kWh"}, "overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False},
        annotations=charts.explanations(charts.NO_DATA if hourly.empty else "", []),
    )
    return charts.figure("footprint-chart", data, chart_layout)


def series_table(series: pd.DataFrame) -> Table:
    rows = (
        series.assign(period=_series_times(series).dt.strftime("%Y-%m-%d %H:00")).to_dict("records")
        if not series.empty
        else []
    )
    columns = [
        Column("period", "Hour (UTC)"),
        Column("instance_type", "Instance type"),
        Column("instance_hours", "Instance-hours", 2),
        Column("hosts", "Hosts reporting", 0),
        Column("cpu_util_pct", "CPU (%)", 1),
        Column("gpu_util_pct", "GPU (%)", 1),
        Column("gpu_util_max_pct", "GPU max (%)", 1),
        Column("gpu_memory_util_pct", "GPU memory (%)", 1),
        Column("energy_kwh", "Energy (kWh)", 4),
        Column("co2e_kg", "Operational CO2e (kg)", 4),
        Column("embodied_co2e_kg", "Embodied CO2e (kg)", 4),
    ]
    return Table("hours", "Per hour", columns, rows, empty="No estimated hour yet.", long=True)


def training_facts(workload: Workload) -> list[tuple[str, str]]:
    """Training only: training vs billable time (Spot pays the billable share) and the warm pool."""
    facts = []
    trained, billed = workload.training_seconds, workload.billable_seconds
    if trained is not None:
        facts.append(("Training time", f"{trained / 3600:.2f} h ({trained:,} s)"))
    if billed is not None:
        share = f" ({100 * billed / trained:.0f} % of training time)" if trained else ""
        facts.append(("Billable time", f"{billed / 3600:.2f} h ({billed:,} s){share}"))
    kept = workload.keep_alive_seconds
    facts.append(("Warm pool", f"kept alive {kept} s" if kept else "none"))
    return facts


def configuration(workload: Workload) -> list[tuple[str, str]]:
    """The workload's configuration as (label, text) pairs, only what it has."""
    facts = [
        ("Kind", workload.get_kind_display()),
        ("Status", " · ".join(s for s in (workload.status, workload.secondary_status) if s) or "—"),
        ("Account", f"{workload.account.name} ({workload.account.account_id})"),
        ("Region", workload.region),
        ("Instances", _hardware(workload.__dict__)),
        ("Managed Spot", "yes" if workload.spot else "no"),
    ]
    if workload.kind == WorkloadKind.TRAINING:
        facts += training_facts(workload)
    optional = (
        ("Max runtime", f"{(workload.max_runtime_seconds or 0) / 3600:.1f} h", workload.max_runtime_seconds),
        ("Volume", f"{workload.volume_size_gb or 0:g} GB", workload.volume_size_gb),
        ("Framework", workload.framework, workload.framework),
        ("Family", workload.family, workload.family),
        (
            "Created",
            f"{workload.created_time:%Y-%m-%d %H:%M} UTC" if workload.created_time else "",
            workload.created_time,
        ),
        ("Started", f"{workload.start_time:%Y-%m-%d %H:%M} UTC" if workload.start_time else "", workload.start_time),
        ("Ended", f"{workload.end_time:%Y-%m-%d %H:%M} UTC" if workload.end_time else "", workload.end_time),
    )
    facts += [(label, text) for label, text, present in optional if present]
    if workload.kind in JOB_KINDS and workload.end_time is None and workload.start_time:
        facts.append(("Ended", "still running"))
    if workload.kind in INTERACTIVE_KINDS:
        facts.append(("Auto-stop", auto_stop_text(workload.__dict__)))
    return facts


@require_GET
def training_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = current_team(request)
    workload = get_for_team_or_404(
        Workload.objects.select_related("account", "tuning_job"), "account__team", team, pk=pk
    )
    now = timezone.now()
    start, end = job_window(workload, now)
    account = [{"pk": workload.account_id, "account_id": workload.account.account_id, "name": workload.account.name}]
    totals = wq.workload_totals(account, start, end, ids=[workload.pk])
    figures = totals.iloc[0].to_dict() if not totals.empty else {}
    series = wq.workload_series(workload.pk, start, end)
    tables = [series_table(series)]
    if wanted := request.GET.get("csv"):
        return csv_response(tables, wanted, f"wattson-{workload.name}")
    sort_tables(tables, request.GET, {})
    chart_list = [utilization_chart(series)]
    if host_chart := host_gpu_chart(series):
        chart_list.append(host_chart)
    chart_list.append(energy_chart(series))
    return render(
        request,
        "dashboard/training_detail.html",
        {
            "workload": workload,
            "interactive": workload.kind in INTERACTIVE_KINDS,
            "window": (start, end),
            "figures": {name: _number(figures.get(name)) for name in DETAIL_FIGURES},
            "facts": configuration(workload),
            "tags": sorted((workload.tags or {}).items()),
            "charts": chart_list,
            "tables": tables,
            "query": page_query({}, tables),
            "recommendations": list(
                workload.recommendations.filter(status__in=("open", "snoozed"))
                .select_related("account", "endpoint")
                .order_by("-monthly_co2e_kg_saved")
            ),
            "today": now.date(),
        },
    )


# --- /notebooks/ --------------------------------------------------------------------------------------------------


def auto_stop_text(row: dict) -> str:
    if row.get("auto_stop") is None:
        return "unknown"
    if not row["auto_stop"]:
        return "no"
    if row.get("lifecycle_config_name"):
        return f"yes (lifecycle configuration {row['lifecycle_config_name']})"
    return "yes (idle shutdown)" if row["kind"] == WorkloadKind.STUDIO_APP else "yes"


def notebook_rows(workloads: list[dict], totals: dict[int, dict], alerts: dict[int, Alert]) -> list[dict]:
    rows = []
    for w in workloads:
        figures = totals.get(w["id"], {})
        alert = alerts.get(w["id"])
        where = "/".join(p for p in (w["domain_id"], w["space_name"] or w["user_profile_name"]) if p)
        rows.append(
            {
                **{name: figures.get(name) for name in wq.TOTAL_COLUMNS},
                "workload_id": w["id"],
                "name": w["name"],
                "kind": w["kind"],
                "kind_label": KIND_LABELS.get(w["kind"], w["kind"]),
                "instance_type": w["instance_type"],
                "status": "Deleted" if w["deleted_at"] else w["status"],
                "auto_stop_label": auto_stop_text(w),
                "studio": " ".join(p for p in (w["app_type"], where) if p),
                "account": w["account__name"],
                "region": w["region"],
                "hours": figures.get("hours", 0),
                "instance_hours": figures.get("instance_hours", 0.0),
                "energy_kwh": figures.get("energy_kwh", 0.0),
                "co2e_kg": figures.get("co2e_kg", 0.0),
                "embodied_co2e_kg": figures.get("embodied_co2e_kg", 0.0),
                "alert": f"idle since {alert.idle_since:%Y-%m-%d %H:%M} UTC" if alert else "",
                "alert_id": alert.pk if alert else None,
            }
        )
    rows.sort(key=lambda row: (-(_number(row["co2e_kg"]) or 0.0), row["name"]))
    return rows


def _alert_link(row: dict) -> str:
    return reverse("notifications") if row.get("alert_id") else ""


def notebooks_table(rows: list[dict], empty: str) -> Table:
    columns = [
        Column("name", "Name", link=job_link),
        Column("kind_label", "Kind"),
        Column("instance_type", "Instance type"),
        Column("status", "Status"),
        Column(
            "auto_stop_label",
            "Auto-stop",
            help="Notebook: an on-start lifecycle script that stops it when idle; "
            "Studio app: the space's or domain's idle shutdown",
        ),
        Column("studio", "Studio (app type, domain/space)", css="brief-wrap"),
        Column("hours", "Hours running", 0, help="Hours in the period with the instance in service"),
        Column("instance_hours", "Instance-hours", 1),
        Column("energy_kwh", "Energy (kWh)", 3),
        Column("co2e_kg", "Operational CO2e (kg)", 3),
        Column("embodied_co2e_kg", "Embodied CO2e (kg)", 3),
        CostColumn("cost_usd", "Cost (USD)", 2),
        Column("alert", "Open alert", link=_alert_link),
        Column("account", "Account"),
        Column("region", "Region"),
    ]
    return Table(
        "notebooks",
        "Notebook instances and Studio apps",
        columns,
        rows,
        empty=empty,
        highlight=lambda row: "deleted" if row["status"] == "Deleted" else ("alerted" if row["alert"] else ""),
        page_rows=LIST_ROWS,
    )


def open_alerts(team, ids: list[int]) -> dict[int, Alert]:
    """The open idle alert of each notebook instance or Studio app (at most one each: a constraint)."""
    if team is None or not ids:
        return {}
    found = Alert.objects.filter(team=team, workload_id__in=ids, kind=NOTEBOOK_ALERT_KIND, resolved_at__isnull=True)
    return {alert.workload_id: alert for alert in found}


@require_GET
def notebooks(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    accounts = reports.team_accounts(team) if team else []
    workloads = team_workloads(team, INTERACTIVE_KINDS)
    now = timezone.now()
    view = _view(request, workloads, now)
    kind, kind_error = parse_kind(request.GET, INTERACTIVE_KINDS)
    kinds = [kind] if kind else list(INTERACTIVE_KINDS)
    scope = _scoped(accounts, view)
    totals = totals_by_id(wq.workload_totals(scope, view.start_time, view.end_time, kind=kinds))
    shown = [
        w
        for w in workloads
        if w["kind"] in kinds
        and _matches(view, w)
        and (w["id"] in totals or _ran_in(w, view.start_time, view.end_time))
    ]
    alerts = open_alerts(team, [w["id"] for w in shown])
    rows = notebook_rows(shown, totals, alerts)
    tables = [
        notebooks_table(
            rows,
            "Nothing ran in this period." if workloads else "No notebook instance or Studio app collected yet.",
        )
    ]
    page_params = {**view.params(), "kind": kind}
    errors = {**view.errors, **({"kind": kind_error} if kind_error else {})}
    errors.update(sort_tables(tables, request.GET, page_params))
    if wanted := request.GET.get("csv"):
        return csv_response(tables, wanted, f"wattson-notebooks-{view.start}-{view.end}")
    return render(
        request,
        "dashboard/notebooks.html",
        {
            "view": view,
            "errors": errors,
            "kind": kind,
            "kinds": [(k, KIND_LABELS[k]) for k in INTERACTIVE_KINDS],
            "tables": tables,
            "shown": len(rows),
            "without_auto_stop": sum(
                1 for row in rows if row["auto_stop_label"] == "no" and row["status"] != "Deleted"
            ),
            "open_alerts": len(alerts),
            "periods": filters.PERIODS,
            "query": page_query(page_params, tables),
            "filter_query": view.query(),
            "sort_fields": sort_params(tables),
            "accounts": accounts,
            "regions": sorted({w["region"] for w in workloads}),
            "teams": sorted(filters.team_tags(workloads)),
        },
    )
