"""AWS's own carbon estimates collected over HTTP from the sandbox's Sustainability API through the runner:
pagination, all seven emissions types in kg, SageMaker kept apart from the decoy services, a revision kept as a
second version, idempotence, and an account without access to the API."""

from datetime import UTC, datetime

import pytest

from collectors import aws_carbon, runner
from collectors.errors import CollectionFailed
from collectors.models import AwsCarbonEstimate, CollectionState
from collectors.models.health import Source
from sandbox import fleet as fl
from sandbox import sustainability as sus
from tests.web.factories import last_complete_months

REGION = "us-east-1"
OPERATION = "sustainability:GetEstimatedCarbonEmissions"
FIELDS = {  # the model's field of each emissions type, as the Sustainability API names them
    "location_co2e_kg": "TOTAL_LBM_CARBON_EMISSIONS",
    "market_co2e_kg": "TOTAL_MBM_CARBON_EMISSIONS",
    "scope1_co2e_kg": "TOTAL_SCOPE_1_CARBON_EMISSIONS",
    "scope2_location_co2e_kg": "TOTAL_SCOPE_2_LBM_CARBON_EMISSIONS",
    "scope2_market_co2e_kg": "TOTAL_SCOPE_2_MBM_CARBON_EMISSIONS",
    "scope3_location_co2e_kg": "TOTAL_SCOPE_3_LBM_CARBON_EMISSIONS",
    "scope3_market_co2e_kg": "TOTAL_SCOPE_3_MBM_CARBON_EMISSIONS",
}


@pytest.fixture
def carbon_sandbox(sandbox_control):
    """The sandbox's revisions reset around a test; yields its anchor (the fleet's "now")."""
    sandbox_control("DELETE", "aws_carbon")
    sandbox_control("DELETE", "calls")
    yield datetime.fromisoformat(sandbox_control("GET", "aws_carbon")["anchor"])
    sandbox_control("DELETE", "aws_carbon")


def expected_rows(anchor: datetime, account: str, revisions: list[dict] | None = None) -> dict:
    """What AWS (the sandbox) reports for the last 12 complete months, in kg as it rounds them (0.001 t)."""
    months = set(last_complete_months(12))
    return {
        (f["REGION"], f["SERVICE"], f["month"], f["model_version"]): {
            field: round(f["kg"][kind] / 1000, 3) * 1000 for field, kind in FIELDS.items()
        }
        for f in sus.figures(datetime.now(UTC), anchor, revisions or [])
        if f["USAGE_ACCOUNT_ID"] == account and f["month"] in months
    }


def stored(account) -> dict:
    return {
        (r.region, r.service, r.month, r.model_version): {field: getattr(r, field) for field in FIELDS}
        for r in AwsCarbonEstimate.objects.filter(account=account)
    }


def test_collects_a_year_of_every_service_in_kg_over_several_pages(prod, carbon_sandbox, sandbox_control, monkeypatch):
    monkeypatch.setattr(aws_carbon, "PAGE_SIZE", 50)
    summary = runner.run(prod, REGION, Source.AWS_CARBON)
    expected = expected_rows(carbon_sandbox, fl.PROD)
    rows = 12 * len(fl.REGIONS) * (1 + len(sus.DECOY_KWH))
    assert len(expected) == rows
    got = stored(prod)
    assert set(got) == set(expected)
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, abs=1e-6), key
    sagemaker = [k for k in got if k[1] == "AmazonSageMaker"]
    assert len(sagemaker) == 12 * len(fl.REGIONS)
    # the decoys are kept, but apart: nothing but the SERVICE value AmazonSageMaker is SageMaker
    assert {k[1] for k in got} == {"AmazonSageMaker", "AmazonEC2", "AmazonS3", "AWSCloudTrail"}
    assert AwsCarbonEstimate.objects.filter(account=prod, usage_account_id=fl.PROD).count() == rows
    pages = -(-rows // 50)
    details = summary.details
    assert details["calls"] == pages
    assert details["rows"] == details["rows_new"] == rows
    assert details["months"] == 12
    assert details["revisions"] == 0
    assert details["sagemaker_rows"] == len(sagemaker)
    assert details["below_precision"] > 0  # months before any endpoint ran in a place
    assert details["below_precision"] == sum(1 for k in sagemaker if expected[k]["location_co2e_kg"] == 0)
    state = CollectionState.objects.get(account=prod, region=REGION, source=Source.AWS_CARBON)
    assert state.last_error == ""
    assert state.last_summary["api_calls"] == {OPERATION: pages}
    assert state.last_api_calls == pages
    counted = sandbox_control("GET", "calls")["calls"]
    assert sum(c["count"] for c in counted if c["service"] == "sustainability") == pages


def attempted(account) -> datetime:
    """When the last aws_carbon run of ``account`` started (the ``now`` it collected with)."""
    return CollectionState.objects.get(account=account, region=REGION, source=Source.AWS_CARBON).last_attempt


def test_a_revision_is_kept_as_a_second_version_and_a_second_run_adds_nothing(prod, carbon_sandbox, sandbox_control):
    first = runner.run(prod, REGION, Source.AWS_CARBON)
    first_at = attempted(prod)
    again = runner.run(prod, REGION, Source.AWS_CARBON)
    again_at = attempted(prod)
    assert again.details["rows_new"] == again.details["revisions"] == 0
    assert AwsCarbonEstimate.objects.filter(account=prod).count() == first.details["rows"]
    assert set(AwsCarbonEstimate.objects.filter(account=prod).values_list("first_seen", "last_seen")) == {
        (first_at, again_at)
    }

    revised_month = last_complete_months(3)[0]
    revision = {
        "month": f"{revised_month:%Y-%m}",
        "model_version": "v3.1.0",
        "scope2_factor": 0.9,
        "scope3_factor": 1.2,
    }
    sandbox_control("POST", "aws_carbon", {"revise": revision})
    third = runner.run(prod, REGION, Source.AWS_CARBON)
    third_at = attempted(prod)
    per_month = len(fl.REGIONS) * (1 + len(sus.DECOY_KWH))
    assert third.details["rows_new"] == per_month
    assert third.details["revisions"] == 1
    assert third.details["revised_rows"] == per_month
    got = stored(prod)
    old = expected_rows(carbon_sandbox, fl.PROD)
    new = expected_rows(carbon_sandbox, fl.PROD, [revision])
    assert set(got) == set(old) | set(new)  # the old version stays beside the new one
    assert len(got) == len(old) + per_month
    key_old = ("us-east-1", "AmazonSageMaker", revised_month, sus.BASE_MODEL_VERSION)
    key_new = ("us-east-1", "AmazonSageMaker", revised_month, "v3.1.0")
    assert got[key_old] == pytest.approx(old[key_old], abs=1e-6)
    assert got[key_new] == pytest.approx(new[key_new], abs=1e-6)
    # scope 3 scaled by 1.2 (AWS rounds each value to 1 kg), the totals recomputed from the scopes
    assert got[key_new]["scope3_location_co2e_kg"] == pytest.approx(
        got[key_old]["scope3_location_co2e_kg"] * 1.2, abs=1
    )
    assert got[key_new]["location_co2e_kg"] == pytest.approx(
        got[key_new]["scope1_co2e_kg"]
        + got[key_new]["scope2_location_co2e_kg"]
        + got[key_new]["scope3_location_co2e_kg"],
        abs=2,
    )
    rows = AwsCarbonEstimate.objects.filter(account=prod, month=revised_month, region="us-east-1")
    old_row = rows.get(service="AmazonSageMaker", model_version=sus.BASE_MODEL_VERSION)
    new_row = rows.get(service="AmazonSageMaker", model_version="v3.1.0")
    assert (old_row.first_seen, old_row.last_seen) == (first_at, again_at)  # not returned by the third run
    assert (new_row.first_seen, new_row.last_seen) == (third_at, third_at)
    unrevised = AwsCarbonEstimate.objects.filter(account=prod).exclude(month=revised_month)
    assert set(unrevised.values_list("last_seen", flat=True)) == {third_at}


def test_without_access_the_run_fails_clearly_and_the_account_still_collects(prod, carbon_sandbox, sandbox_control):
    sandbox_control(
        "POST",
        "faults",
        {
            "operation": "GetEstimatedCarbonEmissions",
            "error": "AccessDeniedException",
            "message": "User is not authorized to perform: sustainability:GetEstimatedCarbonEmissions",
            "status": 403,
            "account": fl.PROD,
        },
    )
    with pytest.raises(CollectionFailed) as failed:
        runner.run(prod, REGION, Source.AWS_CARBON)
    state = CollectionState.objects.get(account=prod, region=REGION, source=Source.AWS_CARBON)
    assert "Sustainability API is not enabled" in state.last_error
    assert "AccessDeniedException" in state.last_error
    assert "Sustainability API is not enabled" in str(failed.value)
    assert state.consecutive_failures == 1
    assert state.last_success is None
    assert state.last_api_calls == 1
    assert not AwsCarbonEstimate.objects.filter(account=prod).exists()
    inventory = runner.run(prod, REGION, Source.INVENTORY)  # the account's other sources are unaffected
    assert inventory.details["endpoints"] > 0
    sandbox_control("DELETE", "faults")
    assert runner.run(prod, REGION, Source.AWS_CARBON).details["rows_new"] > 0
    state.refresh_from_db()
    assert (state.last_error, state.consecutive_failures) == ("", 0)
