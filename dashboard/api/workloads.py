"""/api/v1/training-jobs/, /api/v1/tuning-jobs/ and /api/v1/notebooks/ (issue 19): the team's jobs, tuning jobs,
notebook instances and Studio apps, each with its figures over a period of UTC days (``start``..``end``, the
pages' rules; default the last 30 days). The figures are ``workload_queries``' (one call per page or CSV chunk),
so a row equals ``workload_totals`` (``tuning_totals``) over the same period.

A list holds what ran in the period: a job whose run meets it, a tuning job whose life does, a notebook instance
or app not deleted before it (with zeros where no hour of it was estimated yet). ``{id}/`` answers any of the
team's objects, with its figures over the period."""

from __future__ import annotations

import datetime as dt

import django_filters
import pandas as pd
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.response import Response

from collectors.models import JOB_KINDS, TuningJob, Workload
from collectors.models.workloads import INTERACTIVE_KINDS
from dashboard.api import workload_serializers as out
from dashboard.api.auth import team_of
from dashboard.api.params import (
    AccountIdFilter,
    DayField,
    FlagFilter,
    IdFilter,
    PeriodRules,
    QueryParams,
    RegionFilter,
    StrictFilterSet,
    TextFilter,
    parsed,
)
from dashboard.api.views import TeamScoped, integer_id
from dashboard.footprint import queries
from dashboard.footprint import workload_queries as wq
from dashboard.notify.models import Alert

NOTEBOOK_ALERT_KIND = "notebook-idle"
SUMS = ("instance_hours", "spot_instance_hours", "energy_kwh", "co2e_kg", "embodied_co2e_kg")


class WorkloadPeriodParams(PeriodRules, QueryParams):
    """The period the figures cover: UTC days, the pages' rules and messages."""

    start = DayField(required=False, help_text="First UTC day; default 29 days before end")
    end = DayField(required=False, help_text="Last UTC day, inclusive; default today")

    def validate(self, attrs):
        return self.check_period(attrs)


def period(request) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """The request's days and their bounds as instants, ``[start, end)``; a 400 naming a bad parameter."""
    query = parsed(WorkloadPeriodParams, request)
    start = dt.datetime.combine(query["start"], dt.time(), dt.UTC)
    end = dt.datetime.combine(query["end"] + dt.timedelta(days=1), dt.time(), dt.UTC)
    return query["start"], query["end"], start, end


def _value(value):
    """A figure as JSON writes it: NaN (unknown) is null, numpy numbers plain floats."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return float(value) if not isinstance(value, (str, bool, dt.datetime, dt.date)) else value


def empty_figures() -> dict:
    """A workload without an estimated hour in the period: nothing used, nothing known."""
    return {name: None for name in out.JOB_FIGURES} | dict.fromkeys(SUMS, 0.0) | {"hours": 0}


class PeriodFigures(TeamScoped):
    """Lists and objects with ``figures`` attached for the request's period (one query-layer call per page)."""

    period_kind: str = "workload"

    def period_bounds(self):
        if not hasattr(self, "_period"):
            self._period = period(self.request)
        return self._period

    def list(self, request, *args, **kwargs):
        self.period_bounds()  # a bad start or end is a 400 before anything is read
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        self.period_bounds()
        item = self.get_object()
        self.attach([item])
        return Response(self.get_serializer(item).data)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self.attach(page)
        return page

    def serialized(self, chunk: list) -> list[dict]:
        self.attach(chunk)
        return super().serialized(chunk)

    def attach(self, items: list) -> None:
        first, last, start, end = self.period_bounds()
        figures = self.figures([item.pk for item in items], start, end) if items else {}
        for item in items:
            item.figures = {**figures.get(item.pk, self.empty()), "period_start": first, "period_end": last}

    def empty(self) -> dict:
        return empty_figures()

    def figures(self, ids: list[int], start: dt.datetime, end: dt.datetime) -> dict[int, dict]:
        raise NotImplementedError

    def accounts(self) -> list[dict]:
        return queries.team_accounts(team_of(self.request))

    def ran_in_period(self, queryset):
        raise NotImplementedError

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False) or self.action != "list":
            return queryset
        return self.ran_in_period(queryset)


def workload_figures(accounts: list[dict], ids: list[int], start: dt.datetime, end: dt.datetime) -> dict[int, dict]:
    """``workload_totals`` of these workloads over [start, end), by id, as JSON values."""
    frame = wq.workload_totals(accounts, start, end, ids=ids)
    rows = {}
    for row in frame.to_dict("records"):
        values = {name: _value(row.get(name)) for name in out.JOB_FIGURES}
        values["hours"] = int(row.get("hours") or 0)
        rows[int(row["workload_id"])] = values
    return rows


class WorkloadFilter(StrictFilterSet):
    account_id = AccountIdFilter(field_name="account__account_id")
    region = RegionFilter()
    status = TextFilter()
    name = TextFilter(lookup_expr="icontains")


class TrainingJobFilter(WorkloadFilter):
    kind = django_filters.ChoiceFilter(choices=[(kind.value, kind.label) for kind in JOB_KINDS])
    tuning_job = IdFilter(field_name="tuning_job_id")
    spot = FlagFilter()

    class Meta:
        model = Workload
        fields = ["account_id", "region", "kind", "status", "name", "tuning_job", "spot"]


PERIOD_DOC = "Figures over `start`..`end` (UTC days, default the last 30)."


@integer_id
@extend_schema_view(
    list=extend_schema(parameters=[WorkloadPeriodParams], description=f"Jobs that ran in the period. {PERIOD_DOC}"),
    retrieve=extend_schema(parameters=[WorkloadPeriodParams], description=PERIOD_DOC),
)
class TrainingJobViewSet(PeriodFigures, mixins.RetrieveModelMixin):
    """Training, processing and batch-transform jobs (``kind``) with their figures over the period."""

    queryset = Workload.objects.filter(kind__in=list(JOB_KINDS)).select_related("account")
    serializer_class = out.TrainingJobSerializer
    filterset_class = TrainingJobFilter
    csv_name = "wattson-training-jobs"

    def ran_in_period(self, queryset):
        _, _, start, end = self.period_bounds()
        began = Coalesce(F("start_time"), F("created_time"))
        return queryset.alias(began=began).filter(Q(began__lt=end) & (Q(end_time__isnull=True) | Q(end_time__gt=start)))

    def figures(self, ids, start, end):
        return workload_figures(self.accounts(), ids, start, end)


class NotebookFilter(WorkloadFilter):
    kind = django_filters.ChoiceFilter(choices=[(kind.value, kind.label) for kind in INTERACTIVE_KINDS])
    auto_stop = FlagFilter()

    class Meta:
        model = Workload
        fields = ["account_id", "region", "kind", "status", "name", "auto_stop"]


@integer_id
@extend_schema_view(
    list=extend_schema(
        parameters=[WorkloadPeriodParams],
        description=f"Notebook instances and Studio apps not deleted before the period. {PERIOD_DOC}",
    ),
    retrieve=extend_schema(parameters=[WorkloadPeriodParams], description=PERIOD_DOC),
)
class NotebookViewSet(PeriodFigures, mixins.RetrieveModelMixin):
    """Notebook instances and Studio apps (``kind``): auto-stop, the open idle alert, figures over the period."""

    queryset = Workload.objects.filter(kind__in=list(INTERACTIVE_KINDS)).select_related("account")
    serializer_class = out.NotebookSerializer
    filterset_class = NotebookFilter
    csv_name = "wattson-notebooks"

    def ran_in_period(self, queryset):
        _, _, start, end = self.period_bounds()
        began = Coalesce(F("created_time"), F("start_time"), F("first_seen"))
        return queryset.alias(began=began).filter(
            Q(began__lt=end) & (Q(deleted_at__isnull=True) | Q(deleted_at__gte=start))
        )

    def empty(self) -> dict:
        return {**empty_figures(), "open_alert_id": None, "idle_since": None}

    def figures(self, ids, start, end):
        rows = workload_figures(self.accounts(), ids, start, end)
        alerts = Alert.objects.filter(
            team=team_of(self.request), workload_id__in=ids, kind=NOTEBOOK_ALERT_KIND, resolved_at__isnull=True
        ).values_list("workload_id", "pk", "idle_since")
        open_alerts = {workload: (pk, since) for workload, pk, since in alerts}
        for pk in ids:
            alert = open_alerts.get(pk, (None, None))
            rows[pk] = {**rows.get(pk, empty_figures()), "open_alert_id": alert[0], "idle_since": alert[1]}
        return rows


class TuningJobFilter(StrictFilterSet):
    account_id = AccountIdFilter(field_name="account__account_id")
    region = RegionFilter()
    status = TextFilter()
    strategy = TextFilter()
    name = TextFilter(lookup_expr="icontains")

    class Meta:
        model = TuningJob
        fields = ["account_id", "region", "status", "strategy", "name"]


TUNING_SUMS = ("instance_hours", "energy_kwh", "co2e_kg", "embodied_co2e_kg")


@integer_id
@extend_schema_view(
    list=extend_schema(
        parameters=[WorkloadPeriodParams], description=f"Tuning jobs whose life meets the period. {PERIOD_DOC}"
    ),
    retrieve=extend_schema(parameters=[WorkloadPeriodParams], description=PERIOD_DOC),
)
class TuningJobViewSet(PeriodFigures, mixins.RetrieveModelMixin):
    """Hyperparameter tuning jobs: strategy and limits, and their training jobs' figures over the period. The
    training jobs themselves: /api/v1/training-jobs/?tuning_job={id}."""

    queryset = TuningJob.objects.select_related("account")
    serializer_class = out.TuningJobSerializer
    filterset_class = TuningJobFilter
    csv_name = "wattson-tuning-jobs"

    def ran_in_period(self, queryset):
        _, _, start, end = self.period_bounds()
        began = Coalesce(F("created_time"), F("first_seen"))
        return queryset.alias(began=began).filter(Q(began__lt=end) & (Q(end_time__isnull=True) | Q(end_time__gt=start)))

    def empty(self) -> dict:
        return {"children": 0, **dict.fromkeys(TUNING_SUMS, 0.0), "cost_usd": None}

    def figures(self, ids, start, end):
        frame = wq.tuning_totals(self.accounts(), start, end)
        wanted = set(ids)
        rows = {}
        for row in frame.to_dict("records"):
            if int(row["tuning_job_id"]) in wanted:
                values = {name: _value(row.get(name)) for name in (*TUNING_SUMS, "cost_usd")}
                rows[int(row["tuning_job_id"])] = {**values, "children": int(row.get("children") or 0)}
        return rows
