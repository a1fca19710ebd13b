"""Aggregated API resources: emissions time series with ``group_by``, the FOCUS-style export, and Prometheus."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from functools import cache

from django.db.models import F, FloatField, Max, Sum
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek
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

from collectors.models import AwsAccount, Endpoint, VariantHour
from dashboard.api.auth import team_of
from dashboard.api.csv import CsvRenderer, stream, wants_csv
from dashboard.api.negotiation import JsonErrors
from dashboard.api.params import AccountIdField, DayField, GrainField, PeriodRules, QueryParams, RegionField, parsed
from dashboard.api.serializers import FOCUS_FIELDS, FOCUS_MEASURES, FOOTPRINT, FocusSerializer, measure_fields
from dashboard.footprint import queries
from dashboard.footprint.filters import HOURLY_MAX_DAYS, PERIODS, TEAM_TAG, UNTAGGED, Filters
from dashboard.footprint.measures import ESTIMATED, UTILIZATION, weighted_aggregates, weighted_means
from dashboard.footprint.models import VariantDay
from dashboard.footprint.queries import add_cost, part_cost_usd
from estimator import prices

SUMS = FOOTPRINT  # the footprint's summed measures the API reports (``measures.ESTIMATED`` and usage)
GROUPS = ("none", "account", "region", "endpoint", "instance_type", "team")


class Api(JsonErrors, APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]


class PeriodParams(PeriodRules, QueryParams):
    """A period and the filters that narrow it: the pages' rules and messages (``PeriodRules``)."""

    start = DayField(required=False, help_text="First UTC day; default 29 days before end")
    end = DayField(required=False, help_text="Last UTC day, inclusive; default today")
    account_id = AccountIdField(required=False)
    region = RegionField(required=False, help_text="AWS region code")
    endpoint = serializers.IntegerField(required=False, min_value=1, help_text="Endpoint id")

    def validate(self, attrs):
        return self.check_period(attrs)


@extend_schema_field({"type": "string", "anyOf": [{"enum": list(GROUPS)}, {"pattern": "^tag:[\\s\\S]{1,128}$"}]})
class GroupByField(serializers.CharField):
    """One of GROUPS, or ``tag:`` and a tag key of 1 to 128 characters (what ``validate_group_by`` accepts)."""


class EmissionParams(PeriodParams):
    grain = GrainField(default="day", help_text=f"hour covers at most {HOURLY_MAX_DAYS} days")
    group_by = GroupByField(
        default="none", help_text="none, account, region, endpoint, instance_type, team, or tag:<key>"
    )

    def validate_group_by(self, value: str) -> str:
        if value in GROUPS or (value.startswith("tag:") and 4 < len(value) <= 132):
            return value
        raise ValidationError(f"Group by one of {', '.join(GROUPS)} or tag:<key>.")


def _scope(rows, query: dict, hourly: bool):
    prefix = "endpoint__" if hourly else ""
    if "account_id" in query:
        rows = rows.filter(**{f"{prefix}account__account_id": query["account_id"]})
    if "region" in query:
        rows = rows.filter(**{"endpoint__region" if hourly else "region": query["region"]})
    if "endpoint" in query:
        rows = rows.filter(endpoint_id=query["endpoint"])
    return rows


def _total(column: str):
    return Coalesce(Sum(column), 0.0, output_field=FloatField())


def _sums(prefix: str) -> dict:
    return {f"t_{name}": _total(f"{prefix}{name}") for name in SUMS}


def emission_rows(team, query: dict) -> list[dict]:
    """Sums per period of the grain and per group, sorted by period then group."""
    group = query["group_by"]
    key = {"account": "account_id", "region": "region", "instance_type": "instance_type"}.get(group, "endpoint_id")
    hourly = query["grain"] == "hour"
    if hourly:
        start = dt.datetime.combine(query["start"], dt.time(), dt.UTC)
        end = dt.datetime.combine(query["end"] + dt.timedelta(days=1), dt.time(), dt.UTC)
        rows = _scope(
            VariantHour.objects.filter(
                endpoint__account_id__in=_account_keys(team), hour__gte=start, hour__lt=end, estimate__isnull=False
            ),
            query,
            True,
        )
        sums = {f"t_{name}": _total(f"estimate__{name}" if name in ESTIMATED else name) for name in SUMS}
        rows = rows.annotate(bucket=F("hour"), g_region=F("endpoint__region"), g_account=F("endpoint__account_id"))
    else:
        # The accounts' keys, not a join on the team: PostgreSQL then estimates the rows right and groups them in
        # memory (with the join it expected 1 % of them and sorted to disk).
        rows = _scope(
            VariantDay.objects.filter(
                account_id__in=_account_keys(team), day__gte=query["start"], day__lte=query["end"]
            ),
            query,
            False,
        )
        bucket = {"week": TruncWeek("day"), "month": TruncMonth("day")}.get(query["grain"], F("day"))
        rows = rows.annotate(bucket=bucket, g_region=F("region"), g_account=F("account_id"))
        sums = _sums("")
    group_key = {"region": "g_region", "account_id": "g_account"}.get(key, key)
    grouped = rows.values("bucket", group_key, "instance_type", "g_region").annotate(**sums).order_by()
    return _fold(team, grouped, group, group_key)


def _account_keys(team) -> list[int]:
    return list(AwsAccount.objects.filter(team=team).values_list("pk", flat=True))


def _fold(team, grouped, group: str, group_key: str) -> list[dict]:
    labels = _labels(team, group)
    price_of = cache(prices.instance_hour_usd)  # a few dozen (type, region) pairs behind thousands of rows
    totals: dict[tuple, dict] = defaultdict(
        lambda: {**dict.fromkeys(SUMS, 0.0), "cost_usd": None, "priced_instance_hours": 0.0}
    )
    for row in grouped:
        label = "all" if group == "none" else labels(row[group_key])
        cell = totals[(row["bucket"], label)]
        for name in SUMS:
            cell[name] += row[f"t_{name}"]
        price = price_of(row["instance_type"], row["g_region"]) if row["instance_type"] else None
        if price is not None:
            cell["cost_usd"] = add_cost(cell["cost_usd"], price * row["t_instance_hours"])
            cell["priced_instance_hours"] += row["t_instance_hours"]
    return [
        {"period_start": bucket.isoformat(), "group": label, **values}
        for (bucket, label), values in sorted(totals.items(), key=lambda item: (item[0][0], item[0][1]))
    ]


def _labels(team, group: str):
    if group in ("none", "region", "instance_type"):
        return lambda value: value or ""
    if group == "account":
        names = dict(AwsAccount.objects.filter(team=team).values_list("pk", "account_id"))
        return lambda value: names.get(value, "")
    endpoints = {e["id"]: e for e in Endpoint.objects.filter(account__team=team).values("id", "name", "region", "tags")}
    if group == "endpoint":
        return lambda value: f"{endpoints[value]['name']} ({endpoints[value]['region']})"
    tag = TEAM_TAG if group == "team" else group.removeprefix("tag:")
    return lambda value: (endpoints[value]["tags"] or {}).get(tag, UNTAGGED)


CACHE_SECONDS = 600


def data_version() -> tuple:
    """Changes whenever hours are rolled up (a refresh replaces rollup rows, so their highest key moves) or
    collected: a cached series is never served after its data changed."""
    return (VariantDay.objects.aggregate(v=Max("id"))["v"], VariantHour.objects.aggregate(v=Max("id"))["v"])


def cached_emission_rows(team, query: dict) -> list[dict]:
    """``emission_rows``, cached per team, query and data version (FinOps tools poll the same series)."""
    from django.core.cache import cache as shared_cache

    key = "emissions:" + hashlib.sha256(repr((team.pk, sorted(query.items()), data_version())).encode()).hexdigest()
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
        **measure_fields(SUMS),
        "cost_usd": serializers.FloatField(
            allow_null=True, help_text="List cost of the priced instance-hours; null when none is priced"
        ),
        "priced_instance_hours": serializers.FloatField(
            help_text="The instance-hours cost_usd covers (a list price is known for them)"
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
    """Energy (kWh), CO2e (kg, operational with range, and embodied), inferences, instance-hours and cost at
    list price per period, optionally grouped: the cost of the priced instance-hours (``priced_instance_hours``
    says how many), null when none is priced - the same cost the overview shows."""

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


def _focus_cell(endpoint: dict, day: dt.date, method: str) -> dict:
    """An endpoint's day before its rows are added: the FOCUS columns, and zero for every measure."""
    values = {
        "BillingAccountId": endpoint["account__account_id"],
        "BillingAccountName": endpoint["account__name"],
        "ChargePeriodStart": f"{day.isoformat()}T00:00:00Z",
        "ChargePeriodEnd": f"{(day + dt.timedelta(days=1)).isoformat()}T00:00:00Z",
        "RegionId": endpoint["region"],
        "ResourceId": endpoint["arn"] or endpoint["name"],
        "ResourceName": endpoint["name"],
        "ResourceType": "SageMaker Endpoint",
        "ServiceName": "Amazon SageMaker",
        "ServiceCategory": "AI and Machine Learning",
        "ConsumedUnit": "Hours",
        "ListCost": None,
        "BillingCurrency": "USD",
        "x_InstanceTypes": set(),
        "x_Methodology": method,
        **dict.fromkeys(FOCUS_MEASURES.values(), 0.0),
    }
    return {column: values[column] for column in FOCUS_FIELDS}


def focus_rows(team, query: dict) -> list[dict]:
    """One row per endpoint and UTC day, FinOps FOCUS column names plus x_ extensions for energy and carbon."""
    from dashboard.footprint import estimates as footprint

    endpoints = {
        e["id"]: e
        for e in Endpoint.objects.filter(account__team=team).values(
            "id", "name", "arn", "region", "account__account_id", "account__name"
        )
    }
    days = _scope(
        VariantDay.objects.filter(account__team=team, day__gte=query["start"], day__lte=query["end"]), query, False
    )
    grouped = days.values("endpoint_id", "day", "instance_type", "region").annotate(**_sums("")).order_by()
    cells: dict[tuple, dict] = {}
    method = f"{footprint.METHODOLOGY} {footprint.current_version()}"
    for row in grouped:
        key = (row["day"], row["endpoint_id"])
        if key not in cells:
            cells[key] = _focus_cell(endpoints[row["endpoint_id"]], row["day"], method)
        cell = cells[key]
        cell["x_InstanceTypes"].add(row["instance_type"] or "serverless")
        for name, column in FOCUS_MEASURES.items():
            cell[column] += row[f"t_{name}"]
        cell["ListCost"] = add_cost(
            cell["ListCost"], part_cost_usd(row["instance_type"], row["region"], row["t_instance_hours"])
        )
    rows = []
    for key in sorted(cells):
        cell = cells[key]
        rows.append({**cell, "x_InstanceTypes": ",".join(sorted(cell["x_InstanceTypes"]))})
    return rows


class FocusView(Api):
    """A FOCUS-style export: one row per endpoint and day with FinOps FOCUS column names (cost at list price
    where known) and x_ columns for energy and emissions, to join with cost data. ``?format=csv`` streams it."""

    @extend_schema(parameters=[PeriodParams], responses={200: FocusSerializer})
    def get(self, request):
        query = parsed(PeriodParams, request)
        rows = focus_rows(team_of(request), query)
        if wants_csv(request):
            return stream(rows, FOCUS_FIELDS, f"wattson-focus-{query['start']}-{query['end']}")
        return Response({"start": query["start"], "end": query["end"], "columns": FOCUS_FIELDS, "results": rows})


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
    ("wattson_endpoint_gco2e_per_hour", "Operational plus embodied emissions in the last complete hour (g CO2e)"),
    *((f"wattson_endpoint_{name}", UTILIZATION_HELP[name]) for name in UTILIZATION),
    ("wattson_endpoint_instances", "Mean instances running in the last complete hour"),
)
# The team's totals over a period, from the query layer (the overview's numbers for the same period). Gauges, not
# counters: a period total moves both ways (late data, re-estimation under a new methodology version, days
# leaving the window), which a counter may not do. One family per quantity with a ``period`` label (the
# overview's period names), so another period is a new series of the same family rather than a new name.
TEAM_TOTALS = (
    ("wattson_team_energy_kwh", "energy_kwh", "Energy of the team's endpoints over the period, PUE included (kWh)"),
    ("wattson_team_co2e_kg", "co2e_kg", "Operational emissions of the team's endpoints over the period (kg CO2e)"),
    ("wattson_team_embodied_co2e_kg", "embodied_co2e_kg", "Embodied emissions over the period (kg CO2e)"),
    ("wattson_team_instance_hours", "instance_hours", "Instance-hours of the team's endpoints over the period"),
    (
        "wattson_team_cost_usd",
        "cost_usd",
        "On-demand list cost of the priced instance-hours over the period (USD); absent when none is priced",
    ),
)
TOTAL_PERIODS = ("30d",)  # UTC days: the last 30 including today, as the overview's 30d


LABELS = ("account_id", "region", "endpoint")


class TeamMetrics:
    """A prometheus_client collector of one team's gauges at its endpoints' last complete hour with data; the
    library writes HELP and TYPE for every family and escapes label values."""

    def __init__(self, team, now: dt.datetime):
        self.team, self.now = team, now

    def collect(self):
        families = {name: GaugeMetricFamily(name, text, labels=LABELS) for name, text in GAUGES}
        latest = (
            VariantHour.objects.filter(
                endpoint__account__team=self.team,
                estimate__isnull=False,
                endpoint__deleted_at__isnull=True,
                hour__lt=self.now - dt.timedelta(hours=1),
            )
            .order_by("-hour")
            .values_list("hour", flat=True)
            .first()
        )
        if latest is not None:
            for labels, values in endpoint_gauges(self.team, latest):
                for name, value in values.items():
                    families[name].add_metric(labels, value)
        yield from families.values()
        yield from team_totals(self.team, self.now.date())
        if latest is not None:
            yield GaugeMetricFamily(
                "wattson_data_hour_timestamp_seconds",
                "Start of the hour the endpoint gauges describe (Unix seconds)",
                value=int(latest.timestamp()),
            )


def endpoint_gauges(team, hour: dt.datetime):
    """(labels, {gauge: value}) per endpoint for ``hour``: its variants summed, utilization the footprint's
    instance-hour-weighted mean (``measures``; a gauge is left out when no variant reported it)."""
    rows = (
        VariantHour.objects.filter(endpoint__account__team=team, hour=hour)
        .values("endpoint_id", "endpoint__name", "endpoint__region", "endpoint__account__account_id")
        .annotate(
            t_energy_kwh=_total("estimate__energy_kwh"),
            t_co2e_kg=_total("estimate__co2e_kg"),
            t_embodied_co2e_kg=_total("estimate__embodied_co2e_kg"),
            t_instance_hours=_total("instance_hours"),  # an annotation may not shadow a field it sums
            **weighted_aggregates(UTILIZATION),
        )
        .order_by("endpoint__name", "endpoint_id")  # by name, as the series were before they were grouped in SQL
    )
    for row in rows:
        labels = [row["endpoint__account__account_id"], row["endpoint__region"], row["endpoint__name"]]
        values = {
            "wattson_endpoint_watts": row["t_energy_kwh"] * 1000,
            "wattson_endpoint_gco2e_per_hour": 1000 * (row["t_co2e_kg"] + row["t_embodied_co2e_kg"]),
            "wattson_endpoint_instances": row["t_instance_hours"],
        }
        means = weighted_means(row, UTILIZATION)
        values.update({f"wattson_endpoint_{name}": mean for name, mean in means.items() if mean is not None})
        yield labels, values


def period_view(period: str, today: dt.date) -> Filters:
    return Filters(period=period, start=today - dt.timedelta(days=PERIODS[period] - 1), end=today, grain="day")


def team_totals(team, today: dt.date):
    """The ``TEAM_TOTALS`` gauge families, one sample per period in ``TOTAL_PERIODS``: ``queries.summary`` of
    the period, the totals the overview shows for it."""
    families = {name: GaugeMetricFamily(name, text, labels=("period",)) for name, _, text in TEAM_TOTALS}
    accounts = queries.team_accounts(team)
    for period in TOTAL_PERIODS:
        totals = queries.summary(queries.endpoint_totals(accounts, period_view(period, today), None))
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
