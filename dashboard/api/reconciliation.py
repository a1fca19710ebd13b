"""/api/v1/reconciliation/: our figures beside AWS's own per account, region and month, and AWS's idle findings
beside ours. The rows are ``dashboard.footprint.reconciliation``'s, the page's too; these views only check the
parameters, scope to the caller's team and write JSON or CSV."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from dashboard.api.auth import team_of
from dashboard.api.csv import stream, wants_csv
from dashboard.api.params import AccountIdField, QueryParams, RegionField, parsed
from dashboard.api.reports import Api
from dashboard.footprint import reconciliation
from dashboard.footprint.rollups import next_month
from dashboard.recommend.policy import idle_policy, policy_of

MONTH = "^[0-9]{4}-(0[1-9]|1[0-2])$"
MONTH_TEXT = "A month as YYYY-MM, e.g. 2026-10."


@extend_schema_field({"type": "string", "pattern": MONTH, "description": MONTH_TEXT})
class MonthField(serializers.CharField):
    """YYYY-MM: the first day of that month."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not re.fullmatch(MONTH.removeprefix("^").removesuffix("$"), value):
            raise ValidationError(MONTH_TEXT)
        if not 1 <= int(value[:4]) < dt.MAXYEAR:  # year 0 is no date; in the last year the next month is none
            raise ValidationError(f"{MONTH_TEXT} Years 0001 to {dt.MAXYEAR - 1}.")
        return dt.date(int(value[:4]), int(value[5:]), 1)


class ReconciliationParams(QueryParams):
    month = MonthField(
        required=False, help_text=f"One month; default the last {reconciliation.DEFAULT_MONTHS} complete"
    )
    account_id = AccountIdField(required=False)
    region = RegionField(required=False, help_text="AWS region code")


def _kg(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


ReconciliationRowSerializer = type(
    "ReconciliationRowSerializer",
    (serializers.Serializer,),
    {
        "account_id": serializers.CharField(help_text="AWS account id"),
        "account_name": serializers.CharField(),
        "region": serializers.CharField(),
        "month": serializers.CharField(help_text="YYYY-MM"),
        "aws_location_based_co2e_kg": _kg(
            "AWS's estimate for SageMaker (service AmazonSageMaker), location-based, kg CO2e, latest model version; "
            "null where AWS has no figure for the month yet; 0 means below AWS's reporting precision (0.001 t)"
        ),
        "aws_market_based_co2e_kg": _kg("AWS's estimate, market-based, kg CO2e"),
        "aws_scope1_co2e_kg": _kg("AWS scope 1, kg CO2e"),
        "aws_scope2_location_co2e_kg": _kg("AWS scope 2, location-based, kg CO2e"),
        "aws_scope2_market_co2e_kg": _kg("AWS scope 2, market-based, kg CO2e"),
        "aws_scope3_location_co2e_kg": _kg("AWS scope 3 (upstream energy, hardware, buildings), location-based"),
        "aws_scope3_market_co2e_kg": _kg("AWS scope 3, market-based, kg CO2e"),
        "aws_model_version": serializers.CharField(allow_null=True, help_text="AWS's model version of the figures"),
        "aws_versions": serializers.IntegerField(help_text="Model versions seen for the month (over 1: revised)"),
        "aws_below_precision": serializers.BooleanField(help_text="AWS reported 0: below its reporting precision"),
        "co2e_kg": serializers.FloatField(help_text="Ours: operational CO2e, location-based, kg"),
        "co2e_market_kg": _kg("Ours: operational CO2e, market-based, kg; null while any hour lacks it"),
        "embodied_co2e_kg": serializers.FloatField(help_text="Ours: embodied CO2e (hardware), kg"),
        "energy_kwh": serializers.FloatField(help_text="Ours: energy, kWh (PUE included)"),
        "ratio": _kg(
            "AWS location-based / our operational + embodied; null where either is 0 or missing, or where we "
            "collected under 90 % of the month"
        ),
        "coverage_pct": serializers.FloatField(help_text="Share of the month's hours our collection covered, %"),
    },
)
FIELDS = list(ReconciliationRowSerializer._declared_fields)
assert tuple(FIELDS) == reconciliation.FIELDS  # noqa: S101 - one definition: the footprint's rows, documented here


class ReconciliationSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="First month, YYYY-MM")
    end = serializers.CharField(help_text="Last month, YYYY-MM (inclusive)")
    results = ReconciliationRowSerializer(many=True)


class ReconciliationView(Api):
    """Per account, region and month: AWS's own estimate of SageMaker's emissions (Sustainability API, latest
    model version) beside ours (operational location- and market-based, embodied, energy), their ratio and the
    share of the month we collected. Without ``month``, the last 12 complete months. ``?format=csv`` for CSV."""

    @extend_schema(parameters=[ReconciliationParams], responses={200: ReconciliationSerializer})
    def get(self, request):
        query = parsed(ReconciliationParams, request)
        if "month" in query:
            first, stop = query["month"], next_month(query["month"])
        else:
            first, stop = reconciliation.last_complete_months(timezone.now().date())
        rows = reconciliation.rows(team_of(request), first, stop, query.get("account_id", ""), query.get("region", ""))
        last = (stop - dt.timedelta(days=1)).strftime("%Y-%m")
        if wants_csv(request):
            return stream(rows, FIELDS, f"wattson-reconciliation-{first:%Y-%m}-{last}")
        return Response({"start": f"{first:%Y-%m}", "end": last, "results": rows})


IdleRowSerializer = type(
    "IdleRowSerializer",
    (serializers.Serializer,),
    {
        "endpoint_id": serializers.IntegerField(allow_null=True, help_text="Ours; null: a finding matching none"),
        "endpoint": serializers.CharField(help_text="Endpoint name (the finding's resource where unmatched)"),
        "region": serializers.CharField(),
        "resource_arn": serializers.CharField(allow_null=True, help_text="The finding's resource ARN"),
        "flagged_by": serializers.ChoiceField(["aws", "ours", "both"]),
        "our_idle_since": serializers.DateTimeField(allow_null=True),
        "our_idle_hours": serializers.IntegerField(),
        "waste_hours": serializers.FloatField(
            allow_null=True, help_text="Hours the waste covers: our idle period, else AWS's look-back"
        ),
        "waste_kwh": _kg("Energy of those hours, kWh (our estimates)"),
        "waste_co2e_kg": _kg("CO2e of those hours, operational + embodied, kg"),
        "waste_co2e_kg_month": _kg("The same per month (x 730 h / waste_hours)"),
        "aws_finding": serializers.CharField(allow_null=True),
        "aws_monthly_savings": serializers.FloatField(allow_null=True),
        "aws_currency": serializers.CharField(allow_null=True),
        "aws_lookback_days": serializers.FloatField(allow_null=True),
        "reason": serializers.CharField(help_text="Why AWS and we disagree, from the figures; empty where both flag"),
    },
)
IDLE_FIELDS = list(IdleRowSerializer._declared_fields)


class IdleComparisonSerializer(serializers.Serializer):
    idle_after_hours = serializers.IntegerField(help_text="Our threshold: the team policy's idle days x 24")
    results = IdleRowSerializer(many=True)


class IdleComparisonView(Api):
    """AWS Compute Optimizer's open idle findings on the team's SageMaker endpoints beside ours (the team's
    definition of idle, as recommendations use it), with our kWh and CO2e of the waste and AWS's monthly savings."""

    @extend_schema(responses={200: IdleComparisonSerializer})
    def get(self, request):
        team = team_of(request)
        policy = policy_of(team)
        idle = idle_policy(policy, policy.idle_days * 24)
        rows = IdleRowSerializer(reconciliation.idle(team, idle, timezone.now()), many=True).data
        if wants_csv(request):
            return stream(rows, IDLE_FIELDS, "wattson-idle-comparison")
        return Response({"idle_after_hours": idle.min_hours, "results": rows})
