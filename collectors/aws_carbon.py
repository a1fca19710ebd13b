"""AWS's own monthly carbon estimates of an account (Sustainability API ``GetEstimatedCarbonEmissions``, issue 18).

The data covers the whole account, so it is read once per account, in us-east-1: ``MONTHLY``, grouped by usage
account, region and service, all seven emissions types, paginated. Each run re-reads the last
``MONTHS`` complete months (one or two calls): AWS publishes a month with a delay and may revise it later
under a new model version, and re-reading a year is cheaper than tracking which months are final.

Every service's rows are kept (the response carries them anyway); SageMaker is only the ``SERVICE`` value
``AmazonSageMaker``. Figures come in metric tons CO2e and are stored in kg. The API returns only the latest
model version of each month: a version already held has its ``last_seen`` moved on, a new version of a month is a
new row, and older versions are never deleted, so every version seen stays comparable.

Errors are not swallowed: without access (the API not enabled for the account, or the role lacking the action)
the run fails with a message that says so, recorded on Collection health; the account's other sources go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from botocore.exceptions import ClientError
from django.db import transaction

from collectors import aws
from collectors.errors import CollectionFailed, describe_client_error, error_code
from collectors.models import AwsCarbonEstimate

REGION = "us-east-1"  # the Sustainability API's endpoint; the data is account-wide
MONTHS = 12  # complete months read by every run
PAGE_SIZE = 1000
SAGEMAKER_SERVICE = "AmazonSageMaker"
KG_PER_METRIC_TON = 1000.0
GROUP_BY = ["USAGE_ACCOUNT_ID", "REGION", "SERVICE"]
# Emissions type -> AwsCarbonEstimate field (kg).
FIELDS = {
    "TOTAL_LBM_CARBON_EMISSIONS": "location_co2e_kg",
    "TOTAL_MBM_CARBON_EMISSIONS": "market_co2e_kg",
    "TOTAL_SCOPE_1_CARBON_EMISSIONS": "scope1_co2e_kg",
    "TOTAL_SCOPE_2_LBM_CARBON_EMISSIONS": "scope2_location_co2e_kg",
    "TOTAL_SCOPE_2_MBM_CARBON_EMISSIONS": "scope2_market_co2e_kg",
    "TOTAL_SCOPE_3_LBM_CARBON_EMISSIONS": "scope3_location_co2e_kg",
    "TOTAL_SCOPE_3_MBM_CARBON_EMISSIONS": "scope3_market_co2e_kg",
}
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException"}


@dataclass
class AwsCarbonResult:
    months: int = 0  # months AWS returned figures for
    rows: int = 0  # rows returned (every service)
    rows_new: int = 0  # rows not held before (a new month, or a new model version of one)
    revisions: int = 0  # months held before that came back under a new model version
    revised_rows: int = 0  # rows of those months under the new version
    sagemaker_rows: int = 0
    below_precision: int = 0  # SageMaker rows AWS reported as 0: below its reporting precision, not no emissions
    calls: int = 0


def window(now: datetime) -> tuple[date, date]:
    """First day of the oldest month read and first day of the current month (exclusive): ``MONTHS`` months."""
    end = date(now.year, now.month, 1)
    months_back = end.year * 12 + end.month - 1 - MONTHS
    return date(months_back // 12, months_back % 12 + 1, 1), end


def fetch(sustainability, start: date, end: date) -> tuple[list[dict], int]:
    """Every result in the window, following NextToken; returns (results, calls made)."""
    request = {
        "TimePeriod": {
            "Start": datetime(start.year, start.month, 1, tzinfo=UTC),
            "End": datetime(end.year, end.month, 1, tzinfo=UTC),
        },
        "GroupBy": GROUP_BY,
        "EmissionsTypes": list(FIELDS),
        "Granularity": "MONTHLY",
        "MaxResults": PAGE_SIZE,
    }
    results, calls, token = [], 0, None
    while True:
        page = sustainability.get_estimated_carbon_emissions(**request, **({"NextToken": token} if token else {}))
        calls += 1
        results += page.get("Results", [])
        token = page.get("NextToken")
        if not token:
            return results, calls


def to_kg(values: dict, emissions_type: str) -> float | None:
    value = values.get(emissions_type, {}).get("Value")
    return None if value is None else value * KG_PER_METRIC_TON


def collect_aws_carbon(account, now: datetime, calls: aws.ApiCalls) -> AwsCarbonResult:
    start, end = window(now)
    sustainability = aws.client(account, "sustainability", REGION, calls)
    try:
        results, call_count = fetch(sustainability, start, end)
    except ClientError as exc:
        if error_code(exc) in DENIED_CODES:
            raise CollectionFailed(
                f"AWS's carbon estimates cannot be read in account {account.account_id}: the Sustainability API is "
                "not enabled for the account, or the role lacks sustainability:GetEstimatedCarbonEmissions "
                f"({describe_client_error(exc)})"
            ) from exc
        raise
    result = AwsCarbonResult(calls=call_count, rows=len(results))
    held = {
        (r.usage_account_id, r.region, r.service, r.month, r.model_version): r.pk
        for r in AwsCarbonEstimate.objects.filter(
            account=account, origin=AwsCarbonEstimate.Origin.API, month__gte=start, month__lt=end
        )
    }
    held_places = {key[:4] for key in held}
    seen, new_rows, revised_months = [], [], set()
    for item in results:
        dims = item.get("DimensionsValues", {})
        month = item["TimePeriod"]["Start"].astimezone(UTC).date()
        place = (
            dims.get("USAGE_ACCOUNT_ID", account.account_id),
            dims.get("REGION", ""),
            dims.get("SERVICE", ""),
            month,
        )
        key = (*place, item["ModelVersion"])
        values = item.get("EmissionsValues", {})
        if place[2] == SAGEMAKER_SERVICE:
            result.sagemaker_rows += 1
            result.below_precision += to_kg(values, "TOTAL_LBM_CARBON_EMISSIONS") == 0
        if key in held:
            seen.append(held[key])
            continue
        if place in held_places:
            revised_months.add(month)
            result.revised_rows += 1
        new_rows.append(
            AwsCarbonEstimate(
                account=account,
                usage_account_id=place[0],
                region=place[1],
                service=place[2],
                month=month,
                model_version=item["ModelVersion"],
                origin=AwsCarbonEstimate.Origin.API,
                first_seen=now,
                last_seen=now,
                **{field: to_kg(values, emissions_type) for emissions_type, field in FIELDS.items()},
            )
        )
    with transaction.atomic():
        AwsCarbonEstimate.objects.filter(pk__in=seen).update(last_seen=now)
        AwsCarbonEstimate.objects.bulk_create(new_rows, ignore_conflicts=True)
    result.rows_new = len(new_rows)
    result.revisions = len(revised_months)
    result.months = len({item["TimePeriod"]["Start"].astimezone(UTC).date() for item in results})
    return result
