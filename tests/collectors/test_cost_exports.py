"""Billed cost of SageMaker endpoints from hand-built CUR 2.0 and FOCUS 1.x exports, written here into tmp dirs.

One day of usage of three endpoints in two accounts, priced three ways (on demand with a 10 % discount, Savings
Plan, reservation), beside what must not land on an endpoint: a training job and a notebook of the same instance
type, an untagged credit, unused commitments, a resource id that is not an ARN, and an EC2 line.
"""

import gzip
import json
import time
import uuid
from datetime import date

import pandas as pd
import pytest

from collectors import cost_exports as ce
from sandbox import fleet as fl
from sandbox.clients import client

A, B = "111111111111", "022222222222"  # B's leading zero must survive CSV
FRAUD = f"arn:aws:sagemaker:us-east-1:{A}:endpoint/fraud-scorer"
CHAT = f"arn:aws:sagemaker:us-east-1:{A}:endpoint/chat-serverless"
RECSYS = f"arn:aws:sagemaker:eu-west-1:{B}:endpoint/recsys"
SP_ARN = f"arn:aws:savingsplans::{A}:savingsplan/0f1e2d3c"
RI_ARN = f"arn:aws:sagemaker:eu-west-1:{B}:reserved-instances/ri-1"
D1, D2 = date(2026, 11, 3), date(2026, 11, 4)
M5, C5 = "USE1-Host:ml.m5.xlarge", "EUW1-Host:ml.c5.large"
SERVERLESS = "USE1-ServerlessInf:Mem-4GB"


def cur_line(line_type, start, account, product, usage_type, resource, amount, unblended, net, **extra):
    row = {column: None for column in [*ce.CUR_REQUIRED, *ce.NET_TWINS, "savings_plan_offering_type"]}
    row.update(
        line_item_line_item_type=line_type,
        line_item_usage_start_date=start,
        line_item_usage_account_id=account,
        line_item_product_code=product,
        line_item_usage_type=usage_type,
        line_item_resource_id=resource,
        line_item_usage_amount=amount,
        line_item_unblended_cost=unblended,
        line_item_net_unblended_cost=net,
        product_region_code="eu-west-1" if account == B else "us-east-1",
    )
    row.update(extra)
    return row


SM = "AmazonSageMaker"
CUR_LINES = [
    # on demand, 10 % discount: the day boundary splits two hours of fraud-scorer (its ARN in two cases)
    cur_line("Usage", "2026-11-03T23:00:00Z", A, SM, M5, FRAUD.replace("fraud", "Fraud"), 1.0, 0.23, 0.207,
             pricing_public_on_demand_cost=0.23),
    cur_line("Usage", "2026-11-04T00:00:00Z", A, SM, M5, FRAUD, 1.0, 0.23, 0.207, pricing_public_on_demand_cost=0.23),
    # Savings Plan: covered usage, its negation, and the hour's fee of which 0.05 went unused (net 0.045)
    cur_line("SavingsPlanCoveredUsage", "2026-11-03T22:00:00Z", A, SM, M5, FRAUD, 1.0, 0.23, 0.207,
             pricing_public_on_demand_cost=0.23, savings_plan_savings_plan_effective_cost=0.15,
             savings_plan_net_savings_plan_effective_cost=0.135),
    cur_line("SavingsPlanNegation", "2026-11-03T22:00:00Z", A, SM, M5, FRAUD, 1.0, -0.23, -0.207),
    cur_line("SavingsPlanRecurringFee", "2026-11-03T22:00:00Z", A, "MachineLearningSavingsPlans",
             "SageMakerSP:1yrNoUpfront", SP_ARN, 1.0, 0.20, 0.18, savings_plan_total_commitment_to_date=0.20,
             savings_plan_used_commitment=0.15, savings_plan_offering_type="SageMakerSavingsPlans"),
    # reservation: discounted usage and the period's unused fee (net 0.009 + 0.018)
    cur_line("DiscountedUsage", "2026-11-03T10:00:00Z", B, SM, C5, RECSYS, 1.0, 0.0, 0.0,
             pricing_public_on_demand_cost=0.119, reservation_effective_cost=0.08, reservation_net_effective_cost=0.072,
             reservation_reservation_a_r_n=RI_ARN),
    cur_line("RIFee", "2026-11-03T00:00:00Z", B, SM, "EUW1-HeavyUsage:ml.c5.large", RI_ARN, 1.0, 0.5, 0.45,
             reservation_unused_amortized_upfront_fee_for_billing_period=0.01, reservation_unused_recurring_fee=0.02,
             reservation_net_unused_amortized_upfront_fee_for_billing_period=0.009,
             reservation_net_unused_recurring_fee=0.018, reservation_reservation_a_r_n=RI_ARN),
    # on demand without a discount: the net column is empty
    cur_line("Usage", "2026-11-04T05:00:00Z", B, SM, C5, RECSYS, 2.0, 0.238, None, pricing_public_on_demand_cost=0.238),
    cur_line("Usage", "2026-11-03T08:00:00Z", A, SM, SERVERLESS, CHAT, 3600.0, 0.36, 0.324,
             pricing_public_on_demand_cost=0.36),
    # not an endpoint's
    cur_line("Credit", "2026-11-03T00:00:00Z", A, SM, "", "", 0.0, -1.0, -0.9),
    cur_line("Usage", "2026-11-03T09:00:00Z", A, SM, "USE1-Train:ml.m5.xlarge",
             f"arn:aws:sagemaker:us-east-1:{A}:training-job/fraud-train", 1.0, 0.23, 0.207,
             pricing_public_on_demand_cost=0.23),
    cur_line("Usage", "2026-11-03T09:00:00Z", A, SM, "USE1-Notebk:ml.m5.xlarge",
             f"arn:aws:sagemaker:us-east-1:{A}:notebook-instance/lab", 1.0, 0.23, 0.207,
             pricing_public_on_demand_cost=0.23),
    cur_line("Usage", "2026-11-04T01:00:00Z", A, SM, M5, "fraud-scorer", 1.0, 0.23, 0.207,
             pricing_public_on_demand_cost=0.23),
    cur_line("Usage", "2026-11-03T09:00:00Z", A, "AmazonEC2", "BoxUsage:m5.xlarge", "i-0abc", 1.0, 0.192, 0.173,
             pricing_public_on_demand_cost=0.192),
]  # fmt: skip

# Computed by hand from the lines above.
BILLED = {
    (D1, FRAUD, M5): 0.207 + 0.135,  # on-demand net + Savings Plan net effective; the negation adds nothing
    (D2, FRAUD, M5): 0.207,
    (D1, RECSYS, C5): 0.072,  # reservation net effective
    (D2, RECSYS, C5): 0.238,  # no net value: the gross
    (D1, CHAT, SERVERLESS): 0.324,
}
LIST = {
    (D1, FRAUD, M5): 0.46,
    (D2, FRAUD, M5): 0.23,
    (D1, RECSYS, C5): 0.119,
    (D2, RECSYS, C5): 0.238,
    (D1, CHAT, SERVERLESS): 0.36,
}
HOURS = {(D1, FRAUD, M5): 2.0, (D2, FRAUD, M5): 1.0, (D1, RECSYS, C5): 1.0, (D2, RECSYS, C5): 2.0}
UNATTRIBUTED = {
    (D1, ce.UNUSED_COMMITMENT): 0.045 + 0.027,
    (D1, ce.NO_RESOURCE): -0.9,
    (D1, ce.NOT_HOSTING): 0.207 + 0.207,
    (D2, ce.UNPARSEABLE_RESOURCE): 0.207,
}
SAGEMAKER_TOTAL = sum(BILLED.values()) + sum(UNATTRIBUTED.values())


def focus_line(category, start, account, service_code, usage_type, resource, quantity, effective, list_cost, **extra):
    row = {
        "ChargeCategory": category,
        "ChargePeriodStart": start,
        "SubAccountId": account,
        "ServiceName": "Amazon EC2" if service_code == "AmazonEC2" else "SageMaker",
        "x_ServiceCode": service_code,
        "ResourceId": resource,
        "RegionId": "eu-west-1" if account == B else "us-east-1",
        "ConsumedQuantity": quantity,
        "EffectiveCost": effective,
        "BilledCost": effective,
        "ListCost": list_cost,
        "x_UsageType": usage_type,
        "CommitmentDiscountStatus": None,
    }
    row.update(extra)
    return row


# The same usage as FOCUS rows: EffectiveCost is the net amortized cost; no negation rows exist.
FOCUS_LINES = [
    focus_line("Usage", "2026-11-03T23:00:00Z", A, SM, M5, FRAUD, 1.0, 0.207, 0.23),
    focus_line("Usage", "2026-11-04T00:00:00Z", A, SM, M5, FRAUD, 1.0, 0.207, 0.23),
    focus_line("Usage", "2026-11-03T22:00:00Z", A, SM, M5, FRAUD, 1.0, 0.135, 0.23, CommitmentDiscountStatus="Used",
               BilledCost=0.0),
    focus_line("Purchase", "2026-11-03T22:00:00Z", A, "MachineLearningSavingsPlans", "SageMakerSP:1yrNoUpfront",
               SP_ARN, 1.0, 0.0, 0.0, BilledCost=0.18),
    focus_line("Usage", "2026-11-03T22:00:00Z", A, "MachineLearningSavingsPlans", "SageMakerSP:1yrNoUpfront",
               SP_ARN, 1.0, 0.045, 0.0, CommitmentDiscountStatus="Unused", BilledCost=0.0),
    focus_line("Usage", "2026-11-03T10:00:00Z", B, SM, C5, RECSYS, 1.0, 0.072, 0.119, CommitmentDiscountStatus="Used",
               BilledCost=0.0),
    focus_line("Usage", "2026-11-03T00:00:00Z", B, SM, "EUW1-HeavyUsage:ml.c5.large", RI_ARN, 1.0, 0.027, 0.0,
               CommitmentDiscountStatus="Unused"),
    focus_line("Usage", "2026-11-04T05:00:00Z", B, SM, C5, RECSYS, 2.0, 0.238, 0.238),
    focus_line("Usage", "2026-11-03T08:00:00Z", A, SM, SERVERLESS, CHAT, 3600.0, 0.324, 0.36),
    focus_line("Credit", "2026-11-03T00:00:00Z", A, SM, "", "", 0.0, -0.9, 0.0),
    focus_line("Usage", "2026-11-03T09:00:00Z", A, SM, "USE1-Train:ml.m5.xlarge",
               f"arn:aws:sagemaker:us-east-1:{A}:training-job/fraud-train", 1.0, 0.207, 0.23),
    focus_line("Usage", "2026-11-03T09:00:00Z", A, SM, "USE1-Notebk:ml.m5.xlarge",
               f"arn:aws:sagemaker:us-east-1:{A}:notebook-instance/lab", 1.0, 0.207, 0.23),
    focus_line("Usage", "2026-11-04T01:00:00Z", A, SM, M5, "fraud-scorer", 1.0, 0.207, 0.23),
    focus_line("Usage", "2026-11-03T09:00:00Z", A, "AmazonEC2", "BoxUsage:m5.xlarge", "i-0abc", 1.0, 0.173, 0.192),
]  # fmt: skip


def write_csv_gz(rows, path):
    pd.DataFrame(rows).to_csv(path, index=False, compression="gzip")
    return path


def write_parquet(rows, path, stamp_column):
    frame = pd.DataFrame(rows)
    frame[stamp_column] = pd.to_datetime(frame[stamp_column], utc=True).dt.tz_localize(None)  # as AWS writes it
    frame.to_parquet(path, index=False)
    return path


@pytest.fixture(params=["csv.gz", "parquet"])
def cur_file(request, tmp_path):
    if request.param == "parquet":
        return write_parquet(CUR_LINES, tmp_path / "cur-00001.snappy.parquet", "line_item_usage_start_date")
    return write_csv_gz(CUR_LINES, tmp_path / "cur-00001.csv.gz")


def keyed(frame, value):
    return {(row.day, row.endpoint_arn, row.usage_type): getattr(row, value) for row in frame.itertuples()}


def unattributed_by_reason(frame):
    return frame.groupby(["day", "reason"])["billed_cost_usd"].sum().to_dict()


def assert_same(actual: dict, expected: dict):
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, abs=1e-9), key


def test_it_attributes_net_amortized_cost_to_endpoints_per_day(cur_file):
    costs = ce.sagemaker_hosting_costs(ce.read_export([cur_file]))

    assert_same(keyed(costs.endpoints, "billed_cost_usd"), BILLED)
    assert_same(keyed(costs.endpoints, "list_cost_usd"), LIST)
    hours = {key: value for key, value in keyed(costs.endpoints, "instance_hours").items() if value}
    assert_same(hours, HOURS)  # the negation's hour is not a second hour; serverless has none


def test_it_names_the_endpoint_account_and_region_from_the_arn(cur_file):
    endpoints = ce.sagemaker_hosting_costs(ce.read_export([cur_file])).endpoints

    rows = endpoints[["endpoint_arn", "endpoint_name", "account_id", "region"]].drop_duplicates()
    assert set(rows.itertuples(index=False, name=None)) == {
        (CHAT, "chat-serverless", A, "us-east-1"),
        (FRAUD, "fraud-scorer", A, "us-east-1"),  # "Fraud-Scorer" and "fraud-scorer" are one endpoint
        (RECSYS, "recsys", B, "eu-west-1"),
    }
    assert len(rows) == 3


def test_it_keeps_everything_else_unattributed_with_a_reason_and_totals_reconcile(cur_file):
    frame = ce.read_export([cur_file])
    costs = ce.sagemaker_hosting_costs(frame)

    assert_same(unattributed_by_reason(costs.unattributed), UNATTRIBUTED)
    unparseable = costs.unattributed[costs.unattributed["reason"] == ce.UNPARSEABLE_RESOURCE]
    assert list(unparseable["resource_id"]) == ["fraud-scorer"]
    export_total = ce.sagemaker_lines(frame)["net_amortized_cost_usd"].sum()
    attributed, rest = costs.endpoints["billed_cost_usd"].sum(), costs.unattributed["billed_cost_usd"].sum()
    assert export_total == pytest.approx(SAGEMAKER_TOTAL)
    assert attributed + rest == pytest.approx(export_total)


def test_it_counts_nothing_twice(cur_file):
    frame = ce.read_export([cur_file])
    costs = ce.sagemaker_hosting_costs(frame)

    negation = frame[frame["line_type"] == "SavingsPlanNegation"]
    assert negation["net_amortized_cost_usd"].tolist() == [0.0]
    assert "i-0abc" not in set(costs.unattributed["resource_id"])  # EC2 is not SageMaker
    assert costs.endpoints["billed_cost_usd"].sum() + costs.unattributed["billed_cost_usd"].sum() == pytest.approx(
        sum(BILLED.values()) + sum(UNATTRIBUTED.values())
    )


def test_it_reads_a_focus_export_to_the_same_billed_cost(tmp_path):
    focus = write_parquet(FOCUS_LINES, tmp_path / "focus-00001.snappy.parquet", "ChargePeriodStart")
    focus_gz = write_csv_gz(FOCUS_LINES, tmp_path / "focus-00001.csv.gz")

    for path in (focus, focus_gz):
        costs = ce.sagemaker_hosting_costs(ce.read_export([path]))
        assert_same(keyed(costs.endpoints, "billed_cost_usd"), BILLED)
        assert_same(keyed(costs.endpoints, "list_cost_usd"), LIST)
        assert_same(unattributed_by_reason(costs.unattributed), UNATTRIBUTED)


def test_it_reads_a_period_delivered_in_several_files(tmp_path):
    first = write_csv_gz(CUR_LINES[:7], tmp_path / "cur-00001.csv.gz")
    second = write_parquet(CUR_LINES[7:], tmp_path / "cur-00002.snappy.parquet", "line_item_usage_start_date")

    costs = ce.sagemaker_hosting_costs(ce.read_export([first, second]))

    assert_same(keyed(costs.endpoints, "billed_cost_usd"), BILLED)
    assert_same(unattributed_by_reason(costs.unattributed), UNATTRIBUTED)


def test_an_empty_period_has_the_same_columns():
    costs = ce.sagemaker_hosting_costs(ce.read_export([]))

    assert costs.endpoints.empty and costs.unattributed.empty
    assert {"endpoint_arn", "billed_cost_usd", "list_cost_usd", "instance_hours"} <= set(costs.endpoints.columns)
    assert {"reason", "billed_cost_usd"} <= set(costs.unattributed.columns)


def test_it_keeps_leading_zeros_of_account_ids(tmp_path):
    frame = ce.read_export([write_csv_gz(CUR_LINES, tmp_path / "cur.csv.gz")])

    assert B in set(frame["account_id"])


def test_it_names_the_missing_columns(tmp_path):
    rows = [{k: v for k, v in CUR_LINES[0].items() if k not in ("line_item_resource_id", "product_region_code")}]

    with pytest.raises(ce.ExportFormatError, match="line_item_resource_id, product_region_code"):
        ce.read_export([write_csv_gz(rows, tmp_path / "cur.csv.gz")])
    with pytest.raises(ce.ExportFormatError, match="FOCUS 1.x export lacks the columns ResourceId"):
        ce.read_export(
            [write_csv_gz([{k: v for k, v in FOCUS_LINES[0].items() if k != "ResourceId"}], tmp_path / "f.gz")]
        )
    with pytest.raises(
        ce.ExportFormatError,
        match=r"neither a CUR 2.0 export \(it lacks the columns line_item_line_item_type.*nor a FOCUS 1.x export",
    ):
        ce.read_export([write_csv_gz([{"a": 1}], tmp_path / "other.csv.gz")])


def test_it_refuses_a_cost_that_is_not_a_number(tmp_path):
    rows = [dict(CUR_LINES[0], line_item_unblended_cost="n/a")]

    with pytest.raises(ce.ExportFormatError, match="line_item_unblended_cost holds non-numbers"):
        ce.read_export([write_csv_gz(rows, tmp_path / "cur.csv.gz")])


# --- the manifest, over HTTP from the simulated AWS ------------------------------------------------------------


@pytest.fixture
def s3(sandbox):
    return client("s3", sandbox["url"], "us-east-1", fl.PROD)


def put(s3, bucket, key, body: bytes):
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def deliver(s3, bucket, root, period, delivery, rows):
    """One delivery of a period: its data file, then its manifest (as Data Exports order them)."""
    data_key = f"{root}/data/BILLING_PERIOD={period}/{delivery}/cur-00001.csv.gz"
    put(s3, bucket, data_key, gzip.compress(pd.DataFrame(rows).to_csv(index=False).encode()))
    manifest = {
        "exportName": "cur",
        "billingPeriod": {"start": f"{period}-01"},
        "dataFiles": [f"s3://{bucket}/{data_key}"],
    }
    put(
        s3,
        bucket,
        f"{root}/metadata/BILLING_PERIOD={period}/{delivery}/cur-Manifest.json",
        json.dumps(manifest).encode(),
    )
    return data_key


def test_it_reads_the_newest_delivery_of_each_period(s3, tmp_path):
    bucket = f"cur-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    root = "billing/cur"
    october = deliver(s3, bucket, root, "2026-10", "x1", CUR_LINES[:1])
    deliver(s3, bucket, root, "2026-11", "z-first", CUR_LINES)  # sorts last by key, but is the older delivery
    time.sleep(1.1)  # S3 LastModified has one-second resolution
    newest = deliver(s3, bucket, root, "2026-11", "a-second", CUR_LINES[:2])
    put(s3, bucket, f"{root}/metadata/BILLING_PERIOD=2026-11/notes.txt", b"not a manifest")

    files = ce.manifest_files(s3, bucket, "billing/", "cur")

    assert files == {"2026-10": [ce.ExportFile(bucket, october)], "2026-11": [ce.ExportFile(bucket, newest)]}
    frame = ce.read_export(files["2026-11"], s3=s3)
    assert len(frame) == 2  # only the re-delivery's lines, not both deliveries'
