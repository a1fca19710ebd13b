"""The AWS Price List Query API (``pricing``: GetProducts, DescribeServices, GetAttributeValues), which moto lacks.

Products follow the real API's shape: each ``PriceList`` item is a JSON *string* holding ``product`` (``sku``,
``productFamily``, ``attributes``) and ``terms.OnDemand.<sku>.<offerTermCode>`` with ``effectiveDate`` and
``priceDimensions.<rateCode>`` (``unit``, ``pricePerUnit.USD`` as a decimal string). GetProducts returns only the
current price of each product, as AWS does; ``POST /_sandbox/prices`` changes one (a new ``effectiveDate``), so
tests can build a price history by collecting before and after.

SIMULATED PRICES, not product data. SageMaker hosting prices come, in order, from
1. the shipped table ``estimator/data/prices.csv`` for that type and region (each row cites its source);
2. the table's price of that type in us-east-1 times the region's factor (``REGION_FACTORS``);
3. the table's us-east-1 price of the nearest size of the same family, scaled by vCPUs, times the region factor;
4. a per-vCPU rate of the family's class (``VCPU_USD``, derived from table rows as noted) times the region factor.
Decoys of every type (training, notebook, processing, batch transform, asynchronous inference) are priced at
``DECOY_FACTORS`` times hosting, so a collector that takes the wrong component stores a visibly wrong price.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass

from estimator import prices as shipped
from estimator.catalog import hardware
from estimator.tables import read_table
from sandbox import fleet

SAGEMAKER, CLOUDWATCH, S3 = "AmazonSageMaker", "AmazonCloudWatch", "AmazonS3"
ON_DEMAND_TERM = "JRTCKXETXF"  # AWS's offer term code of on-demand prices
RATE_SUFFIX = "6YS6EN2CT7"
EFFECTIVE_DATE = "2026-01-01T00:00:00Z"  # when the simulated prices took effect
PAGE_DEFAULT = 100

LOCATIONS = {
    "us-east-1": ("US East (N. Virginia)", "USE1"),
    "us-west-2": ("US West (Oregon)", "USW2"),
    "eu-west-1": ("EU (Ireland)", "EU"),
    "eu-north-1": ("EU (Stockholm)", "EUN1"),
    "eu-central-1": ("EU (Frankfurt)", "EUC1"),
}
# eu-west-1: the table's ml.m5.xlarge there over us-east-1 (0.257 / 0.23); the others are simulated.
REGION_FACTORS = {"us-east-1": 1.0, "eu-west-1": 0.257 / 0.23, "eu-north-1": 1.06, "us-west-2": 1.0}
DEFAULT_REGION_FACTOR = 1.10
# USD per vCPU-hour by family class, from table rows: m5.xlarge 0.23/4, c5.xlarge 0.204/4, g5.xlarge 1.4084/4,
# p3.2xlarge 3.825/8, inf2.xlarge 0.99/4; t and r are simulated.
VCPU_USD = {"m": 0.0575, "c": 0.051, "g": 0.3521, "p": 0.4781, "inf": 0.2475, "trn": 0.2226, "t": 0.028, "r": 0.07}
# component -> (instanceType suffix, usage type infix, factor on the hosting price)
COMPONENTS = {
    "Hosting": ("Hosting", "Host", 1.0),
    "Training": ("Training", "Train", 1.25),
    "Notebook": ("Notebook", "Notebk", 0.85),
    "Processing": ("Processing", "Processing", 1.15),
    "Batch Transform": ("BatchTransform", "Tsform", 0.95),
    "AsyncInference": ("AsyncInf", "AsyncInf", 1.05),
}
SERVERLESS_GB_SECOND_USD = 0.00002  # the shipped table's us-east-1 row (sm-serverless-bench)
SERVERLESS_REQUEST_USD = 0.0000002  # $0.20 per million requests: simulated
LOGS_GB_MONTH_USD = 0.03  # the shipped table's us-east-1 row (c3x-cwlogs)
LOGS_INGESTION_GB_USD = 0.50  # a decoy of the storage price: simulated
S3_VOLUME_TYPES = {
    "STANDARD": "Standard",
    "STANDARD_IA": "Standard - Infrequent Access",
    "GLACIER_IR": "Glacier Instant Retrieval",
    "GLACIER": "Amazon Glacier",
    "DEEP_ARCHIVE": "Glacier Deep Archive",
    "INTELLIGENT_TIERING": "Intelligent-Tiering Frequent Access",
}


def sku_of(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16].upper()


def region_factor(region: str) -> float:
    return REGION_FACTORS.get(region, DEFAULT_REGION_FACTOR)


def family_class(family: str) -> str:
    for prefix in ("inf", "trn"):
        if family.startswith(prefix):
            return prefix
    return family[0]


def _table_hourly(instance_type: str, region: str) -> float | None:
    return shipped.instance_hour_usd(instance_type, region)


def _family_anchor(instance_type: str) -> float | None:
    """The table's us-east-1 price of the same family's nearest size, scaled by vCPUs."""
    family, vcpus = str(hardware(instance_type)["family"]), int(hardware(instance_type)["vcpus"])
    table = shipped.price_table()
    rows = table[(table["service"] == shipped.INSTANCE_SERVICE) & (table["region"] == "us-east-1")]
    anchors = [
        (abs(int(hardware(sku)["vcpus"]) - vcpus), float(usd), int(hardware(sku)["vcpus"]))
        for sku, usd in zip(rows["sku"], rows["usd"], strict=True)
        if str(hardware(sku)["family"]) == family
    ]
    if not anchors:
        return None
    _, usd, anchor_vcpus = min(anchors)
    return usd * vcpus / anchor_vcpus


def hosting_usd(instance_type: str, region: str) -> float:
    """The simulated on-demand hosting price per hour (rules 1-4 of the module docstring)."""
    exact = _table_hourly(instance_type, region)
    if exact is not None:
        return exact
    base = _table_hourly(instance_type, "us-east-1") or _family_anchor(instance_type)
    if base is None:
        row = hardware(instance_type)
        base = VCPU_USD.get(family_class(str(row["family"])), VCPU_USD["m"]) * int(row["vcpus"])
    return round(base * region_factor(region), 4)


def instance_types() -> list[str]:
    """Every type SageMaker hosts (botocore's enum, as the estimator catalogs it: the real Price List lists them
    all, so a recommendation's proposed size is priced too), the demo fleet's (swaps included) and the shipped
    table's."""
    hosting = read_table("sagemaker_hosting_types")["instance_type"]
    types = set(hosting) | {seg for e in fleet.build_fleet() for v in e.variants if (seg := v.instance_type)}
    types |= {e.swap.old_instance_type for e in fleet.build_fleet() if e.swap}
    table = shipped.price_table()
    types |= set(table.loc[table["service"] == shipped.INSTANCE_SERVICE, "sku"])
    return sorted(types)


def regions() -> list[str]:
    return sorted(LOCATIONS)


@dataclass
class Product:
    service: str
    sku: str
    family: str
    attributes: dict
    unit: str
    usd: float
    effective_date: str = EFFECTIVE_DATE
    description: str = ""

    def document(self) -> dict:
        rate = f"{self.sku}.{ON_DEMAND_TERM}.{RATE_SUFFIX}"
        term = {
            "offerTermCode": ON_DEMAND_TERM,
            "sku": self.sku,
            "effectiveDate": self.effective_date,
            "termAttributes": {},
            "priceDimensions": {
                rate: {
                    "rateCode": rate,
                    "description": self.description or f"${self.usd:.10f} per {self.unit} (SIMULATED by the sandbox)",
                    "beginRange": "0",
                    "endRange": "Inf",
                    "unit": self.unit,
                    "pricePerUnit": {"USD": f"{self.usd:.10f}"},
                    "appliesTo": [],
                }
            },
        }
        return {
            "product": {"productFamily": self.family, "attributes": self.attributes, "sku": self.sku},
            "serviceCode": self.service,
            "terms": {"OnDemand": {self.sku: {f"{self.sku}.{ON_DEMAND_TERM}": term}}},
            "version": "20260101000000",
            "publicationDate": EFFECTIVE_DATE,
        }


def _place(region: str) -> dict:
    location, _ = LOCATIONS[region]
    return {"regionCode": region, "location": location, "locationType": "AWS Region"}


def ml_instances(region: str) -> list[Product]:
    prefix = LOCATIONS[region][1]
    products = []
    for instance_type in instance_types():
        hosting = hosting_usd(instance_type, region)
        for component, (suffix, infix, factor) in COMPONENTS.items():
            usagetype = f"{prefix}-{infix}:{instance_type}"
            attributes = {
                "servicecode": SAGEMAKER,
                "servicename": "Amazon SageMaker",
                "instanceName": instance_type,
                "instanceType": f"{instance_type}-{suffix}",
                "component": component,
                "usagetype": usagetype,
                "operation": f"RunInstance:{suffix}",
                "vCpu": str(int(hardware(instance_type)["vcpus"])),
                **_place(region),
            }
            usd = hosting if factor == 1.0 else round(hosting * factor, 4)
            products.append(Product(SAGEMAKER, sku_of(usagetype), "ML Instance", attributes, "Hrs", usd))
    return products


def serverless(region: str) -> list[Product]:
    prefix, factor = LOCATIONS[region][1], region_factor(region)
    rows = [
        ("ServerlessInf:Mem-GB-s", "GB-Second", SERVERLESS_GB_SECOND_USD),
        ("ServerlessInf:Requests", "Requests", SERVERLESS_REQUEST_USD),
    ]
    return [
        Product(
            SAGEMAKER,
            sku_of(f"{prefix}-{usage}"),
            "Serverless Inference",
            {
                "servicecode": SAGEMAKER,
                "component": "ServerlessInference",
                "usagetype": f"{prefix}-{usage}",
                **_place(region),
            },
            unit,
            round(usd * factor, 12),
        )
        for usage, unit, usd in rows
    ]


def cloudwatch_logs(region: str) -> list[Product]:
    prefix, factor = LOCATIONS[region][1], region_factor(region)
    rows = [
        ("TimedStorage-ByteHrs", "Storage Snapshot", "GB-Mo", LOGS_GB_MONTH_USD),
        ("DataProcessing-Bytes", "Data Payload", "GB", LOGS_INGESTION_GB_USD),
    ]
    return [
        Product(
            CLOUDWATCH,
            sku_of(f"{prefix}-{usage}"),
            family,
            {"servicecode": CLOUDWATCH, "usagetype": f"{prefix}-{usage}", "group": "Logs", **_place(region)},
            unit,
            round(usd * factor, 6),
        )
        for usage, family, unit, usd in rows
    ]


def s3_storage(region: str) -> list[Product]:
    prefix, factor = LOCATIONS[region][1], region_factor(region)
    table = shipped.price_table()
    rows = table[(table["service"] == shipped.S3_SERVICE) & (table["region"] == "us-east-1")]
    products = []
    for storage_class, usd in zip(rows["sku"], rows["usd"], strict=True):
        usagetype = f"{prefix}-TimedStorage-{storage_class}-ByteHrs"
        attributes = {
            "servicecode": S3,
            "usagetype": usagetype,
            "volumeType": S3_VOLUME_TYPES[storage_class],
            "storageClass": storage_class,
            **_place(region),
        }
        products.append(Product(S3, sku_of(usagetype), "Storage", attributes, "GB-Mo", round(usd * factor, 6)))
    return products


def catalog() -> list[Product]:
    products: list[Product] = []
    for region in regions():
        products += ml_instances(region) + serverless(region) + cloudwatch_logs(region) + s3_storage(region)
    return products


def _field(product: Product, name: str) -> str | None:
    if name == "productFamily":
        return product.family
    if name == "sku":
        return product.sku
    value = product.attributes.get(name)
    return None if value is None else str(value)


def matches(product: Product, rule: dict) -> bool:
    value, wanted = _field(product, rule["Field"]), str(rule["Value"])
    kind = rule.get("Type", "TERM_MATCH")
    if kind in ("TERM_MATCH", "EQUALS"):
        return value is not None and value.lower() == wanted.lower()
    if kind == "CONTAINS":
        return value is not None and wanted.lower() in value.lower()
    options = [option.strip().lower() for option in wanted.split(",")]
    if kind == "ANY_OF":
        return value is not None and value.lower() in options
    return value is None or value.lower() not in options  # NONE_OF


class PriceList:
    """The sandbox's Price List: the catalog built once, and price changes on top of it."""

    def __init__(self) -> None:
        self._products: list[Product] | None = None
        self._lock = threading.Lock()

    @property
    def products(self) -> list[Product]:
        with self._lock:
            if self._products is None:
                self._products = catalog()
            return self._products

    def reset(self) -> None:
        with self._lock:
            self._products = None

    def change(self, rule: dict) -> list[dict]:
        """Set a new price on every product matching ``rule["match"]`` ({attribute: value}), from
        ``rule["effective_date"]`` on; returns the changed products' skus and prices."""
        changed = []
        for product in self.products:
            if all(_field(product, field) == str(value) for field, value in rule["match"].items()):
                product.usd, product.effective_date = float(rule["usd"]), rule["effective_date"]
                changed.append({"sku": product.sku, "usd": product.usd, "effective_date": product.effective_date})
        return changed

    def handle(self, operation: str, params: dict) -> tuple[int, dict]:
        if operation == "GetProducts":
            return self.get_products(params)
        if operation == "DescribeServices":
            return 200, {"Services": self.services(params.get("ServiceCode")), "FormatVersion": "aws_v1"}
        if operation == "GetAttributeValues":
            return self.attribute_values(params)
        return 400, {"__type": "InvalidParameterException", "message": f"{operation} is not simulated"}

    def get_products(self, params: dict) -> tuple[int, dict]:
        service = params.get("ServiceCode")
        if not service:
            return 400, {"__type": "InvalidParameterException", "message": "ServiceCode is required"}
        size = int(params.get("MaxResults") or PAGE_DEFAULT)
        if not 1 <= size <= PAGE_DEFAULT:
            return 400, {"__type": "InvalidParameterException", "message": "MaxResults must be 1-100"}
        rules = params.get("Filters") or []
        found = [p for p in self.products if p.service == service and all(matches(p, r) for r in rules)]
        start = int(params.get("NextToken") or 0)
        page = found[start : start + size]
        body: dict = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p.document()) for p in page]}
        if start + size < len(found):
            body["NextToken"] = str(start + size)
        return 200, body

    def services(self, code: str | None) -> list[dict]:
        codes = sorted({p.service for p in self.products if code in (None, p.service)})
        return [
            {
                "ServiceCode": c,
                "AttributeNames": sorted({k for p in self.products if p.service == c for k in p.attributes}),
            }
            for c in codes
        ]

    def attribute_values(self, params: dict) -> tuple[int, dict]:
        service, name = params.get("ServiceCode"), params.get("AttributeName")
        values = sorted({v for p in self.products if p.service == service and (v := _field(p, name or ""))})
        return 200, {"AttributeValues": [{"Value": v} for v in values]}
