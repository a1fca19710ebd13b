"""Aggregated API resources: emissions time series with ``group_by``, the FOCUS 1.2 export, and Prometheus."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard.api import focus
from dashboard.api.auth import team_of
from dashboard.api.csv import CsvRenderer, stream, wants_csv
from dashboard.api.negotiation import JsonErrors
from dashboard.api.params import (
    AccountIdField,
    DayField,
    GrainField,
    PeriodRules,
    QueryParams,
    RegionField,
    TeamField,
    parsed,
)
from dashboard.api.serializers import FOOTPRINT, FocusSerializer, measure_fields
from dashboard.footprint import billed, queries, workload_queries
from dashboard.footprint.filters import HOURLY_MAX_DAYS, TEAM_TAG, UNTAGGED, Filters, parse
from dashboard.footprint.measures import UTILIZATION, finish_unknowns, unknown_columns, with_unknowns

SUMS = FOOTPRINT  # the footprint's summed measures the API reports (``measures.ESTIMATED`` and usage)
WORKLOAD_KIND = "workload_kind"
GROUPS = ("none", "account", "region", "endpoint", "instance_type", "team", WORKLOAD_KIND)
# group_by=workload_kind: the endpoints' rows summed as one "inference" group, beside a group per workload kind
# (training, processing, transform, notebook, studio-app) from the workloads' hours. Every other grouping, and no
# grouping, stays the endpoints' alone (as before issue 19: existing clients' totals do not change).
INFERENCE = "inference"


class Api(JsonErrors, APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]


class PeriodParams(PeriodRules, QueryParams):
    """A period and the filters that narrow it: the pages' rules and messages (``PeriodRules``)."""

    start = DayField(required=False, help_text="First UTC day; default 29 days before end")
    end = DayField(required=False, help_text="Last UTC day, inclusive; default today")
    account_id = AccountIdField(required=False)
    region = RegionField(required=False, help_text="AWS region code")
    endpoint = serializers.IntegerField(required=False, min_value=1, help_text="Endpoint id")
    team = TeamField(required=False)

    def validate(self, attrs):
        return self.check_period(attrs)


@extend_schema_field({"type": "string", "anyOf": [{"enum": list(GROUPS)}, {"pattern": "^tag:[\\s\\S]{1,128}$"}]})
class GroupByField(serializers.CharField):
    """One of GROUPS, or ``tag:`` and a tag key of 1 to 128 characters (what ``validate_group_by`` accepts)."""


class EmissionParams(PeriodParams):
    grain = GrainField(default="day", help_text=f"hour covers at most {HOURLY_MAX_DAYS} days")
    group_by = GroupByField(
        default="none",
        help_text="none, account, region, endpoint, instance_type, team, workload_kind, or tag:<key>. Only "
        "workload_kind includes jobs, notebook instances and Studio apps (a group per kind beside 'inference', the "
        "endpoints); every other grouping covers the endpoints alone",
    )

    def validate_group_by(self, value: str) -> str:
        if value in GROUPS or (value.startswith("tag:") and 4 < len(value) <= 132):
            return value
        raise ValidationError(f"Group by one of {', '.join(GROUPS)} or tag:<key>.")


def _scope(team, query: dict):
    """The query layer's scope of the query's filters, narrowed to a team tag's endpoints (``parsed``)."""
    accounts, ids = queries.scope(team, query.get("account_id", ""), query.get("region", ""), query.get("endpoint"))
    if "team_endpoints" not in query:
        return accounts, ids
    tagged = query["team_endpoints"]
    return accounts, tagged if ids is None else [pk for pk in ids if pk in set(tagged)]


def emission_rows(team, query: dict) -> list[dict]:
    """Sums per period of the grain and per group, sorted by period then group: the query layer's grouped series,
    labelled and added up per group (cost: the sum of the priced parts, None when none is priced)."""
    group = query["group_by"]
    if group == WORKLOAD_KIND:
        return workload_kind_rows(team, query)
    key = queries.GROUP_KEYS.get(group, "endpoint_id")
    accounts, endpoint_ids = _scope(team, query)
    frame = queries.grouped_series(accounts, query["start"], query["end"], query["grain"], endpoint_ids, key)
    if frame.empty:
        return []
    # Endpoints are grouped by id (two endpoints may share a name and region in two accounts), then labelled.
    frame["group"] = (
        "all" if group == "none" else frame[key] if group == "endpoint" else frame[key].map(_labels(team, group))
    )
    grouped = with_unknowns(frame).groupby(["bucket", "group"], sort=True)
    # A market-based CO2e any part lacks is unknown (null), never the sum of the parts that have it.
    totals = finish_unknowns(grouped[[*SUMS, "priced_instance_hours", *unknown_columns()]].sum())
    totals["cost_usd"] = grouped["cost_usd"].sum(min_count=1)
    billed_usd = _billed(team, query, group, key, accounts, endpoint_ids)
    identify = _endpoint_identity(team) if group == "endpoint" else lambda group_value: (group_value, None, None)
    return [
        {
            "period_start": bucket.isoformat(),
            **dict(zip(("group", "endpoint_id", "account_id"), identify(group_value), strict=True)),
            **{name: None if pd.isna(values[name]) else float(values[name]) for name in SUMS},
            "cost_usd": None if pd.isna(values["cost_usd"]) else float(values["cost_usd"]),
            "priced_instance_hours": float(values["priced_instance_hours"]),
            "priced_share": share(values["priced_instance_hours"], values["instance_hours"]),
            "billed_cost_usd": billed_usd.get((bucket, group_value)),
        }
        for (bucket, group_value), values in totals.iterrows()
    ]


def workload_kind_rows(team, query: dict) -> list[dict]:
    """Sums per period of the grain and per lifecycle kind: "inference" (the endpoints' rows of the same query,
    from the endpoints' query layer) and each workload kind with hours (``workload_queries.kind_series``), sorted by
    period then group. The query's account, region and team narrow both; an ``endpoint`` leaves the workloads out.
    ``billed_cost_usd`` is the endpoints' (cost exports are matched to endpoints only): null on workload rows."""
    accounts, endpoint_ids = _scope(team, query)
    start, end, grain = query["start"], query["end"], query["grain"]
    parts = []
    endpoints = queries.grouped_series(accounts, start, end, grain, endpoint_ids, "region")
    if not endpoints.empty:
        parts.append(endpoints.assign(group=INFERENCE))
    if query.get("endpoint") is None and accounts:
        team_tag = query.get("team") if "team_endpoints" in query else None
        kinds = workload_queries.kind_series(accounts, start, end, grain, query.get("region", ""), team_tag)
        if not kinds.empty:
            parts.append(kinds.rename(columns={"kind": "group"}).assign(invocations=0.0))
    if not parts:
        return []
    frame = pd.concat(parts, ignore_index=True)
    grouped = with_unknowns(frame).groupby(["bucket", "group"], sort=True)
    totals = finish_unknowns(grouped[[*SUMS, "priced_instance_hours", *unknown_columns()]].sum())
    totals["cost_usd"] = grouped["cost_usd"].sum(min_count=1)
    billed_usd = _billed(team, query, "none", "endpoint_id", accounts, endpoint_ids)
    return [
        {
            "period_start": bucket.isoformat(),
            "group": group_value,
            "endpoint_id": None,
            "account_id": None,
            **{name: None if pd.isna(values[name]) else float(values[name]) for name in SUMS},
            "cost_usd": None if pd.isna(values["cost_usd"]) else float(values["cost_usd"]),
            "priced_instance_hours": float(values["priced_instance_hours"]),
            "priced_share": share(values["priced_instance_hours"], values["instance_hours"]),
            "billed_cost_usd": billed_usd.get((bucket, "all")) if group_value == INFERENCE else None,
        }
        for (bucket, group_value), values in totals.iterrows()
    ]


def share(part: float, whole: float) -> float | None:
    """``part`` / ``whole``; None when there is no whole (no instance-hours)."""
    return float(part) / float(whole) if whole else None


def _billed(team, query: dict, group: str, key: str, accounts, endpoint_ids) -> dict[tuple, float]:  # noqa: PLR0913 - the query and its resolved scope
    """Billed cost per (bucket, group value), from the cost exports, grouped as the emission rows are."""
    frame = billed.grouped_billed(accounts, query["start"], query["end"], query["grain"], endpoint_ids, key)
    if frame.empty:
        return {}
    frame["group"] = (
        "all" if group == "none" else frame[key] if group == "endpoint" else frame[key].map(_labels(team, group))
    )
    sums = frame.groupby(["bucket", "group"])["billed_cost_usd"].sum()
    return {index: float(value) for index, value in sums.items()}


def _endpoint_identity(team):
    """An endpoint id -> (label "name (region)", the id, its AWS account id): the label alone is not unique."""
    endpoints = {e["id"]: e for e in queries.team_endpoints(team)}

    def identify(endpoint_id) -> tuple[str, int, str]:
        endpoint = endpoints[int(endpoint_id)]
        return f"{endpoint['name']} ({endpoint['region']})", int(endpoint_id), endpoint["account__account_id"]

    return identify


def _labels(team, group: str):
    if group in ("region", "instance_type"):
        return lambda value: value or ""
    if group == "account":
        names = {a["pk"]: a["account_id"] for a in queries.team_accounts(team)}
        return lambda value: names.get(value, "")
    endpoints = {e["id"]: e for e in queries.team_endpoints(team)}
    tag = TEAM_TAG if group == "team" else group.removeprefix("tag:")
    return lambda value: (endpoints[value]["tags"] or {}).get(tag, UNTAGGED)


CACHE_SECONDS = 600


def cached_emission_rows(team, query: dict) -> list[dict]:
    """``emission_rows``, cached per team, query and data version (FinOps tools poll the same series)."""
    from django.core.cache import cache as shared_cache

    workloads = workload_queries.data_version() if query.get("group_by") == WORKLOAD_KIND else ()
    version = repr((team.pk, sorted(query.items()), queries.data_version(), workloads))
    key = "emissions:" + hashlib.sha256(version.encode()).hexdigest()
    rows = shared_cache.get(key)
    if rows is None:
        rows = emission_rows(team, query)
        shared_cache.set(key, rows, CACHE_SECONDS)
    return rows


EmissionRowSerializer = type(
    "EmissionRowSerializer",
    (serializers.Serializer,),
    {
        "period_start": serializers.CharField(),
        "group": serializers.CharField(),
        "endpoint_id": serializers.IntegerField(
            allow_null=True,
            help_text="With group_by=endpoint: the endpoint's id (its label may repeat across accounts)",
        ),
        "account_id": serializers.CharField(
            allow_null=True, help_text="With group_by=endpoint: the AWS account id the endpoint belongs to"
        ),
        **measure_fields(SUMS),
        "cost_usd": serializers.FloatField(
            allow_null=True, help_text="List cost of the priced instance-hours; null when none is priced"
        ),
        "priced_instance_hours": serializers.FloatField(
            help_text="The instance-hours cost_usd covers (a list price is known for them)"
        ),
        "priced_share": serializers.FloatField(
            allow_null=True, help_text="priced_instance_hours / instance_hours (0-1); null without instance-hours"
        ),
        "billed_cost_usd": serializers.FloatField(
            allow_null=True,
            help_text="Billed (net amortized: discounts and Savings Plans applied) cost of the row's endpoints from "
            "their accounts' cost exports (CUR 2.0 / FOCUS), for the days the exports cover; null where no endpoint "
            "of the row has billed lines (no export configured, or not delivered yet) and at hour grain (exports "
            "are daily)",
        ),
    },
)
EMISSION_FIELDS = list(EmissionRowSerializer._declared_fields)


class EmissionsSerializer(serializers.Serializer):
    grain = serializers.CharField()
    group_by = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    results = EmissionRowSerializer(many=True)


class EmissionsView(Api):
    """Energy (kWh), CO2e (kg: operational location-based with its range, operational market-based, and
    embodied), inferences, instance-hours and cost at list price per period, optionally grouped: the cost of the
    priced instance-hours (``priced_instance_hours`` says how many), null when none is priced - the same cost the
    overview shows. ``co2e_market_kg`` is null while any hour summed lacks it (estimated before methodology
    2.0.0 and not yet re-estimated). ``group_by=workload_kind`` adds jobs, notebook instances and Studio apps: a
    group per kind beside "inference" (the endpoints); every other grouping covers the endpoints alone."""

    @extend_schema(parameters=[EmissionParams], responses={200: EmissionsSerializer})
    def get(self, request):
        query = parsed(EmissionParams, request)
        rows = cached_emission_rows(team_of(request), query)
        if wants_csv(request):
            return stream(rows, EMISSION_FIELDS, f"wattson-emissions-{query['start']}-{query['end']}")
        return Response(
            {
                "grain": query["grain"],
                "group_by": query["group_by"],
                "start": query["start"],
                "end": query["end"],
                "results": rows,
            }
        )


class FocusView(Api):
    """FOCUS 1.2: one row per endpoint, UTC day and instance type with the specification's columns (costs at list
    price, or billed where the account's cost export has the line: ``x_CostBasis`` says which) and ``x_`` columns
    for energy and emissions; then one row per workload (training, processing and transform jobs, notebook
    instances, Studio apps), UTC day and instance type, at its SageMaker component's list price. ``x_WorkloadKind``
    says which ("inference" for endpoints). ``?format=csv`` streams it."""

    @extend_schema(parameters=[PeriodParams], responses={200: FocusSerializer})
    def get(self, request):
        query = parsed(PeriodParams, request)
        team = team_of(request)
        frames = focus.focus_frames(team, query, _scope(team, query))
        if wants_csv(request):
            return focus.focus_csv(frames, f"wattson-focus-{query['start']}-{query['end']}")
        rows = focus.focus_rows(frames)
        return Response({"start": query["start"], "end": query["end"], "columns": focus.FIELDS, "results": rows})


class PrometheusRenderer(BaseRenderer):
    media_type = "text/plain"
    format = "prometheus"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, str) else str(data)


UTILIZATION_HELP = {
    "cpu_util_pct": "CPU utilization normalised per vCPU, instance-hour weighted (%)",
    "gpu_util_pct": "GPU utilization normalised per GPU, instance-hour weighted (%)",
    "memory_util_pct": "Memory utilization, instance-hour weighted (%)",
}
GAUGES = (
    ("wattson_endpoint_watts", "Mean electrical power of the endpoint in its last complete hour, PUE included (W)"),
    (
        "wattson_endpoint_gco2e_per_hour",
        "Operational (location-based: the grid the load draws from) plus embodied emissions in the last complete "
        "hour (g CO2e)",
    ),
    (
        "wattson_endpoint_gco2e_market_per_hour",
        "Operational (market-based: after AWS's renewable-energy purchases, GHG Protocol Scope 2) plus embodied "
        "emissions in the last complete hour (g CO2e); absent while an hour lacks the market-based figure",
    ),
    *((f"wattson_endpoint_{name}", UTILIZATION_HELP[name]) for name in UTILIZATION),
    ("wattson_endpoint_instances", "Mean instances running in the last complete hour"),
)
# The team's totals over a period, from the query layer (the overview's numbers for the same period). Gauges, not
# counters: a period total moves both ways (late data, re-estimation under a new methodology version, days
# leaving the window), which a counter may not do. One family per quantity with a ``period`` label (the
# overview's period names), so another period is a new series of the same family rather than a new name.
TEAM_TOTALS = (
    ("wattson_team_energy_kwh", "energy_kwh", "Energy of the team's endpoints over the period, PUE included (kWh)"),
    (
        "wattson_team_co2e_kg",
        "co2e_kg",
        "Operational emissions of the team's endpoints over the period, location-based: the grid the load draws "
        "from (kg CO2e)",
    ),
    (
        "wattson_team_co2e_market_kg",
        "co2e_market_kg",
        "Operational emissions of the team's endpoints over the period, market-based: after AWS's renewable-energy "
        "purchases, GHG Protocol Scope 2 (kg CO2e); absent while any hour of the period lacks it",
    ),
    ("wattson_team_embodied_co2e_kg", "embodied_co2e_kg", "Embodied emissions over the period (kg CO2e)"),
    ("wattson_team_instance_hours", "instance_hours", "Instance-hours of the team's endpoints over the period"),
    (
        "wattson_team_cost_usd",
        "cost_usd",
        "On-demand list cost of the priced instance-hours over the period (USD); absent when none is priced",
    ),
    (
        "wattson_team_priced_ratio",
        "priced_share",
        "Share of the period's instance-hours with a list price (0-1): the part wattson_team_cost_usd covers",
    ),
    (
        "wattson_team_billed_cost_usd",
        "billed_cost_usd",
        "Billed (net amortized) cost over the period from the accounts' cost exports, for the days they cover (USD); "
        "absent when no account has an export read",
    ),
)
# Running workloads (training, processing and transform jobs in progress, notebook instances and Studio apps in
# service) in their last complete hour with an estimate, as the endpoints' gauges are: the same quantities and
# units, labelled by kind, account, region and name.
WORKLOAD_GAUGES = (
    (
        "wattson_workload_watts",
        "Mean electrical power of the running workload in its last complete hour, PUE included (W)",
    ),
    (
        "wattson_workload_gco2e_per_hour",
        "Operational (location-based) plus embodied emissions of the running workload in the last complete hour "
        "(g CO2e)",
    ),
    (
        "wattson_workload_gco2e_market_per_hour",
        "Operational (market-based, GHG Protocol Scope 2) plus embodied emissions of the running workload in the last "
        "complete hour (g CO2e); absent while an hour lacks the market-based figure",
    ),
    *((f"wattson_workload_{name}", UTILIZATION_HELP[name]) for name in UTILIZATION),
    ("wattson_workload_instances", "Mean instances of the running workload in the last complete hour"),
)
WORKLOAD_LABELS = ("kind", "account_id", "region", "name")
# The team's totals per lifecycle stage (``workload_queries.lifecycle_split``: inference is the endpoints' totals
# above, storage from ``storage.period_footprint``: each day's stored bytes at the Storage page's per-month
# estimate), one sample per period and stage.
STAGE_TOTALS = (
    ("wattson_team_stage_energy_kwh", "energy_kwh", "Energy per lifecycle stage over the period, PUE included (kWh)"),
    (
        "wattson_team_stage_co2e_kg",
        "co2e_kg",
        "Operational emissions per lifecycle stage over the period, location-based (kg CO2e)",
    ),
    (
        "wattson_team_stage_embodied_co2e_kg",
        "embodied_co2e_kg",
        "Embodied emissions per lifecycle stage over the period (kg CO2e)",
    ),
    ("wattson_team_stage_instance_hours", "instance_hours", "Instance-hours per lifecycle stage over the period"),
    (
        "wattson_team_stage_cost_usd",
        "cost_usd",
        "On-demand list cost of the priced instance-hours per lifecycle stage over the period (USD); absent when "
        "none is priced",
    ),
)
TOTAL_PERIODS = ("30d",)  # the last 30 x 24 whole hours before the scrape's hour, as the overview's 30d


LABELS = ("account_id", "region", "endpoint")


class TeamMetrics:
    """A prometheus_client collector of one team's gauges at its endpoints' last complete hour with data; the
    library writes HELP and TYPE for every family and escapes label values."""

    def __init__(self, team, now: dt.datetime):
        self.team, self.now = team, now

    def collect(self):
        families = {name: GaugeMetricFamily(name, text, labels=LABELS) for name, text in GAUGES}
        latest = queries.latest_estimated_hour(self.team, before=self.now - dt.timedelta(hours=1))
        if latest is not None:
            for labels, values in endpoint_gauges(self.team, latest):
                for name, value in values.items():
                    families[name].add_metric(labels, value)
        yield from families.values()
        accounts = queries.team_accounts(self.team)
        frames = period_totals(accounts, self.now)
        yield from team_totals(self.team, self.now, accounts, frames)
        if latest is not None:
            yield GaugeMetricFamily(
                "wattson_data_hour_timestamp_seconds",
                "Start of the hour the endpoint gauges describe (Unix seconds)",
                value=int(latest.timestamp()),
            )
        yield from workload_families(self.team, self.now)
        yield from stage_totals(self.team, self.now, accounts, frames)


def endpoint_gauges(team, hour: dt.datetime):
    """(labels, {gauge: value}) per endpoint for ``hour``: the query layer's endpoint hour (a gauge is left out
    when no variant reported it)."""
    for row in queries.endpoint_hour(team, hour):
        values = {
            "wattson_endpoint_watts": row["energy_kwh"] * 1000,
            "wattson_endpoint_gco2e_per_hour": 1000 * (row["co2e_kg"] + row["embodied_co2e_kg"]),
            "wattson_endpoint_instances": row["instance_hours"],
        }
        if row["co2e_market_kg"] is not None:
            values["wattson_endpoint_gco2e_market_per_hour"] = 1000 * (row["co2e_market_kg"] + row["embodied_co2e_kg"])
        values.update({f"wattson_endpoint_{name}": row[name] for name in UTILIZATION if row[name] is not None})
        yield [row["account_id"], row["region"], row["name"]], values


def workload_families(team, now: dt.datetime):
    """The ``WORKLOAD_GAUGES`` families at the team's running workloads' last complete hour with an estimate, and
    that hour's timestamp (absent when none ran)."""
    families = {name: GaugeMetricFamily(name, text, labels=WORKLOAD_LABELS) for name, text in WORKLOAD_GAUGES}
    latest = workload_queries.latest_hour(team, before=now - dt.timedelta(hours=1))
    if latest is not None:
        for labels, values in workload_gauges(team, latest):
            for name, value in values.items():
                families[name].add_metric(labels, value)
    yield from families.values()
    if latest is not None:
        yield GaugeMetricFamily(
            "wattson_workload_data_hour_timestamp_seconds",
            "Start of the hour the workload gauges describe (Unix seconds)",
            value=int(latest.timestamp()),
        )


def workload_gauges(team, hour: dt.datetime):
    """(labels, {gauge: value}) per running workload for ``hour``: the workload query layer's hour (a utilization
    gauge is left out where no host metric reported it: notebooks, Studio apps)."""
    for row in workload_queries.workload_hour(team, hour):
        values = {
            "wattson_workload_watts": row["energy_kwh"] * 1000,
            "wattson_workload_gco2e_per_hour": 1000 * (row["co2e_kg"] + row["embodied_co2e_kg"]),
            "wattson_workload_instances": row["instance_hours"],
        }
        if row["co2e_market_kg"] is not None:
            values["wattson_workload_gco2e_market_per_hour"] = 1000 * (row["co2e_market_kg"] + row["embodied_co2e_kg"])
        values.update({f"wattson_workload_{name}": row[name] for name in UTILIZATION if row[name] is not None})
        yield [row["kind"], row["account_id"], row["region"], row["name"]], values


def stage_totals(team, now: dt.datetime, accounts: list[dict] | None = None, frames: dict | None = None):
    """The ``STAGE_TOTALS`` families: ``workload_queries.lifecycle_split`` of each period in ``TOTAL_PERIODS``, one
    sample per stage (its inference stage from the same endpoint totals as ``team_totals``)."""
    families = {name: GaugeMetricFamily(name, text, labels=("period", "stage")) for name, _, text in STAGE_TOTALS}
    accounts = queries.team_accounts(team) if accounts is None else accounts
    frames = period_totals(accounts, now) if frames is None else frames
    for period in TOTAL_PERIODS:
        view = period_view(period, now)
        split = workload_queries.lifecycle_split(accounts, view.start_time, view.end_time, frames[period])
        for row in split.to_dict("records"):
            for name, key, _ in STAGE_TOTALS:
                if not pd.isna(row[key]):
                    families[name].add_metric([period, row["stage"]], float(row[key]))
    yield from families.values()


def period_view(period: str, now: dt.datetime) -> Filters:
    """A named period as the pages read it at ``now``: a rolling window of whole hours (``filters.parse``)."""
    return parse({"period": period}, now.date(), now=now)


def period_totals(accounts: list[dict], now: dt.datetime) -> dict[str, pd.DataFrame]:
    """``queries.endpoint_totals`` of each period in ``TOTAL_PERIODS``: read once per scrape, for the team's totals
    and the inference stage alike."""
    return {period: queries.endpoint_totals(accounts, period_view(period, now), None) for period in TOTAL_PERIODS}


def team_totals(team, now: dt.datetime, accounts: list[dict] | None = None, frames: dict | None = None):
    """The ``TEAM_TOTALS`` gauge families, one sample per period in ``TOTAL_PERIODS``: ``queries.summary`` of
    the period, the totals the overview shows for it (``accounts``/``frames``: the scrape's, when read already)."""
    families = {name: GaugeMetricFamily(name, text, labels=("period",)) for name, _, text in TEAM_TOTALS}
    accounts = queries.team_accounts(team) if accounts is None else accounts
    frames = period_totals(accounts, now) if frames is None else frames
    for period in TOTAL_PERIODS:
        view = period_view(period, now)
        totals = queries.summary(frames[period])
        totals["priced_share"] = None if totals["priced_pct"] is None else totals["priced_pct"] / 100
        totals["billed_cost_usd"] = billed.billed_view(accounts, view, None).billed_cost_usd
        for name, key, _ in TEAM_TOTALS:
            if totals[key] is not None:
                families[name].add_metric([period], totals[key])
    yield from families.values()


def prometheus_text(team, now: dt.datetime) -> str:
    """The team's gauges in the Prometheus text format, written by prometheus_client."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TeamMetrics(team, now))
    return generate_latest(registry).decode()


class MetricsView(Api):
    """Prometheus metrics of the team's endpoints (token required; scrape with a bearer token)."""

    renderer_classes = [PrometheusRenderer]

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request):
        text = prometheus_text(team_of(request), timezone.now())
        return HttpResponse(text, content_type=CONTENT_TYPE_PLAIN_0_0_4)  # the text format every scraper reads
