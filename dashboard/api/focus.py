"""The FOCUS 1.2 export: one row per endpoint, UTC day and instance type (one SKU per charge, as FOCUS wants),
with the FinOps Open Cost and Usage Specification's columns and ``x_`` columns for energy and emissions.

Cost is the query layer's one cost function at list price. Billed cost is not available yet (the customer's cost
export is read later), so BilledCost, EffectiveCost and ContractedCost carry the list cost and ``x_CostBasis``
says "list"; no discount is invented. FOCUS forbids null costs, so a row whose type and region have no list price
carries 0 with ``x_CostBasis`` "unpriced".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pandas as pd

from dashboard.api.csv import stream
from dashboard.api.serializers import FOCUS_FIELDS, FOCUS_MEASURES
from dashboard.footprint import queries
from dashboard.footprint.queries import part_cost_usd

# The columns that are the same on every row: SageMaker hosting billed by AWS, on demand, in US dollars.
CONSTANT = {
    "BillingCurrency": "USD",
    "ChargeCategory": "Usage",
    "ChargeClass": None,
    "ChargeFrequency": "Usage-Based",
    "ConsumedUnit": "Hours",
    "InvoiceIssuerName": "AWS",
    "PricingCategory": "Standard",
    "PricingUnit": "Hours",
    "ProviderName": "AWS",
    "PublisherName": "AWS",
    "ServiceCategory": "AI and Machine Learning",
    "ServiceName": "Amazon SageMaker",
    "ServiceSubcategory": "Machine Learning",
    "ResourceType": "SageMaker Endpoint",
}
COST_COLUMNS = ("BilledCost", "EffectiveCost", "ContractedCost", "ListCost")
SERVERLESS = "serverless"
WINDOW_DAYS = 31


def instant(day: dt.date) -> str:
    """Midnight UTC of ``day`` in FOCUS's Date/Time format."""
    return f"{day.isoformat()}T00:00:00Z"


def month_after(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def windows(start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    """(first, last) day of consecutive windows of WINDOW_DAYS covering the period (``end`` inclusive): one query
    each, so a year's export holds one window's rows at a time and the default 30 days is one query."""
    first = start
    while first <= end:
        last = min(first + dt.timedelta(days=WINDOW_DAYS - 1), end)
        yield first, last
        first = last + dt.timedelta(days=1)


def cost_columns(instance_type: str, region: str, instance_hours: float) -> dict:
    """The four FOCUS costs, the unit price and the cost basis from the one cost function (list prices)."""
    cost = part_cost_usd(instance_type, region, instance_hours)
    if cost is None:
        return {**dict.fromkeys(COST_COLUMNS, 0.0), "ListUnitPrice": None, "x_CostBasis": "unpriced"}
    unit = cost / instance_hours if instance_hours else part_cost_usd(instance_type, region, 1.0)
    return {**dict.fromkeys(COST_COLUMNS, cost), "ListUnitPrice": unit, "x_CostBasis": "list"}


def describe(instance_type: str) -> str:
    if instance_type == SERVERLESS:
        return "SageMaker serverless inference"
    return f"SageMaker real-time inference hosting on {instance_type}, on demand"


def focus_row(endpoint: dict, part: dict, method: tuple[str, str]) -> dict:
    """One FOCUS row from the query layer's sums of an endpoint's day on one instance type."""
    day, instance_type = part["day"], part["instance_type"] or SERVERLESS
    values = {
        **dict.fromkeys(FOCUS_FIELDS),  # every column the spec allows null and Wattson does not know
        **CONSTANT,
        "BillingAccountId": endpoint["account__account_id"],
        "BillingAccountName": endpoint["account__name"] or None,
        "SubAccountId": endpoint["account__account_id"],
        "SubAccountName": endpoint["account__name"] or None,
        "BillingPeriodStart": instant(day.replace(day=1)),
        "BillingPeriodEnd": instant(month_after(day)),
        "ChargePeriodStart": instant(day),
        "ChargePeriodEnd": instant(day + dt.timedelta(days=1)),
        "ChargeDescription": describe(instance_type),
        "RegionId": endpoint["region"],
        "ResourceId": endpoint["arn"] or endpoint["name"],
        "ResourceName": endpoint["name"],
        "Tags": endpoint["tags"] or {},
        "PricingQuantity": float(part["instance_hours"]),
        **cost_columns(part["instance_type"], part["region"], part["instance_hours"]),
        **{column: None if pd.isna(part[name]) else float(part[name]) for name, column in FOCUS_MEASURES.items()},
        "x_InstanceType": instance_type,
        "x_EstimateMethodology": method[0],
        "x_EstimateVersion": method[1],
    }
    return {column: values[column] for column in FOCUS_FIELDS}


def focus_rows(team, query: dict, scope) -> Iterator[dict]:
    """The team's FOCUS rows over the period, a window of days per query (memory stays that of one window), sorted
    by day, endpoint and instance type. ``scope``: (accounts, endpoint ids) of the query's filters."""
    from dashboard.footprint import estimates as footprint

    endpoints = {e["id"]: e for e in queries.team_endpoints(team)}
    accounts, endpoint_ids = scope
    method = (footprint.METHODOLOGY, footprint.current_version())
    for first, last in windows(query["start"], query["end"]):
        frame = queries.endpoint_days(accounts, first, last, endpoint_ids)
        frame = frame.sort_values(["day", "endpoint_id", "instance_type"], na_position="first")
        for part in frame.to_dict("records"):
            yield focus_row(endpoints[part["endpoint_id"]], part, method)


def focus_csv(rows: Iterator[dict], filename: str):
    """The rows as streamed CSV: Tags as JSON text (FOCUS's Key-Value Format)."""
    flat = ({**row, "Tags": json.dumps(row["Tags"], sort_keys=True)} for row in rows)
    return stream(flat, FOCUS_FIELDS, filename)
