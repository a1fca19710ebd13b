"""The sandbox's CUR 2.0 Data Export, read back over HTTP the way the product reads a customer's.

The session's seeded sandbox delivers the export of the prod account; ``collectors.cost_exports`` finds its
manifests, reads its Parquet files and attributes the lines. What it gives is checked against an independent
recomputation from ``fleet.series`` (instance-hours) and against the Price List the sandbox serves (list cost).
"""

import io
import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from collectors import cost_exports as ce
from sandbox import fleet as fl
from sandbox.clients import client
from sandbox.cost_export import SAVINGS_PLAN_DISCOUNT

LOCATION_PREFIX = {"us-east-1": "USE1", "eu-west-1": "EU", "eu-north-1": "EUN1"}  # AWS's usage type prefixes


@pytest.fixture(scope="module")
def now(sandbox):
    return datetime.fromisoformat(sandbox["seeded_at"])


@pytest.fixture(scope="module")
def export(sandbox):
    """The prod account's export as the product reads it: every billing period's lines, normalised."""
    where = sandbox["cost_exports"][fl.PROD]
    s3 = client("s3", sandbox["url"], "us-east-1", fl.PROD)
    periods = ce.manifest_files(s3, where["bucket"], where["prefix"], where["name"])
    frame = pd.concat([ce.read_export(files, s3) for files in periods.values()], ignore_index=True)
    return {"where": where, "s3": s3, "periods": periods, "frame": frame, "costs": ce.sagemaker_hosting_costs(frame)}


@pytest.fixture(scope="module")
def price_list(sandbox):
    """On-demand USD per hour of a SageMaker usage type, from the sandbox's Price List API over HTTP."""
    pricing, prices = client("pricing", sandbox["url"], "us-east-1"), {}

    def price(usage_type: str) -> float:
        if usage_type not in prices:
            [item] = pricing.get_products(
                ServiceCode="AmazonSageMaker",
                Filters=[{"Type": "TERM_MATCH", "Field": "usagetype", "Value": usage_type}],
            )["PriceList"]
            [offer] = json.loads(item)["terms"]["OnDemand"].values()
            [term] = offer.values()
            [dimension] = term["priceDimensions"].values()
            prices[usage_type] = float(dimension["pricePerUnit"]["USD"])
        return prices[usage_type]

    return price


def expected_instance_hours(now: datetime) -> pd.DataFrame:
    """Instance-hours per UTC day, endpoint and usage type of the prod fleet, from ``fleet.series`` minute by
    minute, over the complete hours of the seeded history."""
    minutes, _ = fl.minute_grid(now)
    complete = minutes[minutes < now.replace(minute=0, second=0, microsecond=0).timestamp()]
    days = pd.to_datetime(complete, unit="s").date
    rows = []
    for endpoint in fl.build_fleet():
        if endpoint.account != fl.PROD:
            continue
        for variant in endpoint.variants:
            instances = fl.series(endpoint, variant, complete, now.timestamp())["instances"]
            for seg in fl.segments(endpoint, variant, now.timestamp()):
                running = instances * ((complete >= seg.start) & (complete < seg.end))
                if seg.instance_type is None or not running.any():
                    continue
                usage_type = f"{LOCATION_PREFIX[endpoint.region]}-Host:{seg.instance_type}"
                per_day = pd.Series(running / 60.0).groupby(days).sum()
                rows += [(day, endpoint.name, usage_type, hours) for day, hours in per_day.items() if hours > 0]
    frame = pd.DataFrame(rows, columns=["day", "endpoint_name", "usage_type", "instance_hours"])
    return frame.groupby(["day", "endpoint_name", "usage_type"])["instance_hours"].sum()


def test_only_the_prod_account_has_an_export(sandbox):
    assert sandbox["cost_exports"] == {
        fl.PROD: {
            "bucket": "ml-prod-cost-exports",
            "prefix": "cur",
            "name": "wattson-cur2",
            "carbon_name": "wattson-carbon",
        }
    }
    research = client("s3", sandbox["url"], "us-east-1", fl.RESEARCH)
    assert not [b["Name"] for b in research.list_buckets()["Buckets"] if "cost-exports" in b["Name"]]


def test_the_export_is_delivered_as_data_exports_deliver_cur_2(export, now):
    s3, where = export["s3"], export["where"]
    history_start = datetime.fromtimestamp(fl.minute_grid(now)[0][0], now.tzinfo)
    last_hour = now.replace(minute=0, second=0, microsecond=0) - pd.Timedelta(hours=1)
    months = sorted({f"{history_start:%Y-%m}", f"{last_hour:%Y-%m}"})
    assert list(export["periods"]) == months
    for period, files in export["periods"].items():
        [data] = files
        assert data.bucket == where["bucket"]
        assert data.key.startswith(f"cur/wattson-cur2/data/BILLING_PERIOD={period}/")
        assert data.key.endswith(".snappy.parquet")
        key = f"cur/wattson-cur2/metadata/BILLING_PERIOD={period}/wattson-cur2-Manifest.json"
        manifest = json.loads(s3.get_object(Bucket=where["bucket"], Key=key)["Body"].read())
        assert manifest["billingPeriod"] == period and manifest["exportName"] == "wattson-cur2"
        assert manifest["exportArn"].startswith(f"arn:aws:bcm-data-exports:us-east-1:{fl.PROD}:export/wattson-cur2")
        assert manifest["dataFiles"] == [f"s3://{data.bucket}/{data.key}"]
        raw = pd.read_parquet(io.BytesIO(s3.get_object(Bucket=data.bucket, Key=data.key)["Body"].read()))
        assert ce.detect_format(raw) == ce.CUR
        assert {c["name"] for c in manifest["schema"]} == set(raw.columns)
        assert (raw["bill_billing_period_start_date"].dt.strftime("%Y-%m") == period).all()
        assert set(raw["line_item_line_item_type"]) >= {"Usage", "SavingsPlanCoveredUsage", "SavingsPlanNegation",
                                                        "SavingsPlanRecurringFee"}  # fmt: skip
        assert (raw["line_item_usage_account_id"] == fl.PROD).all()


def test_billed_instance_hours_are_the_fleets_instance_hours(export, now):
    endpoints = export["costs"].endpoints
    assert set(endpoints["account_id"]) == {fl.PROD}
    billed = endpoints.groupby(["day", "endpoint_name", "usage_type"])["instance_hours"].sum()
    expected = expected_instance_hours(now)
    assert billed.index.sort_values().tolist() == expected.index.sort_values().tolist()
    np.testing.assert_allclose(billed.loc[expected.index].to_numpy(), expected.to_numpy(), rtol=1e-9)
    names = set(billed.index.get_level_values("endpoint_name"))
    # the swap, autoscaling and a deletion are billed as they ran; serverless and failed endpoints run no instances
    assert {"recsys-ranker", "fraud-scoring", "old-forecast", "translate-inf1"} <= names
    assert not names & {"sentiment-serverless", "vision-exp-7", "llm-playground"}
    recsys = billed.xs("recsys-ranker", level="endpoint_name").groupby(level="usage_type").sum()
    assert {"USE1-Host:ml.g5.4xlarge", "USE1-Host:ml.g5.2xlarge", "USE1-Host:ml.g5.xlarge"} == set(recsys.index)
    deleted = (now - pd.Timedelta(days=6)).date()
    old_forecast = billed.xs("old-forecast", level="endpoint_name")
    assert max(old_forecast.index.get_level_values("day")) == deleted


def test_list_cost_is_the_price_list_price_and_the_savings_plan_bills_less(export, price_list):
    endpoints = export["costs"].endpoints
    expected_list = endpoints["instance_hours"] * endpoints["usage_type"].map(price_list)
    np.testing.assert_allclose(endpoints["list_cost_usd"], expected_list, rtol=1e-9)
    # covered usage bills at the Savings Plan rate, the rest at list: never more than list, never below the rate
    assert (endpoints["billed_cost_usd"] <= endpoints["list_cost_usd"] * (1 + 1e-9)).all()
    floor = endpoints["list_cost_usd"] * (1 - SAVINGS_PLAN_DISCOUNT)
    assert (endpoints["billed_cost_usd"] >= floor * (1 - 1e-9)).all()
    discounted = endpoints["billed_cost_usd"] < endpoints["list_cost_usd"] * 0.99
    assert discounted.mean() > 0.5
    assert (~discounted).any()  # beyond the commitment, usage is billed at list
    assert endpoints["billed_cost_usd"].sum() < 0.7 * endpoints["list_cost_usd"].sum()


def test_training_notebooks_unused_commitment_and_other_services_are_not_an_endpoints(export, price_list):
    frame, unattributed = export["frame"], export["costs"].unattributed
    by_reason = unattributed.groupby(["reason", "usage_type"])["billed_cost_usd"].sum()
    assert by_reason[(ce.NOT_HOSTING, "USE1-Train:ml.p3.2xlarge")] > 0
    assert by_reason[(ce.NOT_HOSTING, "USE1-Notebk:ml.m5.xlarge")] > 0
    unused = unattributed[unattributed["reason"] == ce.UNUSED_COMMITMENT]
    assert unused["billed_cost_usd"].sum() > 0 and (unused["billed_cost_usd"] >= -1e-9).all()
    assert unused["resource_id"].str.startswith(f"arn:aws:savingsplans::{fl.PROD}:savingsplan/").all()
    training = frame[frame["usage_type"] == "USE1-Train:ml.p3.2xlarge"]
    assert training["resource_id"].str.match(rf"arn:aws:sagemaker:us-east-1:{fl.PROD}:training-job/").all()
    np.testing.assert_allclose(
        training["list_cost_usd"], training["usage_amount"] * price_list("USE1-Train:ml.p3.2xlarge"), rtol=1e-9
    )
    assert set(frame["service"]) == {"AmazonSageMaker", "SageMakerSavingsPlans", "AmazonS3"}
    assert not (export["costs"].endpoints["usage_type"].str.contains("TimedStorage")).any()
    # endpoints and the unattributed rows add up to the export's SageMaker total
    sagemaker = ce.sagemaker_lines(frame)["net_amortized_cost_usd"].sum()
    total = export["costs"].endpoints["billed_cost_usd"].sum() + unattributed["billed_cost_usd"].sum()
    assert total == pytest.approx(sagemaker, rel=1e-9)


def test_sandbox_accounts_sets_the_export_of_the_listed_accounts_and_clears_the_others(db, tmp_path):
    from django.core.management import call_command

    from collectors.models import AwsAccount

    fleet = {
        "accounts": fl.ACCOUNTS,
        "regions": list(fl.REGIONS),
        "role_name": fl.ROLE_NAME,
        "cost_exports": {
            fl.PROD: {"bucket": "ml-prod-cost-exports", "prefix": "cur", "name": "wattson-cur2", "carbon_name": "wc"}
        },
    }
    ready = tmp_path / "accounts.json"  # not ready.json: test_ready looks for the session sandbox's by that name
    ready.write_text(json.dumps({**fleet, "cost_exports": {a: fleet["cost_exports"][fl.PROD] for a in fl.ACCOUNTS}}))
    call_command("sandbox_accounts", ready, stdout=io.StringIO())
    assert AwsAccount.objects.get(account_id=fl.RESEARCH).has_cost_export
    ready.write_text(json.dumps(fleet))
    call_command("sandbox_accounts", ready, stdout=io.StringIO())
    prod, research = AwsAccount.objects.get(account_id=fl.PROD), AwsAccount.objects.get(account_id=fl.RESEARCH)
    assert (prod.cost_export_bucket, prod.cost_export_prefix, prod.cost_export_name) == (
        "ml-prod-cost-exports",
        "cur",
        "wattson-cur2",
    )
    assert (research.cost_export_bucket, research.cost_export_prefix, research.cost_export_name) == ("", "", "")
    assert not research.has_cost_export and not research.has_carbon_export
    assert prod.carbon_export_name == "wc" and prod.has_carbon_export
