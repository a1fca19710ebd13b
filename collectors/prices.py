"""On-demand list prices from the AWS Price List Query API (``pricing``: GetProducts), with their effective dates.

The Price List is the same for every customer, so it is read once for the regions of all registered accounts,
with the collector's own identity (no assumed role; it needs ``pricing:GetProducts``). Filters run on the server
(``TERM_MATCH`` on the product family, region and, for SageMaker, ``component``) and again here: a SageMaker
instance is kept as a hosting price only when its ``instanceType`` ends in ``-Hosting`` and its usage type holds
``Host:``, so no other component's price of the same type is ever taken for hosting. The training, notebook
instance, processing and batch-transform prices (issue 19: jobs and notebooks are priced by their own component)
are kept under their own services (``COMPONENTS``), each checked the same way (its ``instanceType`` suffix and
usage-type infix); asynchronous inference is not read.

GetProducts returns only current prices. Each is stored with its ``effectiveDate``; a price already stored for
that date is left alone, and a changed price (a new effective date) is a new row, so history accumulates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from collectors import aws
from collectors.models import Price

SAGEMAKER, CLOUDWATCH, S3 = "AmazonSageMaker", "AmazonCloudWatch", "AmazonS3"
INSTANCE_SERVICE, SERVERLESS_SERVICE = "sagemaker-inference", "sagemaker-serverless"
LOGS_SERVICE, S3_SERVICE = "cloudwatch-logs", "s3"
TRAINING_SERVICE, NOTEBOOK_SERVICE = "sagemaker-training", "sagemaker-notebook"
PROCESSING_SERVICE, TRANSFORM_SERVICE = "sagemaker-processing", "sagemaker-transform"
# Price List component -> (our service, its instanceType suffix, its usage-type infix ("USE1-Train:ml.m5.xlarge"))
COMPONENTS = {
    "Training": (TRAINING_SERVICE, "-Training", "-Train:"),
    "Notebook": (NOTEBOOK_SERVICE, "-Notebook", "-Notebk:"),
    "Processing": (PROCESSING_SERVICE, "-Processing", "-Processing:"),
    "Batch Transform": (TRANSFORM_SERVICE, "-BatchTransform", "-Tsform:"),
}
WORKLOAD_SERVICES = tuple(service for service, _, _ in COMPONENTS.values())
# A workload kind (``collectors.models.WorkloadKind``) -> the service its instance-hours are priced by. A Studio app
# has none: its JupyterLab/CodeEditor instance prices are not a component we read; its cost stays unpriced.
KIND_SERVICES = {
    "training": TRAINING_SERVICE,
    "processing": PROCESSING_SERVICE,
    "transform": TRANSFORM_SERVICE,
    "notebook": NOTEBOOK_SERVICE,
}
UNITS = {"hrs": "hour", "gb-second": "gb-second", "requests": "request", "gb-mo": "gb-month"}
S3_CLASSES = {
    "Standard": "STANDARD",
    "Standard - Infrequent Access": "STANDARD_IA",
    "Glacier Instant Retrieval": "GLACIER_IR",
    "Amazon Glacier": "GLACIER",
    "Glacier Deep Archive": "DEEP_ARCHIVE",
    "Intelligent-Tiering Frequent Access": "INTELLIGENT_TIERING",
}
PAGE_SIZE = 100


@dataclass
class PricesResult:
    regions: list[str] = field(default_factory=list)
    products: int = 0
    rows: int = 0
    new_rows: int = 0
    refused: int = 0  # products the server-side filters let through that are not what was asked for


@dataclass(frozen=True)
class PriceRow:
    service: str
    sku: str
    region: str
    unit: str
    usd: Decimal
    effective_date: datetime
    source_sku: str
    usage_type: str


def term_match(**fields: str) -> list[dict]:
    return [{"Type": "TERM_MATCH", "Field": name, "Value": value} for name, value in fields.items()]


def products(pricing, service_code: str, filters: list[dict]) -> Iterator[dict]:
    """Every product matching ``filters``, parsed (``PriceList`` items are JSON strings)."""
    pages = pricing.get_paginator("get_products").paginate(
        ServiceCode=service_code, Filters=filters, FormatVersion="aws_v1", PaginationConfig={"PageSize": PAGE_SIZE}
    )
    for page in pages:
        for item in page.get("PriceList", []):
            yield json.loads(item) if isinstance(item, str) else item


def on_demand(document: dict) -> tuple[Decimal, str, datetime] | None:
    """(USD per unit, unit, effective date) of the product's on-demand price: its first tier when tiered."""
    offers = document.get("terms", {}).get("OnDemand", {}).values()  # {sku: {offerTermCode: term}}
    for term in (term for offer in offers for term in offer.values()):
        dimensions = sorted(term["priceDimensions"].values(), key=lambda d: float(d.get("beginRange") or 0))
        if dimensions and "USD" in dimensions[0].get("pricePerUnit", {}):
            first = dimensions[0]
            return Decimal(first["pricePerUnit"]["USD"]), first["unit"], datetime.fromisoformat(term["effectiveDate"])
    return None


def price_row(document: dict, service: str, sku: str, region: str) -> PriceRow | None:
    price = on_demand(document)
    if price is None or price[1].lower() not in UNITS:
        return None
    usd, unit, effective = price
    attributes = document["product"]["attributes"]
    return PriceRow(
        service,
        sku,
        region,
        UNITS[unit.lower()],
        usd,
        effective,
        document["product"]["sku"],
        attributes.get("usagetype", ""),
    )


def is_hosting(attributes: dict) -> bool:
    return (
        attributes.get("component") == "Hosting"
        and str(attributes.get("instanceType", "")).endswith("-Hosting")
        and "-Host:" in str(attributes.get("usagetype", ""))
    )


def hosting_prices(pricing, region: str, result: PricesResult) -> list[PriceRow]:
    filters = term_match(productFamily="ML Instance", regionCode=region, component="Hosting")
    rows = []
    for document in products(pricing, SAGEMAKER, filters):
        result.products += 1
        attributes = document["product"]["attributes"]
        if not is_hosting(attributes) or attributes.get("regionCode") != region:
            result.refused += 1
            continue
        rows.append(price_row(document, INSTANCE_SERVICE, attributes["instanceName"], region))
    return [row for row in rows if row is not None]


def is_component(attributes: dict, component: str) -> bool:
    _, suffix, infix = COMPONENTS[component]
    return (
        attributes.get("component") == component
        and str(attributes.get("instanceType", "")).endswith(suffix)
        and infix in str(attributes.get("usagetype", ""))
    )


def component_prices(pricing, region: str, result: PricesResult) -> list[PriceRow]:
    """Instance-hour prices of training, notebook instances, processing and batch transform (``COMPONENTS``)."""
    rows = []
    for component, (service, _, _) in COMPONENTS.items():
        filters = term_match(productFamily="ML Instance", regionCode=region, component=component)
        for document in products(pricing, SAGEMAKER, filters):
            result.products += 1
            attributes = document["product"]["attributes"]
            if not is_component(attributes, component) or attributes.get("regionCode") != region:
                result.refused += 1
                continue
            rows.append(price_row(document, service, attributes["instanceName"], region))
    return [row for row in rows if row is not None and row.unit == "hour"]


def serverless_sku(usage_type: str) -> str | None:
    if usage_type.endswith("Mem-GB-s"):
        return "compute-gb-second"
    return "requests" if usage_type.endswith("Requests") else None


def other_prices(pricing, region: str, result: PricesResult) -> list[PriceRow]:
    """Serverless inference (GB-seconds, requests), CloudWatch Logs storage and S3 storage classes."""
    wanted = [
        (SAGEMAKER, "Serverless Inference", SERVERLESS_SERVICE, lambda a: serverless_sku(a.get("usagetype", ""))),
        (
            CLOUDWATCH,
            "Storage Snapshot",
            LOGS_SERVICE,
            lambda a: "STANDARD" if a.get("usagetype", "").endswith("-TimedStorage-ByteHrs") else None,
        ),
        (S3, "Storage", S3_SERVICE, lambda a: S3_CLASSES.get(a.get("volumeType", ""))),
    ]
    rows = []
    for code, family, service, sku_of in wanted:
        for document in products(pricing, code, term_match(productFamily=family, regionCode=region)):
            result.products += 1
            sku = sku_of(document["product"]["attributes"])
            if sku is None:
                result.refused += 1
                continue
            rows.append(price_row(document, service, sku, region))
    return [row for row in rows if row is not None]


def store(rows: list[PriceRow], now: datetime) -> int:
    """Insert the prices not stored yet for their effective date; returns how many were new."""
    new = 0
    for row in rows:
        _, created = Price.objects.get_or_create(
            service=row.service,
            sku=row.sku,
            region=row.region,
            unit=row.unit,
            effective_date=row.effective_date,
            defaults={"usd": row.usd, "source_sku": row.source_sku, "usage_type": row.usage_type, "collected_at": now},
        )
        new += created
    return new


def collect_prices(regions: list[str], now: datetime, calls: aws.ApiCalls) -> PricesResult:
    pricing = aws.own_client("pricing", aws.PRICING_REGION, calls)
    result = PricesResult(regions=sorted(regions))
    rows: list[PriceRow] = []
    for region in result.regions:
        rows += hosting_prices(pricing, region, result) + other_prices(pricing, region, result)
        rows += component_prices(pricing, region, result)
    result.rows = len(rows)
    result.new_rows = store(rows, now)
    return result
