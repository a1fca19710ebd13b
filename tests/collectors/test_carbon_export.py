"""AWS's carbon estimates read from the CARBON_EMISSIONS Data Export in the (simulated) customer's bucket, over
HTTP through the account's assumed role: every delivery's rows in kg, every model version of a month kept (the
history the Sustainability API does not give), a delivery read once, a restated month added beside the old
version, and an export that is not a CARBON_EMISSIONS table refused with a message naming what is missing."""

import gzip
import json
import uuid
from datetime import UTC, datetime

import pytest

from collectors import runner
from collectors.carbon_export import EXPORT_REGION
from collectors.models import AwsCarbonEstimate, CarbonExportManifest, CollectionState
from collectors.models.health import Source
from sandbox import carbon_export as ce
from sandbox import fleet as fl
from sandbox import sustainability as sus
from sandbox.clients import client
from sandbox.cost_export import PREFIX, bucket_of

FIELDS = {
    "location_co2e_kg": "TOTAL_LBM_CARBON_EMISSIONS",
    "market_co2e_kg": "TOTAL_MBM_CARBON_EMISSIONS",
    "scope1_co2e_kg": "TOTAL_SCOPE_1_CARBON_EMISSIONS",
    "scope2_location_co2e_kg": "TOTAL_SCOPE_2_LBM_CARBON_EMISSIONS",
    "scope2_market_co2e_kg": "TOTAL_SCOPE_2_MBM_CARBON_EMISSIONS",
    "scope3_location_co2e_kg": "TOTAL_SCOPE_3_LBM_CARBON_EMISSIONS",
    "scope3_market_co2e_kg": "TOTAL_SCOPE_3_MBM_CARBON_EMISSIONS",
}


@pytest.fixture
def anchor(sandbox_control):
    return datetime.fromisoformat(sandbox_control("GET", "aws_carbon")["anchor"])


@pytest.fixture
def exported(prod):
    """The prod account with the seeded CARBON_EMISSIONS export configured (as the demo registers it)."""
    prod.cost_export_bucket, prod.cost_export_prefix, prod.carbon_export_name = (
        bucket_of(fl.PROD),
        PREFIX,
        ce.EXPORT_NAME,
    )
    prod.save()
    return prod


def expected(anchor: datetime, revisions: list[dict], months=None) -> dict:
    """The sandbox's figures for prod under ``revisions``, as AWS reports them (MTCO2e to 0.001), in kg."""
    return {
        (f["REGION"], f["SERVICE"], f["month"], f["model_version"]): {
            field: round(f["kg"][kind] / 1000, 3) * 1000 for field, kind in FIELDS.items()
        }
        for f in sus.figures(datetime.now(UTC), anchor, revisions)
        if f["USAGE_ACCOUNT_ID"] == fl.PROD and (months is None or f["month"] in months)
    }


def stored(account) -> dict:
    return {
        (r.region, r.service, r.month, r.model_version): {field: getattr(r, field) for field in FIELDS}
        for r in AwsCarbonEstimate.objects.filter(account=account, origin=AwsCarbonEstimate.Origin.EXPORT)
    }


def collect(account):
    return runner.run(account, EXPORT_REGION, Source.CARBON_EXPORT)


def test_every_delivery_is_read_and_every_model_version_of_a_month_kept(exported, anchor):
    summary = collect(exported)
    months = sus.published_months(datetime.now(UTC))
    early = months[: ce.EARLY_MONTHS]
    older = [{"month": f"{m:%Y-%m}", "model_version": "v2.0.0", **ce.EARLY_FACTORS} for m in early]
    want = expected(anchor, []) | expected(anchor, older, set(early))
    got = stored(exported)
    assert set(got) == set(want)
    for key, values in want.items():
        assert got[key] == pytest.approx(values, abs=1e-6), key
    # the history: the early months under both versions, the older one's scope 3 smaller by its factor
    for month in early:
        versions = AwsCarbonEstimate.objects.filter(account=exported, service="AmazonSageMaker", month=month)
        assert sorted(set(versions.values_list("model_version", flat=True))) == ["v2.0.0", "v3.0.0"]
    details = summary.details
    services = 1 + len(sus.DECOY_KWH)
    assert details["manifests_found"] == details["manifests_read"] == len(months) + len(early)
    assert details["rows"] == details["rows_new"] == (len(months) + len(early)) * len(fl.REGIONS) * services
    assert details["revisions"] == len(early) * len(fl.REGIONS) * services
    assert details["versions"] == ["v2.0.0", "v3.0.0"]
    assert CarbonExportManifest.objects.filter(account=exported).count() == len(months) + len(early)


def test_a_delivery_is_read_once_and_a_restated_month_is_added_beside_the_old(exported, anchor, sandbox):
    collect(exported)
    before = stored(exported)
    again = collect(exported).details
    assert again["manifests_read"] == again["rows"] == 0  # nothing new delivered: nothing read
    assert stored(exported) == before
    revision = sus.demo_revision(datetime.now(UTC)) | {"account": fl.PROD}
    ce.deliver_revision(sandbox["url"], revision, datetime.now(UTC))
    third = collect(exported).details
    month = datetime.strptime(revision["month"], "%Y-%m").replace(tzinfo=UTC).date()
    rows = len(fl.REGIONS) * (1 + len(sus.DECOY_KWH))
    assert (third["manifests_read"], third["rows_new"], third["revisions"]) == (1, rows, rows)
    after = stored(exported)
    assert {k: v for k, v in after.items() if k not in before} == expected(anchor, [revision], {month}) | {}
    assert all(after[key] == values for key, values in before.items())  # the old version untouched
    versions = AwsCarbonEstimate.objects.filter(
        account=exported, service="AmazonSageMaker", month=month, region="us-east-1"
    )
    assert sorted(versions.values_list("model_version", flat=True)) == ["v3.0.0", revision["model_version"]]


def _deliver_csv(s3, bucket: str, name: str, header: list[str], values: list[str]) -> None:
    key = f"{name}/data/BILLING_PERIOD=2026-09/x/{name}-00001.csv.gz"
    body = gzip.compress((",".join(header) + "\n" + ",".join(values) + "\n").encode())
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    manifest = {"dataFiles": [f"s3://{bucket}/{key}"]}
    s3.put_object(
        Bucket=bucket, Key=f"{name}/metadata/BILLING_PERIOD=2026-09/x/{name}-Manifest.json", Body=json.dumps(manifest)
    )


@pytest.fixture
def scratch_export(scratch, aws_env):
    s3 = client("s3", aws_env["url"], "us-east-1", scratch.account_id)
    bucket = f"carbon-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    scratch.cost_export_bucket, scratch.cost_export_prefix, scratch.carbon_export_name = bucket, "", "carbon"
    scratch.save()
    scratch.s3, scratch.bucket = s3, bucket
    return scratch


def test_a_csv_export_in_kg_units_and_a_members_rows(scratch_export):
    header = ["usage_account_id", "region_code", "product_code", "usage_period_start", "model_version",
              "total_lbm_emissions_value", "total_lbm_emissions_unit", "total_mbm_emissions_value"]  # fmt: skip
    _deliver_csv(scratch_export.s3, scratch_export.bucket, "carbon", header,
                 ["12345678901", "eu-west-1", "AmazonSageMaker", "2026-09-01T00:00:00Z", "v3.0.0", "4.5", "kgCO2e",
                  "0.002"])  # fmt: skip
    collect(scratch_export)
    (row,) = AwsCarbonEstimate.objects.filter(account=scratch_export)
    # a member account's id keeps its leading zero; kg stay kg, MTCO2e (the default unit) become kg
    assert (row.usage_account_id, row.region, row.month.isoformat()) == ("012345678901", "eu-west-1", "2026-09-01")
    assert (row.location_co2e_kg, row.market_co2e_kg, row.scope1_co2e_kg) == (4.5, 2.0, None)


def test_a_table_that_is_not_carbon_emissions_fails_the_run_saying_what_is_missing(scratch_export):
    _deliver_csv(scratch_export.s3, scratch_export.bucket, "carbon", ["line_item_usage_account_id", "cost"], ["1", "2"])
    with pytest.raises(Exception, match="not a CARBON_EMISSIONS export, it lacks the columns usage_account_id"):
        collect(scratch_export)
    state = CollectionState.objects.get(account=scratch_export, source=Source.CARBON_EXPORT)
    assert "lacks the columns usage_account_id, region_code" in state.last_error
    assert not AwsCarbonEstimate.objects.filter(account=scratch_export).exists()
    assert not CarbonExportManifest.objects.exists()  # so the next run reads it again


def test_an_unknown_unit_is_refused(scratch_export):
    header = ["usage_account_id", "region_code", "product_code", "usage_period_start", "model_version",
              "total_lbm_emissions_value", "total_lbm_emissions_unit", "total_mbm_emissions_value"]  # fmt: skip
    _deliver_csv(scratch_export.s3, scratch_export.bucket, "carbon", header,
                 ["123456789012", "eu-west-1", "AmazonSageMaker", "2026-09-01", "v3", "4.5", "lbCO2e",
                  "1"])  # fmt: skip
    with pytest.raises(Exception, match="total_lbm_emissions_unit 'lbco2e' is not a unit this reader knows"):
        collect(scratch_export)


def test_only_accounts_with_an_export_are_planned(exported, research):
    jobs = runner.plan([exported, research], sources=[Source.CARBON_EXPORT])
    assert [(a.account_id, region, source) for a, region, source in jobs] == [(fl.PROD, "us-east-1", "carbon_export")]


def test_an_owner_configures_the_export_and_a_new_one_is_read_from_scratch(client, alice, exported, anchor):
    from django.urls import reverse

    collect(exported)
    api_row = AwsCarbonEstimate.objects.create(
        account=exported, usage_account_id=fl.PROD, region="us-east-1", service="AmazonSageMaker",
        month=sus.published_months(datetime.now(UTC))[-1], model_version="v3.0.0", first_seen=anchor, last_seen=anchor,
    )  # fmt: skip
    url = reverse("aws-account-cost-export", args=[exported.pk])
    client.force_login(alice)
    orphan = client.post(url, {"cost_export_bucket": "", "cost_export_name": "", "carbon_export_name": "carbon"})
    assert orphan.status_code == 400 and "needs the bucket it is delivered to" in orphan.content.decode()
    page = client.get(reverse("aws-account", args=[exported.pk])).content.decode()
    assert f"{CarbonExportManifest.objects.filter(account=exported).count()} deliveries read" in page
    fields = {"cost_export_bucket": bucket_of(fl.PROD), "cost_export_prefix": PREFIX, "cost_export_name": ""}
    assert client.post(url, {**fields, "carbon_export_name": "another-carbon"}).status_code == 302
    exported.refresh_from_db()
    assert exported.has_carbon_export and not exported.has_cost_export  # a carbon export needs no cost export
    # another export: its deliveries are read from the first; AWS's API figures stay
    assert not AwsCarbonEstimate.objects.filter(account=exported, origin="export").exists()
    assert not CarbonExportManifest.objects.filter(account=exported).exists()
    assert list(AwsCarbonEstimate.objects.filter(account=exported)) == [api_row]
