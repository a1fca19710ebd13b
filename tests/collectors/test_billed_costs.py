"""The ``cost_exports`` source: billed cost read from a CUR 2.0 export in the (simulated) customer's S3 bucket, over
HTTP through the account's assumed role, attributed to endpoints, re-read only when AWS re-delivers a period."""

import time
import uuid

import pytest
from django.core.management import call_command

from collectors import runner
from collectors.billed_costs import EXPORT_REGION
from collectors.models import BilledCostDay, CollectionState, CostExportDelivery
from collectors.models.health import Source
from sandbox.clients import client
from tests.collectors.test_cost_exports import (
    CUR_LINES,
    D1,
    D2,
    M5,
    A,
    B,
    cur_line,
    deliver,
)
from tests.web import factories

ROOT_PREFIX, NAME = "billing", "cur"


# fraud-scorer's ML storage volume on D1: a hosting charge of the endpoint that is not usage we measure or price
VOLUME = cur_line(
    "Usage", "2026-11-03T05:00:00Z", A, "AmazonSageMaker", "USE1-Host:VolumeUsage.gp2",
    f"arn:aws:sagemaker:us-east-1:{A}:endpoint/fraud-scorer", 0.01, 0.0014, 0.0013,
    pricing_public_on_demand_cost=0.0014,
)  # fmt: skip


def lines_of(account_id: str) -> list[dict]:
    """The hand-built lines of ``test_cost_exports`` and a volume line, account A's as this account's (B's stay
    another account's)."""
    out = []
    for line in [*CUR_LINES, VOLUME]:
        row = {key: (value.replace(A, account_id) if isinstance(value, str) else value) for key, value in line.items()}
        out.append(row)
    return out


@pytest.fixture
def exported(scratch, aws_env):
    """The scratch account with a CUR 2.0 export configured, its bucket in the account, one delivery of 2026-11."""
    s3 = client("s3", aws_env["url"], "us-east-1", scratch.account_id)
    bucket = f"cur-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    scratch.cost_export_bucket, scratch.cost_export_prefix, scratch.cost_export_name = bucket, ROOT_PREFIX, NAME
    scratch.save()
    deliver(s3, bucket, f"{ROOT_PREFIX}/{NAME}", "2026-11", "d1", lines_of(scratch.account_id))
    scratch.s3 = s3
    return scratch


def collect(account):
    return runner.run(account, EXPORT_REGION, Source.COST_EXPORTS)


def endpoint_rows(account) -> dict:
    rows = BilledCostDay.objects.filter(account=account, reason="")
    return {(r.day, r.endpoint_name, r.usage_type): r for r in rows}


def test_it_stores_each_endpoints_billed_cost_per_day_and_links_the_endpoint(exported):
    fraud = factories.endpoint(exported, "fraud-scorer", region="us-east-1", hours=2)
    summary = collect(exported)

    rows = endpoint_rows(exported)
    fraud_d1 = rows[(D1, "fraud-scorer", M5)]
    assert fraud_d1.billed_cost_usd == pytest.approx(0.207 + 0.135)  # on demand net + Savings Plan effective
    assert fraud_d1.list_cost_usd == pytest.approx(0.46) and fraud_d1.instance_hours == pytest.approx(2.0)
    assert fraud_d1.instance_type == "ml.m5.xlarge" and fraud_d1.endpoint == fraud
    assert rows[(D2, "fraud-scorer", M5)].billed_cost_usd == pytest.approx(0.207)
    chat = next(r for key, r in rows.items() if key[1] == "chat-serverless")
    assert chat.endpoint is None and chat.instance_type == ""  # not inventoried; serverless has no instance type
    # Everything else of this account's SageMaker lines, with its reason; account B's lines are B's business.
    reasons = {}
    for row in BilledCostDay.objects.filter(account=exported).exclude(reason=""):
        reasons[row.reason] = reasons.get(row.reason, 0.0) + row.billed_cost_usd
    assert reasons == pytest.approx(
        {
            "unused commitment": 0.045,
            "no resource id": -0.9,
            "not hosting": 0.414,
            "unparseable resource id": 0.207,
            "other endpoint charge": 0.0013,  # the volume: on the endpoint, outside its billed usage
        }
    )
    volume = BilledCostDay.objects.get(account=exported, reason="other endpoint charge")
    assert volume.endpoint == fraud and volume.instance_type == ""
    b_lines = sum(1 for line in CUR_LINES if line["line_item_usage_account_id"] == B)
    assert summary.details["other_account_lines"] == b_lines
    assert not BilledCostDay.objects.filter(resource_id__contains=B).exists()
    delivery = CostExportDelivery.objects.get(account=exported)
    assert (delivery.billing_period, delivery.export_format, delivery.data_files) == ("2026-11", "CUR 2.0", 1)
    assert summary.details["periods_read"] == ["2026-11"] and summary.details["linked_endpoints"] == 3


def test_an_unchanged_period_is_not_read_again_and_a_redelivery_replaces_it(exported, sandbox_control):
    collect(exported)
    before = {key: row.billed_cost_usd for key, row in endpoint_rows(exported).items()}
    sandbox_control("DELETE", "calls")
    again = collect(exported)
    assert again.details["periods_read"] == [] and again.details["periods_found"] == 1
    operations = [c["operation"] for c in sandbox_control("GET", "calls")["calls"] if c["service"] == "s3"]
    assert "GetObject" not in operations  # only the listing
    assert {key: row.billed_cost_usd for key, row in endpoint_rows(exported).items()} == before

    time.sleep(1.1)  # S3 LastModified has one-second resolution
    lines = lines_of(exported.account_id)
    fraud_d2 = [line for line in lines if line["line_item_usage_start_date"] == "2026-11-04T00:00:00Z"]
    deliver(exported.s3, exported.cost_export_bucket, f"{ROOT_PREFIX}/{NAME}", "2026-11", "d2", fraud_d2)
    third = collect(exported)
    assert third.details["periods_read"] == ["2026-11"]
    assert list(endpoint_rows(exported)) == [(D2, "fraud-scorer", M5)]  # the restated period, not both deliveries
    assert not BilledCostDay.objects.filter(account=exported).exclude(reason="").exists()


def test_an_endpoint_inventoried_later_is_linked_on_the_next_run(exported):
    collect(exported)
    assert not BilledCostDay.objects.filter(endpoint__isnull=False).exists()
    fraud = factories.endpoint(exported, "Fraud-Scorer", region="us-east-1", hours=2)  # names are case-insensitive
    assert collect(exported).details["linked_endpoints"] == 3  # its two days and its volume
    assert set(BilledCostDay.objects.filter(endpoint=fraud).values_list("day", flat=True)) == {D1, D2}


def test_a_wrong_export_name_or_a_denied_bucket_is_a_clear_error_and_stores_nothing(exported, sandbox_control):
    exported.cost_export_name = "no-such-export"
    exported.save()
    with pytest.raises(runner.CollectionFailed, match="no manifest under s3://.*/billing/no-such-export/metadata/"):
        collect(exported)
    state = CollectionState.objects.get(account=exported, source=Source.COST_EXPORTS)
    assert "is the export's name and prefix right" in state.last_error and state.consecutive_failures == 1

    exported.cost_export_name = NAME
    exported.save()
    sandbox_control("POST", "faults", {"operation": "ListObjectsV2", "error": "AccessDenied", "message": "denied"})
    with pytest.raises(runner.CollectionFailed, match="AccessDenied"):
        collect(exported)
    assert not BilledCostDay.objects.exists() and not CostExportDelivery.objects.exists()
    sandbox_control("DELETE", "faults")
    assert collect(exported).details["periods_read"] == ["2026-11"]
    state.refresh_from_db()
    assert state.consecutive_failures == 0 and state.last_error == ""


def test_only_accounts_with_an_export_are_planned_and_a_plain_collect_reads_them(exported, research):
    jobs = runner.plan([exported, research])
    assert [(a, r) for a, r, s in jobs if s == Source.COST_EXPORTS] == [(exported, EXPORT_REGION)]
    assert Source.COST_EXPORTS in runner.HOURLY_SOURCES
    call_command("collect", "--source", "cost_exports", "--no-estimate")
    assert BilledCostDay.objects.filter(account=exported).exists()
    assert not BilledCostDay.objects.filter(account=research).exists()
