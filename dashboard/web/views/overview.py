"""The team's overview: energy, CO2e (operational with its range, and embodied), cost where a price is known,
idle share and carbon per inference over a period, as a trend and broken down by any dimension."""

from __future__ import annotations

import pandas as pd
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.footprint import billed, filters, workload_queries
from dashboard.footprint import queries as reports
from dashboard.teams.scoping import current_team
from dashboard.web import charts
from dashboard.web.tables import Column, Table, csv_response, page_query, sort_params, sort_tables

TOP_EMITTERS = 10


def endpoint_link(row: dict) -> str:
    return reverse("endpoint", args=[int(row["endpoint_id"])])


# The two CO2e figures of GHG Protocol Scope 2 dual reporting, as the tiles' and columns' tooltips say them.
LOCATION_HELP = "Location-based: the emissions of the grid the load draws from (the default figure)"
MARKET_HELP = (
    "Market-based: after AWS's renewable-energy purchases (GHG Protocol Scope 2 dual reporting); "
    "— while any hour in it was estimated before methodology 2.0.0 and not yet re-estimated"
)


def footprint_columns() -> list[Column]:
    return [
        Column("energy_kwh", "Energy (kWh)", 2),
        Column("co2e_kg", "Operational CO2e (kg)", 3, help=LOCATION_HELP),
        Column("co2e_market_kg", "CO2e (market-based, kg)", 3, help=MARKET_HELP),
        Column("co2e_kg_low", "CO2e low (kg)", 3),
        Column("co2e_kg_high", "CO2e high (kg)", 3),
        Column("embodied_co2e_kg", "Embodied CO2e (kg)", 3),
        Column("cost_usd", "Cost (USD)", 2),
        Column("priced_pct", "Priced (% of instance-hours)", 0),
        Column("idle_energy_pct", "Idle energy (%)", 1),
        Column("gco2e_per_1k_invocations", "g CO2e / 1k inferences", 3),
        Column("invocations", "Inferences", 0),
        Column("instance_hours", "Instance-hours", 1),
    ]


def breakdown_columns(group: str) -> list[str]:
    """The dimension columns of the breakdown by ``group``: the group, and by endpoint its region."""
    return [group, "region"] if group == "endpoint" else [group]


def breakdown_table(rows: pd.DataFrame, group: str, label: str) -> Table:
    key = Column(group, label, link=endpoint_link if group == "endpoint" else None)
    extra = [Column("region", "Region")] if group == "endpoint" else []
    return Table("breakdown", f"By {label.lower()}", [key, *extra, *footprint_columns()], rows.to_dict("records"))


def top_emitters_table(by_endpoint: pd.DataFrame) -> Table:
    columns = [
        Column("endpoint", "Endpoint", link=endpoint_link),
        Column("region", "Region"),
        Column("total_co2e_kg", "Total CO2e (kg)", 3),
        *footprint_columns(),
    ]
    return Table(
        "top-emitters", f"Top {TOP_EMITTERS} emitters", columns, by_endpoint.head(TOP_EMITTERS).to_dict("records")
    )


def trend_table(trend: pd.DataFrame, grain: str) -> Table:
    fmt = "%Y-%m-%d %H:00" if grain == "hour" else "%Y-%m-%d"
    rows = trend.assign(period=trend["time"].dt.strftime(fmt)).to_dict("records")
    return Table(
        "trend",
        f"Per {grain}",
        [Column("period", f"{grain.capitalize()} (UTC)"), *footprint_columns()],
        rows,
        long=True,
    )


STAGE_LABELS = {
    "inference": "Inference (endpoints)",
    "training": "Training jobs",
    "processing": "Processing jobs",
    "transform": "Batch transform jobs",
    "notebooks": "Notebooks and Studio apps",
    "storage": "Storage (logs, data capture)",
}


def lifecycle_table(split: pd.DataFrame) -> Table:
    """The footprint by lifecycle stage (``workload_queries.lifecycle_split``), one row per stage in its order."""
    rows = [{**row, "stage_label": STAGE_LABELS.get(row["stage"], row["stage"])} for row in split.to_dict("records")]
    columns = [
        Column("stage_label", "Lifecycle stage"),
        Column("energy_kwh", "Energy (kWh)", 2),
        Column("co2e_kg", "Operational CO2e (kg)", 3, help=LOCATION_HELP),
        Column("embodied_co2e_kg", "Embodied CO2e (kg)", 3),
        Column("cost_usd", "Cost (USD)", 2),
        Column("instance_hours", "Instance-hours", 1),
    ]
    return Table("lifecycle", "Footprint by lifecycle stage", columns, rows)


def lifecycle_chart(split: pd.DataFrame) -> dict:
    rows = split.assign(stage_label=[STAGE_LABELS.get(stage, stage) for stage in split["stage"]])
    return charts.breakdown_bars(
        "lifecycle-chart", rows, "stage_label", "CO2e by lifecycle stage", limit=len(workload_queries.STAGES)
    )


def group_choices(endpoints: list[dict]) -> list[tuple[str, str]]:
    tag_keys = sorted({key for endpoint in endpoints for key in (endpoint["tags"] or {})} - {filters.TEAM_TAG})
    return [*reports.GROUPS.items(), *((f"tag:{key}", f"Tag {key}") for key in tag_keys)]


def kept_group_sort(query, group: str, choices: list[tuple[str, str]]) -> dict[str, str]:
    """The URL's orders, with a sort by the breakdown's first column carried over to a new dimension: the filter
    bar keeps ``sort=region`` when "Break down by" changes to team, which then means the team column."""
    params = {name: query.get(name, "") for name in query}
    sort = params.get("sort", "")
    key = sort.removeprefix("-")
    # Only a dimension the new breakdown has no column for (by endpoint, the table also has a Region column).
    if key in dict(choices) and key not in breakdown_columns(group):
        params["sort"] = f"{'-' if sort.startswith('-') else ''}{group}"
    return params


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    if team is None:
        return render(request, "dashboard/overview.html", {"state": "no-team"})
    accounts = reports.team_accounts(team)
    endpoints = reports.team_endpoints(team)
    now = timezone.now()
    view = filters.parse(request.GET, now.date(), teams=filters.team_tags(endpoints), now=now)
    choices = group_choices(endpoints)
    group = request.GET.get("group", "team")
    errors = dict(view.errors)
    if group not in dict(choices):
        errors["group"] = f"Cannot break down by {group!r}; choose one of the listed dimensions."
        group = "team"
    shown = reports.in_view(endpoints, view)
    ids = [endpoint["id"] for endpoint in shown] if view.narrows_endpoints else None
    per_endpoint = reports.endpoint_totals(accounts, view, ids)
    series = (reports.hourly_series if view.grain == "hour" else reports.daily_series)(accounts, view, ids)
    totals = reports.label_columns(
        per_endpoint, endpoints, tag_key=group.removeprefix("tag:") if group.startswith("tag:") else ""
    )
    trend = reports.trend(series, view, collected=reports.collected_span(accounts, ids))
    by_endpoint = reports.breakdown(totals, "endpoint")
    by_group = by_endpoint if group == "endpoint" else reports.breakdown(totals, group)
    label = dict(choices)[group]
    scope = [account for account in accounts if not view.account or account["account_id"] == view.account]
    split = workload_queries.lifecycle_split(scope, view.start_time, view.end_time)
    tables = [
        breakdown_table(by_group, group, label),
        top_emitters_table(by_endpoint),
        trend_table(trend, view.grain),
        lifecycle_table(split),
    ]
    page_params = {**view.params(), "group": group if group != "team" else ""}
    errors.update(sort_tables(tables, kept_group_sort(request.GET, group, choices), page_params))
    if wanted := request.GET.get("csv"):
        return csv_response(tables, wanted, f"wattson-overview-{view.start}-{view.end}")
    context = {
        "state": _state(accounts, endpoints, totals, split),
        "has_endpoints": bool(endpoints),
        "view": view,
        "errors": errors,
        "group": group,
        "group_choices": choices,
        "summary": reports.summary(totals),
        "billed": billed.billed_view(accounts, view, ids),
        "co2e_help": {"location": LOCATION_HELP, "market": MARKET_HELP},
        "tables": tables,
        "periods": filters.PERIODS,
        "grains": filters.GRAINS,
        "accounts": accounts,
        "regions": sorted({e["region"] for e in endpoints}),
        "teams": sorted(filters.team_tags(endpoints)),
        "endpoints_in_view": len(shown),
        "query": page_query(page_params, tables),
        "filter_query": view.query(),
        "sort_fields": sort_params(tables),
        "charts": [
            charts.footprint_trend(
                "trend-chart", trend, f"CO2e and energy per {view.grain}", bars=len(trend) <= 120, grain=view.grain
            ),
            charts.breakdown_bars("breakdown-chart", by_group, group, f"CO2e by {label.lower()}"),
            lifecycle_chart(split),
        ],
        "lifecycle_narrowed": bool(view.region or view.team or view.tag),
    }
    return render(request, "dashboard/overview.html", context)


def _state(accounts: list[dict], endpoints: list[dict], totals: pd.DataFrame, split: pd.DataFrame) -> str:
    """What the page can show: data, or why not (the empty states say what to do next). A team with jobs or
    notebooks but no endpoint's hours in view still gets the footprint by lifecycle stage."""
    if not totals.empty:
        return "data"
    if endpoints or float(split["energy_kwh"].sum()) > 0 or float(split["instance_hours"].sum()) > 0:
        return "no-data-in-view"
    if accounts:
        return "waiting"
    return "no-accounts"
