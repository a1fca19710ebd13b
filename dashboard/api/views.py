"""/api/v1/: thin viewsets over the team's data. Every queryset is scoped to the caller's team; another team's
object is a 404. Lists page with a cursor and stream as CSV with ``?format=csv``."""

from __future__ import annotations

import datetime as dt

import django_filters
import pandas as pd
from django.db.models import Prefetch, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from collectors.models import (
    AwsAccount,
    Endpoint,
    InferenceComponent,
    LogGroupSnapshot,
    StorageLensDay,
    VariantConfig,
    VariantHour,
)
from collectors.models.endpoints import EndpointMode
from dashboard.api import export
from dashboard.api import serializers as out
from dashboard.api.auth import team_of
from dashboard.api.csv import CsvRenderer, stream, wants_csv
from dashboard.api.negotiation import JsonErrors
from dashboard.api.pagination import DayCursor, HourCursor, StableCursor
from dashboard.api.params import (
    INSTANT_TEXT,
    AccountIdField,
    AccountIdFilter,
    DayFilter,
    FlagFilter,
    GrainField,
    IdFilter,
    InstantField,
    QueryParams,
    RegionField,
    RegionFilter,
    StrictFilterSet,
    TeamField,
    TeamFilter,
    TextFilter,
    parsed,
)
from dashboard.api.reports import PeriodParams, share
from dashboard.api.reports import _scope as period_scope
from dashboard.footprint import components, queries
from dashboard.footprint.filters import HOURLY_MAX_DAYS
from dashboard.footprint.models import VariantDay
from dashboard.recommend.models import Recommendation

CSV_CHUNK = 2000
COPY_WINDOW = dt.timedelta(days=7)  # hours a usage CSV asks PostgreSQL for at a time


class TeamScoped(JsonErrors, viewsets.GenericViewSet):
    renderer_classes = [JSONRenderer, CsvRenderer]
    pagination_class = StableCursor
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    team_field = "account__team"
    csv_name = "wattson"
    copy_csv = False  # True: on PostgreSQL the CSV is written by COPY (dashboard.api.export), same rows and columns
    # Any {id} segment reaches the view, so an id that is not one is the API's JSON 404 rather than the site's
    # HTML page (the router's default pattern stops at "." and would leave "/accounts/1.5/" unrouted).
    lookup_value_regex = r"[\s\S]*"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no team
            return super().get_queryset().none()
        return super().get_queryset().filter(**{self.team_field: team_of(self.request)})

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        if wants_csv(request):
            self.paginator.check(request, queryset)
            return self.csv(queryset)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def csv(self, queryset):
        ordering = self.paginator.ordering
        ordering = (ordering,) if isinstance(ordering, str) else tuple(ordering)
        if self.copy_csv and export.supported():
            return export.copy_csv(queryset, self.get_serializer(), ordering, self.csv_name, self.copy_windows())
        fields = list(self.get_serializer().fields)

        def rows():
            for chunk in keyset(queryset, ordering):
                yield from self.serialized(chunk)

        return stream(rows(), fields, self.csv_name)

    def serialized(self, chunk: list) -> list[dict]:
        """A CSV chunk's rows as the JSON of a page of the same rows writes them."""
        return self.get_serializer(chunk, many=True).data

    def copy_windows(self) -> list[tuple] | None:
        """Spans of the ordering's first field to export one COPY at a time (None: one COPY)."""
        return None


def integer_id(viewset):
    """Documents ``{id}`` as the integer it is (from the lookup pattern alone the schema would say string)."""
    parameter = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The object's id")
    actions = [name for name in ("retrieve", "partial_update") if hasattr(viewset, name)]
    return extend_schema_view(**{name: extend_schema(parameters=[parameter]) for name in actions})(viewset)


def keyset(queryset, ordering: tuple[str, ...]):
    """The rows in ``ordering`` (unique: its last field is ``id``), a chunk per query, each chunk starting after
    the last row of the one before. Unlike one long cursor, the first rows go out at once and no query holds
    the whole result (PostgreSQL materialises a cursor held outside a transaction)."""
    last = None
    while True:
        page = queryset.order_by(*ordering)
        if last is not None:
            page = page.filter(_after(ordering, last))
        chunk = list(page[:CSV_CHUNK])
        if not chunk:
            return
        yield chunk
        last = tuple(getattr(chunk[-1], name) for name in ordering)


def _after(ordering: tuple[str, ...], last: tuple) -> Q:
    """(a, b) > (x, y) as a filter: a >= x and (a > x or b > y). The leading a >= x bounds an index range scan,
    so each chunk starts where the last ended instead of re-reading every row before it."""
    head, *rest = ordering
    if not rest:
        return Q(**{f"{head}__gt": last[0]})
    return Q(**{f"{head}__gte": last[0]}) & (Q(**{f"{head}__gt": last[0]}) | _after(tuple(rest), last[1:]))


class AccountFilter(StrictFilterSet):
    account_id = AccountIdFilter(field_name="account__account_id")
    region = RegionFilter()


@integer_id
class AccountViewSet(TeamScoped, mixins.RetrieveModelMixin):
    """The team's AWS accounts."""

    queryset = AwsAccount.objects.all()
    serializer_class = out.AccountSerializer
    team_field = "team"
    csv_name = "wattson-accounts"


class EndpointFilter(AccountFilter):
    name = TextFilter(lookup_expr="icontains")
    status = TextFilter()
    mode = django_filters.ChoiceFilter(choices=EndpointMode.choices)  # a typo is a 400, not an empty list
    deleted = FlagFilter(field_name="deleted_at", lookup_expr="isnull", exclude=True)
    team = TeamFilter(field_name="pk")

    class Meta:
        model = Endpoint
        fields = ["account_id", "region", "name", "status", "mode", "deleted", "team"]


@integer_id
class EndpointViewSet(TeamScoped, mixins.RetrieveModelMixin):
    """Endpoints with their current variants, their inference components and a 30-day footprint summary."""

    queryset = Endpoint.objects.select_related("account").prefetch_related(
        Prefetch("variant_configs", queryset=VariantConfig.objects.filter(valid_to__isnull=True)),
        Prefetch("inference_components", queryset=components.latest_components()),
    )
    serializer_class = out.EndpointSerializer
    filterset_class = EndpointFilter
    csv_name = "wattson-endpoints"

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "summaries": self.summaries}

    summaries: dict = {}

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self.summaries = summaries([endpoint.pk for endpoint in page])
        return page

    def serialized(self, chunk: list) -> list[dict]:
        """Each CSV chunk with its endpoints' ``summary_30d``, computed as for a page (one query per chunk)."""
        self.summaries = summaries([endpoint.pk for endpoint in chunk])
        return super().serialized(chunk)

    def retrieve(self, request, *args, **kwargs):
        endpoint = self.get_object()
        self.summaries = summaries([endpoint.pk])
        return Response(self.get_serializer(endpoint).data)


def summaries(endpoint_ids: list[int]) -> dict[int, dict]:
    return queries.recent_totals(endpoint_ids, timezone.now(), out.FOOTPRINT)


class VariantFilter(StrictFilterSet):
    endpoint = IdFilter(field_name="endpoint_id")
    current = FlagFilter(field_name="valid_to", lookup_expr="isnull")

    class Meta:
        model = VariantConfig
        fields = ["endpoint", "current"]


@integer_id
class VariantViewSet(TeamScoped, mixins.RetrieveModelMixin):
    """Every production variant's configuration history (``valid_to`` null: the current one)."""

    queryset = VariantConfig.objects.all()
    serializer_class = out.VariantSerializer
    filterset_class = VariantFilter
    team_field = "endpoint__account__team"
    csv_name = "wattson-variants"


class UsageParams(QueryParams):
    grain = serializers.ChoiceField(
        ["hour", "day"], default="hour", help_text="hour: variant-hours with their estimate; day: the daily rollups"
    )
    start = InstantField(required=False, help_text=f"Inclusive; default 7 days before end. {INSTANT_TEXT}")
    end = InstantField(required=False, help_text=f"Exclusive; default now. {INSTANT_TEXT}")
    endpoint = serializers.IntegerField(required=False, min_value=1, help_text="Endpoint id")
    account_id = AccountIdField(required=False)
    region = RegionField(required=False, help_text="AWS region code")
    team = TeamField(required=False)

    def validate(self, attrs):
        attrs.setdefault("end", timezone.now())
        attrs.setdefault("start", attrs["end"] - dt.timedelta(days=7))
        if attrs["start"] >= attrs["end"]:
            raise ValidationError({"start": "start must be before end."})
        return attrs


USAGE_ROWS = PolymorphicProxySerializer(
    component_name="UsageRow",
    serializers=[out.UsageHourSerializer, out.UsageDaySerializer],
    resource_type_field_name=None,
    many=True,
)


@extend_schema_view(
    list=extend_schema(
        parameters=[UsageParams],
        responses=USAGE_ROWS,
        description="Hourly (`grain=hour`: UsageHour rows) or daily (`grain=day`: UsageDay rows, the rollups) "
        "utilization and footprint per variant; every row of a page has its grain's shape.",
    )
)
class UsageViewSet(TeamScoped):
    """Hourly (``grain=hour``) or daily (``grain=day``) utilization and footprint per variant."""

    serializer_class = out.UsageHourSerializer
    csv_name = "wattson-usage"
    copy_csv = True  # a year of hours: millions of rows

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return VariantHour.objects.none()
        query = parsed(UsageParams, self.request)
        team = team_of(self.request)
        # Keys rather than a join on the team: PostgreSQL then sees how many rows match and walks the hour (or
        # day) index in order, so every page and CSV chunk costs the same however deep into the year it is.
        if query["grain"] == "day":
            accounts = list(AwsAccount.objects.filter(team=team).values_list("pk", flat=True))
            rows = VariantDay.objects.filter(
                account_id__in=accounts, day__gte=query["start"].date(), day__lt=query["end"].date()
            )
        else:
            endpoints = list(Endpoint.objects.filter(account__team=team).values_list("pk", flat=True))
            rows = (
                VariantHour.objects.select_related("estimate")
                .defer(  # the CSV never needs the long texts
                    "estimate__factors", "estimate__fallbacks"
                )
                .filter(endpoint_id__in=endpoints, hour__gte=query["start"], hour__lt=query["end"])
            )
        prefix = "" if query["grain"] == "day" else "endpoint__"
        for name, lookup in (
            ("endpoint", "endpoint_id"),
            ("team_endpoints", "endpoint_id__in"),
            ("account_id", f"{prefix}account__account_id"),
            ("region", "region" if query["grain"] == "day" else "endpoint__region"),
        ):
            if name in query:
                rows = rows.filter(**{lookup: query[name]})
        self.grain = query["grain"]
        self.span = (query["start"], query["end"])
        return rows

    def copy_windows(self) -> list[tuple] | None:
        """A week of hours (168,000 rows at 1,000 endpoints) per COPY; the daily rollups in one."""
        return None if self.grain == "day" else export.spans(*self.span, COPY_WINDOW)

    def get_serializer_class(self):
        return out.UsageDaySerializer if getattr(self, "grain", "hour") == "day" else out.UsageHourSerializer

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            self._paginator = (DayCursor if getattr(self, "grain", "hour") == "day" else HourCursor)()
        return self._paginator


class LogGroupFilter(AccountFilter):
    name = TextFilter(lookup_expr="icontains")
    day = DayFilter()
    since = DayFilter(field_name="day", lookup_expr="gte")
    never_expire = FlagFilter(field_name="retention_days", lookup_expr="isnull")

    class Meta:
        model = LogGroupSnapshot
        fields = ["account_id", "region", "name", "day", "since", "never_expire"]


class LogGroupViewSet(TeamScoped):
    """Daily snapshots of log groups: ``stored_bytes`` and retention (null: never expire)."""

    queryset = LogGroupSnapshot.objects.select_related("account")
    serializer_class = out.LogGroupSerializer
    filterset_class = LogGroupFilter
    pagination_class = DayCursor
    csv_name = "wattson-log-groups"


class StorageFilter(AccountFilter):
    bucket = TextFilter()
    prefix = TextFilter(lookup_expr="startswith")
    storage_class = TextFilter()
    since = DayFilter(field_name="day", lookup_expr="gte")

    class Meta:
        model = StorageLensDay
        fields = ["account_id", "region", "bucket", "prefix", "storage_class", "since"]


class StorageViewSet(TeamScoped):
    """S3 Storage Lens bytes and objects per bucket, prefix, storage class and day (data-capture buckets)."""

    queryset = StorageLensDay.objects.select_related("account")
    serializer_class = out.StorageSerializer
    filterset_class = StorageFilter
    pagination_class = DayCursor
    csv_name = "wattson-storage"


class RecommendationFilter(AccountFilter):
    kind = django_filters.ChoiceFilter(choices=Recommendation.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Recommendation.Status.choices)
    endpoint = IdFilter(field_name="endpoint_id")

    class Meta:
        model = Recommendation
        fields = ["account_id", "region", "kind", "status", "endpoint"]


@integer_id
@extend_schema_view(partial_update=extend_schema(request=out.RecommendationPatchSerializer))
class RecommendationViewSet(TeamScoped, mixins.RetrieveModelMixin, mixins.UpdateModelMixin):
    """Recommendations; PATCH ``status`` to ``dismissed`` (with ``dismissed_reason``), ``snoozed`` (with
    ``snoozed_until``) or ``open``. Needs a read-and-write token."""

    queryset = Recommendation.objects.select_related("account")
    serializer_class = out.RecommendationSerializer
    filterset_class = RecommendationFilter
    team_field = "team"
    http_method_names = ["get", "patch", "head", "options"]
    parser_classes = [JSONParser]  # the one body the schema documents (a form cannot say null)
    csv_name = "wattson-recommendations"


class ComponentEmissionParams(PeriodParams):
    grain = GrainField(default="day", help_text=f"hour covers at most {HOURLY_MAX_DAYS} days")


class ComponentEmissionsView(JsonErrors, APIView):
    """Energy, CO2e, inferences, instance-hours and list cost per period and inference component, with one
    "(unreserved capacity)" row per IC variant: each variant-hour's estimate split among the components placed on
    it and the capacity none reserved (docs/methodology.md, "Inference components"), so a period's rows of one
    variant add up to its totals. Only endpoints with inference components have rows."""

    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(parameters=[ComponentEmissionParams], responses={200: out.ComponentEmissionsSerializer})
    def get(self, request):
        query = parsed(ComponentEmissionParams, request)
        rows = component_emission_rows(team_of(request), query)
        if wants_csv(request):
            fields = list(out.ComponentEmissionRowSerializer().fields)
            return stream(rows, fields, f"wattson-component-emissions-{query['start']}-{query['end']}")
        return Response({"grain": query["grain"], "start": query["start"], "end": query["end"], "results": rows})


def component_emission_rows(team, query: dict) -> list[dict]:
    """The team's component rows over the query's days and filters (``components.series``), labelled."""
    accounts, endpoint_ids = period_scope(team, query)
    keys = {a["pk"] for a in accounts}
    endpoints = {e["id"]: e for e in queries.team_endpoints(team) if e["account_id"] in keys}
    ids = list(endpoints) if endpoint_ids is None else [pk for pk in endpoint_ids if pk in endpoints]
    frame = components.day_series(ids, query["start"], query["end"], query["grain"])
    names = dict(InferenceComponent.objects.filter(endpoint_id__in=ids).values_list("pk", "name"))
    rows = []
    for values in frame.to_dict("records"):
        endpoint = endpoints[int(values["endpoint_id"])]
        unreserved = pd.isna(values["component_id"])
        name = None if unreserved else names.get(int(values["component_id"]), "")
        carbon = values["co2e_kg"] + values["embodied_co2e_kg"]
        rows.append(
            {
                "period_start": values["bucket"].isoformat(),
                "group": f"{endpoint['name']}/{values['variant_name']} {components.UNRESERVED}" if unreserved else name,
                "component": name,
                "endpoint_id": int(values["endpoint_id"]),
                "endpoint": endpoint["name"],
                "account_id": endpoint["account__account_id"],
                "variant_name": values["variant_name"],
                **{name: _float(values[name]) for name in out.FOOTPRINT},
                "util_pct": _float(values["util_x"] / values["util_w"]) if values["util_w"] else None,
                "gco2e_per_1k_invocations": carbon * 1e6 / values["invocations"]
                if values["invocations"] > 0 and not unreserved
                else None,
                "cost_usd": _float(values["cost_usd"]),
                "priced_instance_hours": float(values["priced_instance_hours"]),
                "priced_share": share(values["priced_instance_hours"], values["instance_hours"]),
            }
        )
    return sorted(rows, key=lambda row: (row["period_start"], row["endpoint"], row["component"] is None, row["group"]))


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


class MethodologyView(JsonErrors, APIView):
    """The estimator's methodologies and versions, and the tables of factors with their sources."""

    renderer_classes = [JSONRenderer]

    @extend_schema(responses={200: out.MethodologySerializer})
    def get(self, request):
        import estimator
        from dashboard.footprint import estimates as footprint

        return Response(
            {
                "in_use": {"methodology": footprint.METHODOLOGY, "version": footprint.current_version()},
                "methodologies": [
                    {"name": name, "version": method.version, "description": (getattr(method, "description", "") or "")}
                    for name, method in estimator.METHODOLOGIES.items()
                ],
                "grid_factors": grid_factors(),
                "documentation": "/methodology/",
            }
        )


def grid_factors() -> list[dict]:
    """Per region, the factors the methodology in use applies, each with its source: location-based kg CO2e per kWh
    (the default figure), market-based kg CO2e per kWh (the location factor where none is published, flagged) and
    PUE (AWS's global figure where the region has none, flagged); the ``*`` row is the fallback for other regions."""
    import estimator
    from dashboard.footprint import estimates as footprint
    from estimator.factors import Factors
    from estimator.factors import grid_factors as resolved
    from estimator.tables import table

    method = estimator.METHODOLOGIES[footprint.METHODOLOGY]
    grid = resolved(method, Factors())
    cited = table(method.grid_table, "region")
    names = table("grid_factors", "region")["location"]
    two_factor = "location_kgco2e_per_kwh" in cited  # 2.0 layout: location_* and market_* columns
    rows = []
    for region, row in grid.iterrows():
        source = cited.loc[region]
        rows.append(
            {
                "region": region,
                "location": str(names.get(region, "")),
                "kgco2e_per_kwh": float(row["kgco2e_per_kwh"]),
                "basis": str(source["location_basis"]) if two_factor else "",
                "source": str(source["location_source" if two_factor else "source"]),
                "source_year": int(source["location_year" if two_factor else "source_year"]),
                "market_kgco2e_per_kwh": float(row["market_kgco2e_per_kwh"]),
                "market_fallback": bool(row["market_fallback"]),
                "market_source": str(source["market_source" if two_factor else "source"]),
                "pue": float(row["pue"]),
                "pue_fallback": bool(row["pue_fallback"]),
                "pue_source_id": str(row["pue_source_id"]),
            }
        )
    return rows
