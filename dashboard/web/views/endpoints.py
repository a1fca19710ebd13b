"""Endpoints: the team's list, and one endpoint's page — its configuration timeline drawn on every chart,
utilization per variant, energy and CO2e with their range, carbon per inference, and where the numbers come from."""

from __future__ import annotations

import pandas as pd
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from collectors.models import Endpoint, VariantConfig
from dashboard.footprint import billed, components, filters
from dashboard.footprint import queries as reports
from dashboard.footprint.measures import (
    UTILIZATION,
    finish_unknowns,
    finish_weighted,
    unknown_columns,
    weight_columns,
    with_unknowns,
)
from dashboard.teams.scoping import current_team, get_for_team_or_404
from dashboard.web import charts
from dashboard.web.tables import Column, Table, csv_response, page_query, sort_params, sort_tables
from dashboard.web.views.overview import footprint_columns

# The list's footprint columns leave out the CO2e range, the market-based figure and the priced share, so that its
# key columns fit a 1,440 px screen; the overview's breakdown by endpoint has every column.
LIST_LEAVES_OUT = ("co2e_market_kg", "co2e_kg_low", "co2e_kg_high", "priced_pct")
LIST_ROWS = 200  # the largest emitters first; a fleet of 1,000 is 21,000 cells, which the CSV carries whole
CONFIG_FIELDS = (
    "variant_name",
    "valid_from",
    "valid_to",
    "instance_type",
    "initial_instance_count",
    "current_instance_count",
    "serverless_memory_mb",
    "model_mode",
    "model_name",
    "accelerator_type",
    "min_instance_count",
    "max_instance_count",
    "endpoint_config_name",
    "inference_components",
    "metric_publish_seconds",
    "history_source",
)


def _link(row: dict) -> str:
    return reverse("endpoint", args=[int(row["endpoint_id"])])


def current_configs(team) -> dict[int, list[dict]]:
    configs = (
        VariantConfig.objects.filter(endpoint__account__team=team, valid_to__isnull=True)
        .values(
            "endpoint_id",
            "variant_name",
            "instance_type",
            "initial_instance_count",
            "current_instance_count",
            "serverless_memory_mb",
        )
        .order_by("variant_name")
    )
    by_endpoint: dict[int, list[dict]] = {}
    for config in configs:
        by_endpoint.setdefault(config["endpoint_id"], []).append(config)
    return by_endpoint


def hardware(configs: list[dict]) -> tuple[str, int]:
    """'ml.g5.2xlarge, ml.g5.xlarge' and the instances running now, over an endpoint's open variants."""
    kinds = sorted({c["instance_type"] or f"serverless {c['serverless_memory_mb']} MB" for c in configs})
    return ", ".join(kinds), sum(c["current_instance_count"] or 0 for c in configs)


SEARCH_MAX = 128  # characters of a name search kept (an endpoint name has at most 63)


def name_search(query) -> str:
    """The endpoint-name search of the URL (``q``), trimmed."""
    return query.get("q", "").strip()[:SEARCH_MAX]


def named(endpoints: list[dict], search: str) -> list[dict]:
    """The endpoints whose name contains ``search``, ignoring case (all of them for an empty search)."""
    needle = search.casefold()
    return [endpoint for endpoint in endpoints if needle in endpoint["name"].casefold()]


@require_GET
def endpoint_list(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    accounts = reports.team_accounts(team) if team else []
    endpoints = reports.team_endpoints(team) if team else []
    now = timezone.now()
    view = filters.parse(request.GET, now.date(), teams=filters.team_tags(endpoints), now=now)
    search = name_search(request.GET)
    in_view = reports.in_view(endpoints, view)
    shown = named(in_view, search)
    ids = [e["id"] for e in shown] if view.narrows_endpoints or search else None
    totals = reports.breakdown(
        reports.label_columns(reports.endpoint_totals(accounts, view, ids), endpoints), "endpoint"
    )
    by_id = totals.set_index("endpoint_id").to_dict("index") if not totals.empty else {}
    usage = reports.utilization_totals(accounts, view, ids)
    configs = current_configs(team)
    rows = []
    for endpoint in shown:
        kinds, instances = hardware(configs.get(endpoint["id"], []))
        rows.append(
            {
                "endpoint_id": endpoint["id"],
                "endpoint": endpoint["name"],
                "account": endpoint["account__name"],
                "region": endpoint["region"],
                "mode": endpoint["mode"],
                "status": "Deleted" if endpoint["deleted_at"] else endpoint["status"],
                "team": (endpoint["tags"] or {}).get(filters.TEAM_TAG, filters.UNTAGGED),
                "instance_types": kinds,
                "instances": instances,
                **usage.get(endpoint["id"], {}),
                **by_id.get(endpoint["id"], {}),
            }
        )
    rows.sort(key=lambda row: (-(row.get("total_co2e_kg") or 0), row["endpoint"]))
    columns = [
        Column("endpoint", "Endpoint", link=_link),
        Column("account", "Account"),
        Column("region", "Region"),
        Column("mode", "Mode", css="brief-wrap"),
        Column("status", "Status", css="brief-wrap"),
        Column("team", "Team (tag)", css="brief-wrap"),
        Column("instance_types", "Instance types", css="type-wrap"),
        Column("instances", "Instances now", 0),
        Column("cpu_util_pct", "CPU (%)", 1),
        Column("gpu_util_pct", "GPU (%)", 1),
        Column("memory_util_pct", "Memory (%)", 1),
        *(column for column in footprint_columns() if column.key not in LIST_LEAVES_OUT),
    ]
    table = Table(
        "endpoints",
        "Endpoints",
        columns,
        rows,
        empty="No endpoint matches these filters."
        if endpoints
        else "No endpoint collected yet: connect an AWS account and wait for the first collection.",
        highlight=lambda row: "deleted" if row["status"] == "Deleted" else "",
        page_rows=LIST_ROWS,
    )
    page_params = {**view.params(), "q": search}
    errors = {**view.errors, **sort_tables([table], request.GET, page_params)}
    if wanted := request.GET.get("csv"):
        return csv_response([table], wanted, f"wattson-endpoints-{view.start}-{view.end}")
    return render(
        request,
        "dashboard/endpoint_list.html",
        {
            "view": view,
            "errors": errors,
            "tables": [table],
            "periods": filters.PERIODS,
            "query": page_query(page_params, [table]),
            "filter_query": view.query(),
            "sort_fields": sort_params([table]),
            "search": search,
            "matching": len(shown),
            "in_view": len(in_view),
            "accounts": accounts,
            "regions": sorted({e["region"] for e in endpoints}),
            "teams": sorted(filters.team_tags(endpoints)),
        },
    )


def per_variant(frame: pd.DataFrame, grain: str) -> pd.DataFrame:
    """Utilization and instance count per variant and period of the grain, from ``reports.variant_series``."""
    numbers = ["instance_hours", "hours", *weight_columns()]
    rule = reports.RESAMPLE[grain]
    out = []
    for variant, rows in frame.groupby("variant_name"):
        sums = rows.groupby("time")[numbers].sum()
        if grain != "hour":
            sums = (sums.resample(rule, label="left", closed="left") if grain == "week" else sums.resample(rule)).sum()
        sums = finish_weighted(sums)
        # Mean instances running: instance-hours over the variant-hours they were counted in.
        sums["instances"] = sums["instance_hours"] / sums["hours"].where(sums["hours"] > 0)
        out.append(sums.reset_index().assign(variant_name=variant))
    return pd.concat(out, ignore_index=True)


def variants_table(frame: pd.DataFrame, configs: list[dict]) -> Table:
    open_configs = {c["variant_name"]: c for c in configs if c["valid_to"] is None}
    if frame.empty:
        names = ["variant", *UTILIZATION, *reports.SUMMED]
        table_frame = reports.add_ratios(pd.DataFrame(columns=names, dtype=float))
    else:
        numbers = [*reports.SUMMED, *weight_columns(), *unknown_columns()]
        sums = finish_unknowns(with_unknowns(frame).groupby("variant_name")[numbers].sum())
        table_frame = reports.add_ratios(finish_weighted(sums).rename_axis("variant").reset_index())
    records = []
    for row in table_frame.to_dict("records"):
        config = open_configs.get(row["variant"], {})
        kinds, instances = hardware([config]) if config else ("(removed)", 0)
        records.append({**row, "instance_type": kinds, "instances": instances})
    columns = [
        Column("variant", "Variant"),
        Column("instance_type", "Instance type now"),
        Column("instances", "Instances now", 0),
        Column("cpu_util_pct", "CPU (%)", 1),
        Column("gpu_util_pct", "GPU (%)", 1),
        Column("memory_util_pct", "Memory (%)", 1),
        *[c for c in footprint_columns() if c.key not in ("cost_usd", "priced_pct")],
    ]
    return Table("variants", "Variants over the period", columns, records, empty="No estimated hours in this period.")


def config_table(configs: list[dict]) -> Table:
    rows = [
        {
            **c,
            "kind": c["instance_type"] or f"serverless {c['serverless_memory_mb']} MB",
            "from": c["valid_from"].strftime("%Y-%m-%d %H:%M"),
            "to": c["valid_to"].strftime("%Y-%m-%d %H:%M") if c["valid_to"] else "now",
            "metrics_every": f"{c.get('metric_publish_seconds') or 60} s",
            "source": "CloudTrail" if c.get("history_source") == "cloudtrail" else "observed",
        }
        for c in sorted(configs, key=lambda c: (c["variant_name"], c["valid_from"]))
    ]
    columns = [
        Column("variant_name", "Variant"),
        Column("from", "From (UTC)"),
        Column("to", "To (UTC)"),
        Column("kind", "Instance type"),
        Column("initial_instance_count", "Instances (configured)", 0),
        Column("min_instance_count", "Min", 0),
        Column("max_instance_count", "Max", 0),
        Column("model_mode", "Model mode"),
        Column("endpoint_config_name", "Endpoint config"),
        Column("metrics_every", "Metrics every"),
        Column("source", "Known from"),
    ]
    return Table(
        "config-history",
        "Configuration history",
        columns,
        rows,
        empty="No configuration recorded yet.",
        highlight=lambda row: "current" if row["valid_to"] is None else "",
    )


SCALED_TO_ZERO = "scaled to zero — no instance cost of its own"
UNRESERVED_NOTE = "capacity no component reserved: the instances' idle draw nobody uses"


def reservation_now(component: dict) -> str:
    """'2 accelerators, 8 cores, 48 GB' reserved now (per-copy requirements x copies now)."""
    copies = component.get("copy_count") or 0
    parts = []
    for key, unit in (("accelerators_required", "accelerators"), ("cpu_cores_required", "cores")):
        if component.get(key) is not None:
            parts.append(f"{component[key] * copies:g} {unit}")
    if component.get("min_memory_mb") is not None:
        parts.append(f"{component['min_memory_mb'] * copies / 1024:g} GB")
    return ", ".join(parts) or "—"


def components_section(endpoint: Endpoint, view: filters.Filters, endpoint_energy_kwh: float) -> dict | None:
    """The endpoint's inference components over the period (``components.component_totals``): a table row per
    component and per variant's unreserved capacity, and the totals, which add up to the IC variants' energy.
    None for an endpoint without inference components."""
    totals = components.component_totals(endpoint, view.start_time, view.end_time)
    if totals.empty:
        return None
    now = {c.pk: c.__dict__ for c in components.latest_components().filter(endpoint=endpoint)}
    rows = []
    for row in totals.to_dict("records"):
        current = now.get(int(row["component_id"])) if not row["unreserved"] else None
        copies = current.get("copy_count") if current else None
        note = UNRESERVED_NOTE if row["unreserved"] else ""
        if current and current.get("deleted_at"):
            note = f"deleted {current['deleted_at']:%Y-%m-%d %H:%M} UTC"
        elif current and not copies:
            note = SCALED_TO_ZERO
        rows.append(
            {
                **row,
                "component": "Unreserved capacity" if row["unreserved"] else row["component"],
                "copies": copies,
                "reserved_now": reservation_now(current) if current else "—",
                "reserved_pct": 100 * row["reserved_share"] if row["reserved_share"] == row["reserved_share"] else None,
                "endpoint_share_pct": 100 * row["energy_kwh"] / endpoint_energy_kwh if endpoint_energy_kwh else None,
                "note": note,
            }
        )
    columns = [
        Column("component", "Component"),
        Column("variant_name", "Variant"),
        Column("copies", "Copies now", 0),
        Column("reserved_now", "Reserved now", sortable=False),
        Column(
            "reserved_pct",
            "Reserved (% of capacity)",
            1,
            help="Mean share of the variant's accelerators (else CPU cores) the copies reserved over the period",
        ),
        Column("util_pct", "Utilization (%)", 1, help="Of what the copies reserved: GPU, else CPU"),
        Column("invocations", "Inferences", 0),
        Column("energy_kwh", "Energy (kWh)", 3),
        Column("co2e_kg", "Operational CO2e (kg)", 3),
        Column("embodied_co2e_kg", "Embodied CO2e (kg)", 3),
        Column("gco2e_per_1k_invocations", "g CO2e / 1k inferences", 3),
        Column("endpoint_share_pct", "Share of the endpoint's energy (%)", 1),
        Column("cost_usd", "Cost (USD)", 2, help="List price x the instance-hours of its reserved share"),
        Column("note", "Note", sortable=False),
    ]
    table = Table(
        "components",
        "Inference components over the period",
        columns,
        rows,
        highlight=lambda row: "unreserved" if row["unreserved"] else ("scaled-to-zero" if not row["copies"] else ""),
    )
    sums = {name: float(totals[name].sum()) for name in ("energy_kwh", "co2e_kg", "embodied_co2e_kg", "invocations")}
    unreserved = totals[totals["unreserved"]]
    return {
        "table": table,
        "totals": sums,
        "endpoint_energy_kwh": endpoint_energy_kwh,
        "unreserved_kwh": float(unreserved["energy_kwh"].sum()),
        "unreserved_pct": 100 * float(unreserved["energy_kwh"].sum()) / sums["energy_kwh"]
        if sums["energy_kwh"]
        else None,
        "count": int((~totals["unreserved"]).sum()),
    }


UNRESERVED_COLOR = "#9aa39e"  # grey: capacity nobody uses


def components_chart(  # noqa: PLR0913 - the endpoint, the page's window and grain, its trend and changes
    endpoint: Endpoint, view: filters.Filters, names: dict[int, str], trend: pd.DataFrame, changes: list[dict]
) -> dict:
    """Energy per period stacked by inference component, the unreserved capacity on top in grey: the stack is the
    IC variants' energy. Partial periods are hatched as on the footprint chart (the same trend's coverage)."""
    frame = components.series([endpoint.pk], view.start_time, view.end_time, view.grain)
    hours = charts.bucket_hours(trend["time"], view.grain)
    notes = dict(zip(trend["time"], charts.partial_notes(charts.coverages(trend), hours), strict=True))
    data = []
    if not frame.empty:
        frame["time"] = pd.to_datetime(frame["bucket"], utc=True).dt.tz_localize(None)
        times = sorted(frame["time"].unique())
        keys = sorted(frame["component_id"].dropna().unique(), key=lambda pk: names.get(int(pk), "")) + [None]
        for position, key in enumerate(keys):
            rows = frame[frame["component_id"].isna()] if key is None else frame[frame["component_id"] == key]
            energy = rows.groupby("time")["energy_kwh"].sum().reindex(times, fill_value=0.0)
            name = "Unreserved capacity" if key is None else names.get(int(key), "?")
            color = UNRESERVED_COLOR if key is None else charts.PALETTE[position % len(charts.PALETTE)]
            trace = {"name": f"{name} (kWh)", "x": [t.isoformat() for t in times], "marker": {"color": color}}
            values = [round(float(v), 6) for v in energy]
            data += charts.bar_traces(trace, values, [notes.get(t, "") for t in times], "%{y:.3f} kWh", hours)
    chart_layout = charts.layout(
        f"Energy per {view.grain} by inference component",
        "kWh",
        barmode="stack",
        xaxis=charts.time_axis(pd.Series(sorted(frame["time"].unique())) if data else trend["time"], hours),
        annotations=charts.explanations(charts.NO_DATA if not data else "", list(notes.values())),
    )
    return charts.figure("components-chart", data, chart_layout, changes)


def endpoint_cost(endpoint: Endpoint, view: filters.Filters, totals, price_label: str) -> dict:
    """The endpoint's list cost over the period (the trend's priced buckets, as its table shows them), the share
    of its instance-hours priced, what priced them, and its billed cost where its account has a cost export."""
    hours = float(totals["instance_hours"].sum())
    priced = float(totals["priced_instance_hours"].sum()) if "priced_instance_hours" in totals else 0.0
    account = {"pk": endpoint.account.pk, "account_id": endpoint.account.account_id, "name": endpoint.account.name}
    return {
        "cost_usd": float(totals["cost_usd"].sum()) if totals["cost_usd"].notna().any() else None,
        "priced_pct": 100 * priced / hours if hours else None,
        "price_label": price_label,
        "billed": billed.billed_view([account], view, [endpoint.pk]),
    }


@require_GET
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = current_team(request)
    endpoint = get_for_team_or_404(Endpoint.objects.select_related("account"), "account__team", team, pk=pk)
    now = timezone.now()
    view = filters.parse(request.GET, now.date(), default_period="14d", default_grain="hour", now=now)
    # Explicit order: the model's default (endpoint, ...) would join collectors_endpoint to sort by its name.
    configs = list(endpoint.variant_configs.values(*CONFIG_FIELDS).order_by("variant_name", "valid_from"))
    frame = reports.variant_series(endpoint, view)
    changes = charts.config_changes(configs, view.start_time, view.end_time)
    tables = [variants_table(frame, configs), config_table(configs)]
    # Only an endpoint that ever hosted inference components pays the component queries (its configurations say).
    hosted = any(c["inference_components"] for c in configs)
    energy_kwh = float(frame["energy_kwh"].sum()) if not frame.empty else 0.0
    ic = components_section(endpoint, view, energy_kwh) if hosted else None
    if ic:
        tables.insert(1, ic["table"])
    chart_list = []
    cost = None
    if not frame.empty:
        costed = reports.with_cost(frame.assign(region=endpoint.region))
        totals = reports.trend(
            costed, view, collected=reports.collected_span([{"pk": endpoint.account_id}], [endpoint.pk])
        )
        cost = endpoint_cost(endpoint, view, totals, reports.price_label(costed))
        chart_list = [
            charts.utilization("utilization-chart", per_variant(frame, view.grain), changes, grain=view.grain),
            charts.footprint_trend(
                "footprint-chart",
                totals,
                f"CO2e and energy per {view.grain}",
                changes,
                bars=len(totals) <= 120,
                grain=view.grain,
            ),
            charts.intensity("intensity-chart", totals, changes, grain=view.grain),
        ]
        if ic:
            names = {int(r["component_id"]): r["component"] for r in ic["table"].rows if not r["unreserved"]}
            chart_list.insert(2, components_chart(endpoint, view, names, totals, changes))
        tables.append(
            Table(
                "series",
                f"Per {view.grain}",
                [Column("period", f"{view.grain.capitalize()} (UTC)"), *footprint_columns()],
                totals.assign(
                    period=totals["time"].dt.strftime("%Y-%m-%d %H:00" if view.grain == "hour" else "%Y-%m-%d")
                ).to_dict("records"),
                long=True,
            )
        )
    errors = {**view.errors, **sort_tables(tables, request.GET, view.params())}
    if wanted := request.GET.get("csv"):
        return csv_response(tables, wanted, f"wattson-{endpoint.name}-{view.start}-{view.end}")
    return render(
        request,
        "dashboard/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "view": view,
            "errors": errors,
            "periods": filters.PERIODS,
            "grains": filters.GRAINS,
            "query": page_query(view.params(), tables),
            "sort_fields": sort_params(tables),
            "charts": chart_list,
            "tables": tables,
            "cost": cost,
            "billed": cost["billed"] if cost else None,
            "changes": changes,
            "components": ic,
            "provenance": reports.provenance(endpoint, view),
            "tags": sorted((endpoint.tags or {}).items()),
            "recommendations": list(
                endpoint.recommendations.filter(status__in=("open", "snoozed"))
                .select_related("account", "endpoint")
                .order_by("-monthly_co2e_kg_saved")
            ),
            "today": timezone.now().date(),
            "accounts": None,
            "regions": None,
            "teams": None,
        },
    )
