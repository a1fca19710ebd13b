"""AWS Compute Optimizer's idle findings on SageMaker endpoints (``GetIdleRecommendations``, issue 18).

AWS states its idle findings in dollars only; kept here per resource ARN and matched to our endpoints, they can be
shown beside Wattson's own idle findings with the kWh and CO2e of the waste. One call (paginated) per account and
region, filtered on ``ResourceType = SageMakerEndpoint``; any other resource type that comes back anyway is
ignored. A finding keeps its ``first_seen``; one no longer returned is resolved (``resolved_at``), and reopened
if AWS reports it again.

Compute Optimizer must be enabled (opted in) for the account and the role allowed
``compute-optimizer:GetIdleRecommendations``: without either, the run fails with a message saying what to do,
on Collection health, and the other sources go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import ClientError
from django.db import transaction
from django.db.models.functions import Lower

from collectors import aws
from collectors.errors import CollectionFailed, error_code
from collectors.models import Endpoint, IdleFinding

RESOURCE_TYPE = "SageMakerEndpoint"
PAGE_SIZE = 100  # GetIdleRecommendations' maximum maxResults
OPT_IN_URL = "https://console.aws.amazon.com/compute-optimizer/home#/account"
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


@dataclass
class IdleFindingsResult:
    findings: int = 0  # SageMaker findings AWS returned
    new: int = 0  # first seen in this run (or reopened after being resolved)
    resolved: int = 0  # open before, no longer returned
    matched: int = 0  # findings pointing at one of our endpoints
    unmatched: int = 0
    ignored: int = 0  # other resource types returned despite the filter
    calls: int = 0


def endpoint_name(arn: str) -> str:
    """``arn:aws:sagemaker:us-east-1:111122223333:endpoint/legacy-churn-model`` -> ``legacy-churn-model``."""
    return arn.rsplit(":", 1)[-1].split("/", 1)[-1].lower()


def fetch(co) -> list[dict]:
    """Every idle recommendation of the region (pages followed), as AWS returns them."""
    found: list[dict] = []
    token = None
    while True:
        kwargs = {"filters": [{"name": "ResourceType", "values": [RESOURCE_TYPE]}], "maxResults": PAGE_SIZE}
        page = co.get_idle_recommendations(**kwargs, **({"nextToken": token} if token else {}))
        found.extend(page.get("idleRecommendations", []))
        token = page.get("nextToken")
        if not token:
            return found


def explain(exc: ClientError, account) -> Exception:
    """What to tell the operator: opt in, or grant the action; any other error as it came."""
    code = error_code(exc)
    if code == "OptInRequiredException":
        return CollectionFailed(
            f"Compute Optimizer is not enabled for account {account.account_id}: opt in at {OPT_IN_URL} "
            "(AWS needs up to 24 hours to produce its first findings)"
        )
    if code in DENIED_CODES:
        return CollectionFailed(
            f"the role may not read Compute Optimizer ({code}): allow compute-optimizer:GetIdleRecommendations "
            "in its policy"
        )
    return exc


def _best(rows) -> dict[str, int]:
    """key -> pk from (key, pk, deleted_at) rows, newest first: the live endpoint of a key wins, else the newest."""
    chosen: dict[str, tuple[int, bool]] = {}
    for key, pk, deleted_at in rows:
        live = deleted_at is None
        if key not in chosen or (live and not chosen[key][1]):
            chosen[key] = (pk, live)
    return {key: pk for key, (pk, _) in chosen.items()}


def match_endpoints(account, region: str, arns: list[str]) -> dict[str, int | None]:
    """Resource ARN -> our endpoint's pk (None when we have none): by ARN, else by name in the account and region
    (an ARN holds the name in lower case, as billed_costs matches names)."""
    endpoints = Endpoint.objects.filter(account=account).order_by("-pk")
    by_arn = _best(
        endpoints.annotate(key=Lower("arn"))
        .filter(key__in={a.lower() for a in arns})
        .values_list("key", "pk", "deleted_at")
    )
    by_name = _best(
        endpoints.annotate(key=Lower("name"))
        .filter(region=region, key__in={endpoint_name(a) for a in arns})
        .values_list("key", "pk", "deleted_at")
    )
    return {a: by_arn.get(a.lower()) or by_name.get(endpoint_name(a)) for a in arns}


def savings(block: dict | None) -> tuple[float | None, float | None, str]:
    """(percentage, monthly value, currency) of a savingsOpportunity block."""
    block = block or {}
    monthly = block.get("estimatedMonthlySavings") or {}
    return block.get("savingsOpportunityPercentage"), monthly.get("value"), monthly.get("currency", "")


def collect_idle_findings(account, region: str, now: datetime, calls: aws.ApiCalls) -> IdleFindingsResult:
    co = aws.client(account, "compute-optimizer", region, calls)
    result = IdleFindingsResult()
    try:
        returned = fetch(co)
    except ClientError as exc:
        raise explain(exc, account) from exc
    finally:
        result.calls = calls.total
    recommendations = {}
    for rec in returned:
        if rec.get("resourceType") != RESOURCE_TYPE or not rec.get("resourceArn"):
            result.ignored += 1
            continue
        recommendations[rec["resourceArn"]] = rec
    result.findings = len(recommendations)
    endpoints = match_endpoints(account, region, list(recommendations))
    with transaction.atomic():
        known = {
            f.resource_arn: f for f in IdleFinding.objects.select_for_update().filter(account=account, region=region)
        }
        for arn, rec in recommendations.items():
            pct, monthly, currency = savings(rec.get("savingsOpportunity"))
            _, after_discounts, _ = savings(rec.get("savingsOpportunityAfterDiscounts"))
            values = {
                "region": region,
                "resource_id": rec.get("resourceId", "")[:256],
                "endpoint_id": endpoints.get(arn),
                "finding": rec.get("finding", "")[:16],
                "description": rec.get("findingDescription", ""),
                "savings_pct": pct,
                "monthly_savings": monthly,
                "monthly_savings_after_discounts": after_discounts,
                "currency": currency,
                "lookback_days": rec.get("lookBackPeriodInDays"),
                "utilization_metrics": [
                    {"name": m.get("name"), "statistic": m.get("statistic"), "value": m.get("value")}
                    for m in rec.get("utilizationMetrics", [])
                ],
                "last_refreshed": rec.get("lastRefreshTimestamp"),
                "last_seen": now,
                "resolved_at": None,
            }
            existing = known.get(arn)
            if existing is None:
                IdleFinding.objects.create(account=account, resource_arn=arn, first_seen=now, **values)
                result.new += 1
            else:
                if existing.resolved_at is not None:
                    result.new += 1
                IdleFinding.objects.filter(pk=existing.pk).update(**values)
            if values["endpoint_id"]:
                result.matched += 1
            else:
                result.unmatched += 1
        gone = [f.pk for arn, f in known.items() if arn not in recommendations and f.resolved_at is None]
        result.resolved = IdleFinding.objects.filter(pk__in=gone).update(resolved_at=now)
    return result
