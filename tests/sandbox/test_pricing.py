"""The sandbox's Price List Query API (moto has none), over HTTP with plain boto3: AWS's shapes, filters, paging,
decoys, every demo type and region, and price changes with a new effective date."""

import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from sandbox import fleet as fl
from sandbox import pricing
from sandbox.clients import client
from sandbox.server import SandboxServer
from tests.conftest import LOOPBACK_TIMEOUT_SECONDS

HOSTING = [
    {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
    {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"},
    {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
]


@pytest.fixture(scope="module")
def server():
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.fixture
def api(server):
    return client("pricing", server.url, "us-east-1")


def control(server, method: str, payload=None) -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(f"{server.url}/_sandbox/prices", data=data, method=method)
    with urllib.request.urlopen(request, timeout=LOOPBACK_TIMEOUT_SECONDS) as response:  # noqa: S310 - loopback sandbox only
        return json.loads(response.read())


def all_products(api, service: str, filters: list[dict], page_size: int = 100) -> list[dict]:
    pages = api.get_paginator("get_products").paginate(
        ServiceCode=service, Filters=filters, PaginationConfig={"PageSize": page_size}
    )
    items = [item for page in pages for item in page["PriceList"]]
    assert all(isinstance(item, str) for item in items)  # JSON strings, as AWS returns them
    return [json.loads(item) for item in items]


def usd(document: dict) -> float:
    (term,) = document["terms"]["OnDemand"].values()
    (offer,) = term.values()
    (dimension,) = offer["priceDimensions"].values()
    return float(dimension["pricePerUnit"]["USD"])


def test_it_returns_hosting_products_in_aws_shape_and_pages_with_next_token(api):
    small = all_products(api, "AmazonSageMaker", HOSTING, page_size=7)
    assert len(small) == len(all_products(api, "AmazonSageMaker", HOSTING)) == len(pricing.instance_types())
    document = next(d for d in small if d["product"]["attributes"]["instanceName"] == "ml.m5.xlarge")
    attributes = document["product"]["attributes"]
    assert document["product"]["productFamily"] == "ML Instance"
    assert attributes["instanceType"] == "ml.m5.xlarge-Hosting" and attributes["usagetype"] == "EU-Host:ml.m5.xlarge"
    assert attributes["location"] == "EU (Ireland)" and attributes["regionCode"] == "eu-west-1"
    offer = next(iter(document["terms"]["OnDemand"][document["product"]["sku"]].values()))
    assert offer["effectiveDate"] == pricing.EFFECTIVE_DATE
    (dimension,) = offer["priceDimensions"].values()
    assert dimension["unit"] == "Hrs" and float(dimension["pricePerUnit"]["USD"]) == 0.257  # the shipped table's row


def test_decoys_of_the_same_type_carry_other_prices(api):
    prices = {}
    for component in pricing.COMPONENTS:
        rules = [*HOSTING[:2], {"Type": "TERM_MATCH", "Field": "component", "Value": component}]
        (document,) = [
            d
            for d in all_products(api, "AmazonSageMaker", rules)
            if d["product"]["attributes"]["instanceName"] == "ml.g5.xlarge"
        ]
        prices[component] = usd(document)
    assert len(set(prices.values())) == len(prices), prices


def test_every_demo_instance_type_and_region_has_a_hosting_price(api):
    wanted = {(v.instance_type, e.region) for e in fl.build_fleet() for v in e.variants if v.instance_type}
    wanted |= {(e.swap.old_instance_type, e.region) for e in fl.build_fleet() if e.swap}
    offered = set()
    for region in fl.REGIONS:
        rules = [HOSTING[0], {**HOSTING[1], "Value": region}, HOSTING[2]]
        offered |= {
            (d["product"]["attributes"]["instanceName"], region) for d in all_products(api, "AmazonSageMaker", rules)
        }
    assert wanted <= offered


def test_serverless_logs_and_s3_storage_are_priced(api):
    region = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"}]
    serverless = all_products(
        api,
        "AmazonSageMaker",
        [*region, {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "Serverless Inference"}],
    )
    assert {d["product"]["attributes"]["usagetype"] for d in serverless} == {
        "USE1-ServerlessInf:Mem-GB-s",
        "USE1-ServerlessInf:Requests",
    }
    logs = all_products(api, "AmazonCloudWatch", region)
    assert {usd(d) for d in logs if d["product"]["productFamily"] == "Storage Snapshot"} == {0.03}
    s3 = all_products(api, "AmazonS3", region)
    assert {d["product"]["attributes"]["storageClass"] for d in s3} >= {"STANDARD", "GLACIER", "DEEP_ARCHIVE"}


def test_a_price_change_takes_a_new_effective_date(server, api):
    try:
        match = {"instanceType": "ml.m5.xlarge-Hosting", "regionCode": "eu-west-1"}
        changed = control(server, "POST", {"match": match, "usd": 0.3, "effective_date": "2026-11-20T00:00:00Z"})
        assert len(changed["changed"]) == 1
        (document,) = [
            d
            for d in all_products(api, "AmazonSageMaker", HOSTING)
            if d["product"]["attributes"]["instanceName"] == "ml.m5.xlarge"
        ]
        offer = next(iter(document["terms"]["OnDemand"][document["product"]["sku"]].values()))
        assert usd(document) == 0.3 and offer["effectiveDate"] == "2026-11-20T00:00:00Z"
    finally:
        control(server, "DELETE")


def test_describe_services_and_attribute_values(api):
    (service,) = api.describe_services(ServiceCode="AmazonSageMaker")["Services"]
    assert {"component", "instanceName", "regionCode", "usagetype"} <= set(service["AttributeNames"])
    values = {
        v["Value"]
        for v in api.get_attribute_values(ServiceCode="AmazonSageMaker", AttributeName="component")["AttributeValues"]
    }
    assert {"Hosting", "Training", "Notebook", "Processing", "Batch Transform"} <= values


def test_bad_requests_get_aws_errors(api):
    with pytest.raises(ClientError, match="MaxResults"):
        api.get_products(ServiceCode="AmazonSageMaker", MaxResults=101)
