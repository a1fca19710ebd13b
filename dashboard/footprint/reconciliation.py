"""Our numbers beside AWS's own, defined once for the page and the API (issue 18).

``rows``: per (account, region, month), AWS's monthly estimate for SageMaker (``AwsCarbonEstimate``, from the
Sustainability API and the CARBON_EMISSIONS export: the latest model version of the month, with every version
seen) beside ours for the same scope, summed from the rollups by the query layer (``queries.rollup_rows``, whole
months from the monthly rollups) with the share of the month our collection covered (``queries.collected_span``).
``gap``: the difference explained item by item, with figures.

``idle``: AWS Compute Optimizer's open idle findings beside our one definition of idle (``idle.IdlePolicy``, as
alerts, digests and recommendations build it: the caller passes the team's policy, ``recommend.policy`` being a
layer above this one), with the energy and CO2e of the waste from our stored estimates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
from django.db.models import F
from django.db.models.functions import TruncMonth

import estimator
from collectors.models import AwsCarbonEstimate, Endpoint, IdleFinding
from dashboard.footprint import queries
from dashboard.footprint.estimates import METHODOLOGY
from dashboard.footprint.idle import IdlePolicy
from dashboard.footprint.rollups import month_of, next_month
from estimator.factors import Factors, pue_factors

SAGEMAKER = "AmazonSageMaker"  # the SERVICE AWS groups SageMaker's emissions under
DEFAULT_MONTHS = 12  # without a month: the last 12 complete months
HOURS_PER_MONTH = 730  # a month of waste, as the recommendations' savings count it
AWS_FIELDS = {  # our name -> AwsCarbonEstimate field
    "aws_location_based_co2e_kg": "location_co2e_kg",
    "aws_market_based_co2e_kg": "market_co2e_kg",
    "aws_scope1_co2e_kg": "scope1_co2e_kg",
    "aws_scope2_location_co2e_kg": "scope2_location_co2e_kg",
    "aws_scope2_market_co2e_kg": "scope2_market_co2e_kg",
    "aws_scope3_location_co2e_kg": "scope3_location_co2e_kg",
    "aws_scope3_market_co2e_kg": "scope3_market_co2e_kg",
}
OURS = ("co2e_kg", "co2e_market_kg", "embodied_co2e_kg", "energy_kwh")
FIELDS = (
    "account_id",
    "account_name",
    "region",
    "month",
    *AWS_FIELDS,
    "aws_model_version",
    "aws_versions",
    "aws_below_precision",
    *OURS,
    "ratio",
    "coverage_pct",
)


# A ratio over a month we collected only part of compares AWS's whole month with part of ours: none below this.
RATIO_MIN_COVERAGE_PCT = 90.0


def last_complete_months(today: dt.date, count: int = DEFAULT_MONTHS) -> tuple[dt.date, dt.date]:
    """``[first, stop)``: the ``count`` whole months before ``today``'s month."""
    stop = month_of(today)
    first = stop
    for _ in range(count):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first, stop


def rows(team, first: dt.date, stop: dt.date, account_id: str = "", region: str = "") -> list[dict]:
    """One row per (account, region, month) of ``[first, stop)`` (first days of months) where AWS or we have
    figures, ordered by account, region and month. AWS's side (``aws_*``) is null where AWS has no row yet
    (``aws_history``: every model version seen of the month, oldest first, with where it was read);
    ``aws_below_precision`` is true where AWS reported 0 (it rounds to 0.001 t: below its precision, not none);
    ours is 0 where we have no hours. ``ratio`` is AWS location-based / our operational + embodied (None where
    ours is 0, AWS has no figure or is below its precision, or we collected under ``RATIO_MIN_COVERAGE_PCT`` of
    the month: the gap explanation scales ours by coverage instead); ``coverage_pct`` the share of the month's hours our
    collection covered."""
    accounts = [a for a in queries.team_accounts(team) if not account_id or a["account_id"] == account_id]
    if not accounts:
        return []
    aws = _aws(accounts, first, stop, region)
    ours = _ours(accounts, first, stop, region)
    keys = sorted(set(aws) | set(ours), key=lambda key: (_label(accounts, key[0]), key[1], key[2]))
    spans = _collected(accounts, {(pk, reg) for pk, reg, _ in keys})
    by_pk = {a["pk"]: a for a in accounts}
    found = []
    for pk, reg, month in keys:
        latest, history = aws.get((pk, reg, month), (None, []))
        sums = ours.get((pk, reg, month), dict.fromkeys(OURS, 0.0))
        row = {
            "account_id": by_pk[pk]["account_id"],
            "account_name": by_pk[pk]["name"],
            "region": reg,
            "month": f"{month:%Y-%m}",
            **{name: getattr(latest, field) if latest else None for name, field in AWS_FIELDS.items()},
            "aws_model_version": latest.model_version if latest else None,
            "aws_versions": len(history),
            "aws_history": history,
            "aws_below_precision": bool(latest) and latest.location_co2e_kg == 0,
            **sums,
        }
        hours = (_midnight(next_month(month)) - _midnight(month)) / queries.HOUR
        collected = queries.collected_hours(spans.get((pk, reg)), _midnight(month), _midnight(next_month(month)))
        row["coverage_pct"] = 100.0 * collected / hours
        whole = row["co2e_kg"] + row["embodied_co2e_kg"]
        location = row["aws_location_based_co2e_kg"]
        compared = location and whole and row["coverage_pct"] >= RATIO_MIN_COVERAGE_PCT
        row["ratio"] = location / whole if compared else None
        found.append(row)
    return found


def month_total(team, today: dt.date) -> dict | None:
    """The digest's monthly line: AWS's official figure for the last complete month before ``today`` (SageMaker,
    location-based, the latest version, all the team's accounts and regions) beside ours for the same accounts,
    regions and month (operational + embodied, as the ratio compares), and how much of the month we collected
    (hour-weighted over those rows). None until AWS has published the month. The sums of ``rows``, nothing else."""
    first, stop = last_complete_months(today, 1)
    published = [row for row in rows(team, first, stop) if row["aws_location_based_co2e_kg"] is not None]
    if not published:
        return None
    ours = sum(row["co2e_kg"] + row["embodied_co2e_kg"] for row in published)
    return {
        "month": first,
        "aws_location_based_co2e_kg": sum(row["aws_location_based_co2e_kg"] for row in published),
        "ours_co2e_kg": ours,
        "coverage_pct": sum(row["coverage_pct"] for row in published) / len(published),
        "revised": any(row["aws_versions"] > 1 for row in published),
    }


def _label(accounts: list[dict], pk: int) -> str:
    return next(a["account_id"] for a in accounts if a["pk"] == pk)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def version_key(version: str) -> tuple[int, ...]:
    """A model version's order: its numbers (``v3.10.0`` after ``v3.9.1``)."""
    return tuple(int(number) for number in re.findall(r"\d+", version))


def _aws(accounts: list[dict], first: dt.date, stop: dt.date, region: str) -> dict[tuple, tuple]:
    """(account pk, region, month) -> (the latest version's row, every version seen: ``{model_version,
    location_co2e_kg, market_co2e_kg, origins}`` oldest first), from the API and the CARBON_EMISSIONS export
    alike. The latest is the highest model version (on a tie the API's row, then the one seen last). Only the
    account's own usage (``usage_account_id``): ours covers the registered account's endpoints alone."""
    found = AwsCarbonEstimate.objects.filter(
        account_id__in=[a["pk"] for a in accounts], service=SAGEMAKER, month__gte=first, month__lt=stop
    )
    if region:
        found = found.filter(region=region)
    own = {a["pk"]: a["account_id"] for a in accounts}
    by_place: dict[tuple, list[AwsCarbonEstimate]] = defaultdict(list)
    for estimate in found.order_by("first_seen", "pk"):
        if estimate.usage_account_id == own[estimate.account_id]:
            by_place[(estimate.account_id, estimate.region, estimate.month)].append(estimate)
    out = {}
    for key, estimates in by_place.items():
        order = {e.pk: n for n, e in enumerate(estimates)}
        ranked = sorted(estimates, key=lambda e: (version_key(e.model_version), e.origin == e.Origin.API, order[e.pk]))
        history: dict[str, dict] = {}
        for estimate in ranked:
            seen = history.setdefault(
                estimate.model_version,
                {
                    "model_version": estimate.model_version,
                    "location_co2e_kg": estimate.location_co2e_kg,
                    "market_co2e_kg": estimate.market_co2e_kg,
                    "origins": [],
                },
            )
            seen["origins"].append(estimate.get_origin_display())
        out[key] = (ranked[-1], list(history.values()))
    return out


def _ours(accounts: list[dict], first: dt.date, stop: dt.date, region: str) -> dict[tuple, dict]:
    """(account pk, region, month) -> our sums, from the query layer's rollups (whole months)."""
    span = queries.Span.of(first, stop - dt.timedelta(days=1))
    buckets = ({"bucket": TruncMonth("day")}, {"bucket": F("month")})
    frame = queries.rollup_rows(accounts, span, None, ["account_id", "region", "bucket"], buckets, summed=OURS)
    found = {}
    for row in frame.to_dict("records"):
        if region and row["region"] != region:
            continue
        month = month_of(pd.Timestamp(row["bucket"]).date())
        found[(int(row["account_id"]), row["region"], month)] = {
            name: None if pd.isna(row[f"t_{name}"]) else float(row[f"t_{name}"]) for name in OURS
        }
    return found


def _collected(accounts: list[dict], pairs: set[tuple[int, str]]) -> dict[tuple, queries.Window | None]:
    """(account pk, region) -> what was collected there (``queries.collected_span``), one query per pair."""
    endpoints = Endpoint.objects.filter(account_id__in=[pk for pk, _ in pairs]).values_list(
        "pk", "account_id", "region"
    )
    ids = defaultdict(list)
    for pk, account_pk, reg in endpoints:
        ids[(account_pk, reg)].append(pk)
    by_pk = {a["pk"]: a for a in accounts}
    return {(pk, reg): queries.collected_span([by_pk[pk]], ids[(pk, reg)]) for pk, reg in pairs}


# --- The gap, item by item ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapItem:
    item: str
    aws_kg: float | None
    ours_kg: float | None
    note: str

    @property
    def difference_kg(self) -> float | None:
        return None if self.aws_kg is None or self.ours_kg is None else self.aws_kg - self.ours_kg


def pue(region: str) -> float:
    """The PUE our estimates use in ``region`` (the methodology's per-region table; the global figure where a
    region has none)."""
    frame = pue_factors(estimator.METHODOLOGIES[METHODOLOGY], Factors(), pd.Index([region]))
    return float(frame["pue"].iloc[0])


def gap(row: dict) -> list[GapItem]:
    """Why AWS's figure and ours differ for one row, each item with its figures."""
    items = []
    scope12 = _add(row["aws_scope1_co2e_kg"], row["aws_scope2_location_co2e_kg"])
    items.append(
        GapItem(
            "Operational: AWS scope 1 + 2 (location-based) vs our operational CO2e",
            scope12,
            row["co2e_kg"],
            "AWS counts its facilities' fuel and electricity; we count the electricity of the instances' measured "
            "use, on whole-instance power models.",
        )
    )
    items.append(
        GapItem(
            "Scope 3: AWS scope 3 (location-based) vs our embodied CO2e",
            row["aws_scope3_location_co2e_kg"],
            row["embodied_co2e_kg"],
            "AWS's scope 3 covers upstream energy, server hardware and buildings; ours covers the hardware only.",
        )
    )
    whole = row["co2e_kg"] + row["embodied_co2e_kg"]
    coverage = row["coverage_pct"]
    scaled = whole * 100 / coverage if coverage else None
    items.append(
        GapItem(
            f"Collection: we covered {coverage:.1f} % of the month's hours",
            row["aws_location_based_co2e_kg"],
            scaled,
            "Ours scaled to the whole month (our total / coverage); hours we did not collect are missing from "
            "ours, not from AWS's.",
        )
    )
    energy = row["energy_kwh"]
    grid = row["co2e_kg"] / energy if energy else None
    market = row["co2e_market_kg"] / energy if energy and row["co2e_market_kg"] is not None else None
    basis = f"{grid:.3f} kg/kWh location-based" if grid is not None else "no energy this month"
    if market is not None:
        basis += f", {market:.3f} kg/kWh market-based"
    items.append(
        GapItem(
            f"PUE and grid: our PUE {pue(row['region']):.2f}; our grid basis {basis}",
            row["aws_market_based_co2e_kg"],
            row["co2e_market_kg"],
            "Our grid factors: EPA eGRID subregions in the US, national averages elsewhere (docs/methodology.md); "
            "AWS uses its own facility PUE and, market-based, its renewable-energy purchases.",
        )
    )
    items.append(
        GapItem(
            "Allocation of shared services",
            None,
            None,
            "AWS allocates the emissions of shared infrastructure to SageMaker its own way; we count only the "
            "endpoints' instances (not notebooks, training jobs or SageMaker's control plane).",
        )
    )
    return items


def _add(*values: float | None) -> float | None:
    return None if any(value is None for value in values) else sum(values)


# --- Idle: AWS's findings and ours ------------------------------------------------------------------------------

AWS_ONLY, OURS_ONLY, BOTH = "aws", "ours", "both"


def idle(team, policy: IdlePolicy, now: dt.datetime) -> list[dict]:
    """One row per endpoint that AWS (an open ``IdleFinding``) or we (``policy.assess`` at ``now``) call idle,
    and one per open finding matched to none of our endpoints (by ARN): ``flagged_by`` "aws", "ours" or "both";
    the waste's energy and CO2e (operational + embodied) from our stored estimates: over our idle period where we
    flag it, else over AWS's look-back (the whole use: AWS calls it all idle), and per month (x 730 / its hours);
    AWS's estimated monthly savings; and ``reason`` where the two disagree, from the figures."""
    live = list(Endpoint.objects.filter(account__team=team, deleted_at__isnull=True).values("pk", "name", "region"))
    findings = list(
        IdleFinding.objects.filter(account__team=team, resolved_at__isnull=True).select_related("endpoint", "account")
    )
    names = {e["pk"]: e for e in live}
    for finding in findings:
        if finding.endpoint_id and finding.endpoint_id not in names:
            names[finding.endpoint_id] = {"pk": finding.endpoint_id, **_described(finding.endpoint)}
    assessed = policy.assess(list(names), now)
    by_endpoint = {f.endpoint_id: f for f in findings if f.endpoint_id}
    flagged = sorted({pk for pk, facts in assessed.items() if facts.idle} | set(by_endpoint))
    windows = _lookback_totals([pk for pk in flagged if not assessed[pk].idle], by_endpoint, now)
    found = []
    for pk in flagged:
        facts, finding = assessed[pk], by_endpoint.get(pk)
        if facts.idle:
            kwh, co2e, hours = facts.energy_kwh, facts.co2e_kg, facts.hours
        else:
            kwh, co2e, hours = windows.get(pk, (0.0, 0.0, 0.0, 0.0))[:3]
        found.append(
            {
                "endpoint_id": pk,
                "endpoint": names[pk]["name"],
                "region": names[pk]["region"],
                "resource_arn": finding.resource_arn if finding else None,
                "flagged_by": BOTH if facts.idle and finding else OURS_ONLY if facts.idle else AWS_ONLY,
                "our_idle_since": facts.since,
                "our_idle_hours": facts.hours,
                "waste_hours": hours,
                "waste_kwh": kwh,
                "waste_co2e_kg": co2e,
                "waste_co2e_kg_month": co2e * HOURS_PER_MONTH / hours if hours else None,
                **_aws_side(finding),
                "reason": _reason(facts, finding, policy, windows.get(pk)),
            }
        )
    for finding in findings:
        if not finding.endpoint_id:
            found.append(
                {
                    "endpoint_id": None,
                    "endpoint": finding.resource_id or finding.resource_arn,
                    "region": finding.region,
                    "resource_arn": finding.resource_arn,
                    "flagged_by": AWS_ONLY,
                    "our_idle_since": None,
                    "our_idle_hours": 0,
                    "waste_hours": None,
                    "waste_kwh": None,
                    "waste_co2e_kg": None,
                    "waste_co2e_kg_month": None,
                    **_aws_side(finding),
                    "reason": "Not one of the endpoints we collect (no endpoint with this ARN): we have no hours "
                    "of it.",
                }
            )
    return found


def _described(endpoint) -> dict:
    return {"name": endpoint.name, "region": endpoint.region}


def _aws_side(finding: IdleFinding | None) -> dict:
    return {
        "aws_finding": finding.finding if finding else None,
        "aws_monthly_savings": finding.monthly_savings if finding else None,
        "aws_currency": finding.currency if finding else None,
        "aws_lookback_days": finding.lookback_days if finding else None,
    }


def _lookback_totals(endpoint_ids: list[int], findings: dict, now: dt.datetime) -> dict[int, tuple]:
    """Per endpoint AWS flags and we do not: energy, CO2e (operational + embodied), hours and invocations over
    AWS's look-back up to ``now``'s hour, from the rollups (one query per distinct look-back)."""
    end = now.replace(minute=0, second=0, microsecond=0)
    by_days = defaultdict(list)
    for pk in endpoint_ids:
        by_days[findings[pk].lookback_days or 14.0].append(pk)
    totals = {}
    summed = ("energy_kwh", "co2e_kg", "embodied_co2e_kg", "invocations", "instance_hours")
    for days, ids in by_days.items():
        begin = end - dt.timedelta(days=days)
        span = queries.Span.of(begin.date(), (end - queries.HOUR).date(), (begin, end))
        frame = queries.rollup_rows(None, span, ids, ["endpoint_id"], summed=summed)
        for row in frame.to_dict("records"):
            totals[int(row["endpoint_id"])] = (
                float(row["t_energy_kwh"]),
                float(row["t_co2e_kg"]) + float(row["t_embodied_co2e_kg"]),
                days * 24,
                float(row["t_invocations"]),
            )
    return totals


def _reason(facts, finding: IdleFinding | None, policy: IdlePolicy, window: tuple | None) -> str:
    """Why AWS and we disagree about one endpoint, from the figures ("" where both flag it)."""
    if facts.idle and finding:
        return ""
    if facts.idle:
        return (
            f"We flag it: no inference for {facts.hours} h (since {facts.since:%Y-%m-%d %H:%M} UTC; our threshold "
            f"{policy.min_hours} h). AWS has no open finding: Compute Optimizer judges over its own look-back "
            "window and refreshes its findings daily."
        )
    lookback = finding.lookback_days or 0
    invocations = window[3] if window else 0.0
    if not facts.covered:
        return (
            f"We do not flag it: only {facts.collected_hours} of the last {policy.min_hours} h were collected (we "
            "need 90 %: missing data is not idleness)."
        )
    if facts.window_invocations:
        return (
            f"We do not flag it: {facts.window_invocations:,.0f} inferences in the last {policy.min_hours} h (our "
            f"threshold: none for {policy.min_hours} h); {invocations:,.0f} over AWS's {lookback:g}-day look-back."
        )
    return (
        f"We do not flag it: no instance ran in the last {policy.min_hours} h ({facts.window_instance_hours:g} "
        "instance-hours)."
    )
