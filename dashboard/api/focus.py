"""The FOCUS 1.2 export: one row per endpoint, UTC day and instance type (one SKU per charge, as FOCUS wants),
with the FinOps Open Cost and Usage Specification's columns and ``x_`` columns for energy and emissions.

List cost is the query layer's one cost function (each day at the list price in effect then). Where the account's
cost export (CUR 2.0 / FOCUS) has billed lines for the row's endpoint, day and instance type, BilledCost and
EffectiveCost carry its net amortized cost (discounts and Savings Plans applied; the export's invoiced, unamortized
split is not kept, so BilledCost is the amortized figure too) and ``x_CostBasis`` says "billed"; elsewhere they carry
the list cost and ``x_CostBasis`` says "list". No discount is invented. FOCUS forbids null costs, so a row whose type
and region have no list price carries 0 with ``x_CostBasis`` "unpriced".

Workloads (issue 19) follow each window's endpoint rows: one row per workload (training, processing or transform
job, notebook instance, Studio app), UTC day and instance type, ResourceId its ARN, ResourceType naming its kind,
ChargeDescription the SageMaker component its instance-hours are billed under, ConsumedQuantity its instance-hours,
list costs at that component's price where one is known (``workload_queries``: the one definition), the same
emissions columns, and ``x_WorkloadKind`` (endpoint rows: "inference"). A managed-Spot job's PricingQuantity is the
billed share of its instance-hours (billable / training seconds), so ListCost = ListUnitPrice x PricingQuantity.
Cost exports are matched to endpoints only: workload rows are at list price (``x_CostBasis`` list or unpriced).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
from django.http import StreamingHttpResponse

from dashboard.api.serializers import FOCUS_FIELDS, FOCUS_MEASURES
from dashboard.csv_safety import Rfc4180, spreadsheet_safe
from dashboard.footprint import billed, price_book, queries, workload_queries
from dashboard.footprint.price_book import PriceBook
from dashboard.footprint.queries import SERVERLESS_GB_SECONDS, with_cost

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
WORKLOAD_KIND_COLUMN = "x_WorkloadKind"
# The export's columns: FOCUS_FIELDS (the API schema's) and the lifecycle kind of each row.
FIELDS = [*FOCUS_FIELDS, *([] if WORKLOAD_KIND_COLUMN in FOCUS_FIELDS else [WORKLOAD_KIND_COLUMN])]
INFERENCE = "inference"
RESOURCE_TYPES = {
    "training": "SageMaker Training Job",
    "processing": "SageMaker Processing Job",
    "transform": "SageMaker Transform Job",
    "notebook": "SageMaker Notebook Instance",
    "studio-app": "SageMaker Studio App",
}
COMPONENTS = {
    "training": "Training",
    "processing": "Processing",
    "transform": "Batch Transform",
    "notebook": "Notebook Instance",
    "studio-app": "Studio app",
}
SERVERLESS = "serverless"
WINDOW_DAYS = 31
SLICE_ROWS = 2000


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


def describe(instance_type: str) -> str:
    if instance_type == SERVERLESS:
        return "SageMaker serverless inference: compute (GB-seconds) and requests"
    return f"SageMaker real-time inference hosting on {instance_type}, on demand"


def endpoint_columns(ids: pd.Series, endpoints: dict[int, dict]) -> dict[str, pd.Series]:
    """The columns that describe the endpoint (its account, region, ARN, name and tags)."""

    def pick(read) -> pd.Series:
        return ids.map({pk: read(endpoint) for pk, endpoint in endpoints.items()})

    account = pick(lambda e: e["account__account_id"])
    account_name = pick(lambda e: e["account__name"] or None)
    return {
        "BillingAccountId": account,
        "BillingAccountName": account_name,
        "SubAccountId": account,
        "SubAccountName": account_name,
        "RegionId": pick(lambda e: e["region"]),
        "ResourceId": pick(lambda e: e["arn"] or e["name"]),
        "ResourceName": pick(lambda e: e["name"]),
        "Tags": pick(lambda e: e["tags"] or {}),
    }


def period_columns(days: pd.Series) -> dict[str, pd.Series]:
    """The charge period (the UTC day) and the billing period (its calendar month), as FOCUS Date/Time text."""
    unique = days.unique()
    return {
        "BillingPeriodStart": days.map({day: instant(day.replace(day=1)) for day in unique}),
        "BillingPeriodEnd": days.map({day: instant(month_after(day)) for day in unique}),
        "ChargePeriodStart": days.map({day: instant(day) for day in unique}),
        "ChargePeriodEnd": days.map({day: instant(day + dt.timedelta(days=1)) for day in unique}),
    }


def cost_columns(frame: pd.DataFrame, book: PriceBook) -> dict[str, pd.Series]:
    """The four FOCUS costs, the unit price, the cost basis and what priced it, from the one cost function
    (``with_cost``: each day priced by the list price in effect then; NaN where no list price is known)."""
    priced = with_cost(frame.copy(), book)
    unit = with_cost(frame[["day", "instance_type", "region"]].assign(instance_hours=1.0), book)["cost_usd"]
    known = priced["cost_usd"].notna()
    listed = priced["cost_usd"].fillna(0.0)
    billed = frame["billed_cost_usd"] if "billed_cost_usd" in frame.columns else pd.Series(float("nan"), frame.index)
    has_bill = billed.notna()
    sku = book.hourly_sku(frame["instance_type"], frame["region"], price_book.times(frame, dt.datetime.now(dt.UTC)))
    return {
        **dict.fromkeys(COST_COLUMNS, listed),
        "SkuId": pd.Series(sku, index=frame.index).where(priced["price_source"] == price_book.COLLECTED, None),
        "BilledCost": billed.where(has_bill, listed),
        "EffectiveCost": billed.where(has_bill, listed),
        "ListUnitPrice": unit.where(known),
        "x_CostBasis": pd.Series(np.where(has_bill, "billed", np.where(known, "list", "unpriced")), frame.index),
        "x_PriceSource": priced["price_source"].where(known),
    }


def with_billed(frame: pd.DataFrame, accounts: list[dict], first: dt.date, last: dt.date, endpoint_ids) -> pd.DataFrame:
    """Adds ``billed_cost_usd`` per (day, endpoint, instance type) from the cost exports (NaN where none)."""
    days = billed.billed_days(accounts, first, last, endpoint_ids)
    days = days[days["endpoint_id"].notna()]
    if days.empty:
        return frame.assign(billed_cost_usd=float("nan"))
    keys = ["day", "endpoint_id", "instance_type"]
    sums = days.astype({"endpoint_id": int}).groupby(keys, as_index=False)["billed_cost_usd"].sum()
    return frame.merge(sums, on=keys, how="left")


def focus_frame(
    frame: pd.DataFrame, endpoints: dict[int, dict], method: tuple[str, str], book: PriceBook
) -> pd.DataFrame:
    """FOCUS rows (FOCUS_FIELDS, in order) from the query layer's sums per endpoint, day and instance type;
    None where a column is unknown."""
    frame = frame.reset_index(drop=True)
    instance_type = frame["instance_type"].replace("", None).fillna(SERVERLESS)
    serverless = instance_type == SERVERLESS
    costs = cost_columns(frame, book)
    # Serverless rows are used and priced in GB-seconds of compute (their requests' charge is in the same row, so no
    # single unit price applies); instance rows in instance-hours.
    gb_seconds = frame.get(SERVERLESS_GB_SECONDS, pd.Series(0.0, index=frame.index)).astype(float).fillna(0.0)
    quantity = frame["instance_hours"].astype(float).where(~serverless, gb_seconds)
    unit = pd.Series(np.where(serverless, "GB-Seconds", "Hours"), index=frame.index)
    columns = {
        **endpoint_columns(frame["endpoint_id"], endpoints),
        **period_columns(frame["day"]),
        **costs,
        "ListUnitPrice": costs["ListUnitPrice"].where(~serverless),
        **{column: frame[name].astype(float) for name, column in FOCUS_MEASURES.items()},
        "ConsumedQuantity": quantity,
        "ConsumedUnit": unit,
        "PricingQuantity": quantity,
        "PricingUnit": unit,
        "ChargeDescription": instance_type.map({name: describe(name) for name in instance_type.unique()}),
        "x_InstanceType": instance_type,
        "x_EstimateMethodology": method[0],
        "x_EstimateVersion": method[1],
        WORKLOAD_KIND_COLUMN: INFERENCE,
    }
    values = {**dict.fromkeys(FIELDS), **CONSTANT, **columns}  # None: allowed null and not known
    return pd.DataFrame({column: values[column] for column in FIELDS}, index=frame.index)


def describe_workload(kind: str, instance_type: str, spot: bool) -> str:
    basis = "managed Spot (billed seconds)" if spot else "on demand"
    return f"SageMaker {COMPONENTS.get(kind, kind)} on {instance_type}, {basis}"


def workload_focus_frame(frame: pd.DataFrame, method: tuple[str, str], names: dict[str, str]) -> pd.DataFrame:
    """FOCUS rows (``FIELDS``) from ``workload_queries.workload_days`` rows (per workload, day and instance type,
    priced by the component's list price); ``names``: account names by AWS account id."""
    frame = frame.reset_index(drop=True)
    known = frame["cost_usd"].notna()
    listed = frame["cost_usd"].astype(float).fillna(0.0)
    ratio = frame["spot_billed_ratio"].astype(float).fillna(1.0)
    quantity = frame["instance_hours"].astype(float)
    keys = list(zip(frame["kind"], frame["instance_type"], frame["spot"].astype(bool), strict=True))
    account = frame["account_id"]
    account_name = account.map(lambda account_id: names.get(account_id) or None)
    columns = {
        "BillingAccountId": account,
        "BillingAccountName": account_name,
        "SubAccountId": account,
        "SubAccountName": account_name,
        "RegionId": frame["region"],
        "ResourceId": frame["arn"].where(frame["arn"].astype(bool), frame["name"]),
        "ResourceName": frame["name"],
        "ResourceType": frame["kind"].map(RESOURCE_TYPES),
        "Tags": frame["tags"].map(lambda tags: tags or {}),
        **period_columns(frame["day"]),
        **dict.fromkeys(COST_COLUMNS, listed),
        "SkuId": pd.Series(frame["sku_id"], index=frame.index).where(known, None),
        "ListUnitPrice": frame["hourly_usd"].astype(float).where(known),
        "x_CostBasis": pd.Series(np.where(known, "list", "unpriced"), index=frame.index),
        "x_PriceSource": frame["price_source"].where(known),
        **{column: frame[name].astype(float) for name, column in FOCUS_MEASURES.items() if name in frame.columns},
        "x_Invocations": 0.0,
        "ConsumedQuantity": quantity,
        "PricingQuantity": quantity * ratio,
        "ChargeDescription": pd.Series([describe_workload(*key) for key in keys], index=frame.index),
        "x_InstanceType": frame["instance_type"],
        "x_EstimateMethodology": method[0],
        "x_EstimateVersion": method[1],
        WORKLOAD_KIND_COLUMN: frame["kind"],
    }
    values = {**dict.fromkeys(FIELDS), **CONSTANT, **columns}
    return pd.DataFrame({column: values[column] for column in FIELDS}, index=frame.index)


def workload_frames(accounts: list[dict], query: dict, first: dt.date, last: dt.date, method) -> Iterator[pd.DataFrame]:
    """The workload rows of one window of days, narrowed by the query's region and team tag (none when it asks for
    one endpoint)."""
    if query.get("endpoint") is not None or not accounts:
        return
    days = workload_queries.workload_days(accounts, first, last)
    if days.empty:
        return
    team_tag = query.get("team") if "team_endpoints" in query else None
    days = workload_queries.in_scope(days, query.get("region", ""), team_tag)
    names = {account["account_id"]: account["name"] for account in accounts}
    for begin in range(0, len(days), SLICE_ROWS):
        yield workload_focus_frame(days.iloc[begin : begin + SLICE_ROWS], method, names)


def focus_frames(team, query: dict, scope) -> Iterator[pd.DataFrame]:
    """The team's FOCUS rows over the period, a window of days per query (memory stays that of one window), sorted
    by day, endpoint and instance type. ``scope``: (accounts, endpoint ids) of the query's filters."""
    from dashboard.footprint import estimates as footprint

    endpoints = {e["id"]: e for e in queries.team_endpoints(team)}
    accounts, endpoint_ids = scope
    method = (footprint.METHODOLOGY, footprint.current_version())
    book = PriceBook.load()  # once per export: every slice is priced from the same prices
    for first, last in windows(query["start"], query["end"]):
        frame = with_billed(
            queries.endpoint_days(accounts, first, last, endpoint_ids), accounts, first, last, endpoint_ids
        )
        frame = frame.sort_values(["day", "endpoint_id", "instance_type"], na_position="first")
        for begin in range(0, len(frame), SLICE_ROWS):  # a slice at a time: ~70 columns of objects per row
            yield focus_frame(frame.iloc[begin : begin + SLICE_ROWS], endpoints, method, book)
        yield from workload_frames(accounts, query, first, last, method)


def focus_rows(frames: Iterator[pd.DataFrame]) -> list[dict]:
    """The rows as JSON-ready dicts (null for NaN)."""
    rows = []
    for frame in frames:
        rows += frame.astype(object).where(frame.notna(), None).to_dict("records")
    return rows


TEXT = (
    "BillingAccountName",
    "SubAccountName",
    "ResourceId",
    "ResourceName",
    "ChargeDescription",
    "x_InstanceType",
    WORKLOAD_KIND_COLUMN,
)


def csv_chunk(frame: pd.DataFrame) -> str:
    """One window's rows as CSV: Tags as JSON text (FOCUS's Key-Value Format), text a spreadsheet would run as a
    formula neutralised (``csv_safety``), null as an empty cell, CRLF line ends (``csv_safety.Rfc4180``)."""
    frame = frame.assign(
        Tags=frame["Tags"].map(lambda tags: json.dumps(tags, sort_keys=True)),
        **{column: frame[column].map(spreadsheet_safe) for column in TEXT},
    )
    return frame.to_csv(header=False, index=False, lineterminator=Rfc4180.lineterminator, na_rep="")


def focus_csv(frames: Iterator[pd.DataFrame], filename: str) -> StreamingHttpResponse:
    def body() -> Iterator[str]:
        out = io.StringIO()
        csv.writer(out, dialect=Rfc4180).writerow(FIELDS)
        yield out.getvalue()
        for frame in frames:
            yield csv_chunk(frame)

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
