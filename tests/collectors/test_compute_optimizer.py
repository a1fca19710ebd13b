"""Compute Optimizer's idle findings, collected over HTTP from the sandbox: stored per ARN and matched to our
endpoints, the finding only AWS makes, decoy resource types ignored, resolution when AWS withdraws a finding,
idempotence, and an account not opted in (a clear failure on Collection health, other sources unaffected)."""

import pytest

from collectors import runner
from collectors.errors import CollectionFailed
from collectors.models import CollectionState, Endpoint, IdleFinding
from sandbox import fleet as fl
from sandbox.pricing import hosting_usd

REGION = "us-east-1"
FLEET = {e.name: e for e in fl.build_fleet()}


def arn(account: str, name: str, region: str = REGION) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:endpoint/{name}"


@pytest.fixture
def findings_control(sandbox_control):
    sandbox_control("DELETE", "idle_findings")
    yield sandbox_control
    sandbox_control("DELETE", "idle_findings")


def collect(account, region: str = REGION):
    return runner.run(account, region, "compute_optimizer")


def test_findings_are_stored_and_matched_to_our_endpoints(prod, research, findings_control, db):
    runner.run(prod, REGION, "inventory")
    runner.run(research, REGION, "inventory")
    findings_control(
        "POST",
        "idle_findings",
        {"add": {"account": fl.PROD, "region": REGION, "endpoint": "ghost-endpoint", "instance_type": "ml.m5.large"}},
    )
    summary = collect(prod)
    assert summary.details["findings"] == 2 and summary.details["new"] == 2
    assert summary.details["matched"] == 1 and summary.details["unmatched"] == 1
    # the finding only AWS makes: image-tagger serves traffic, AWS's utilization threshold calls it idle
    tagger = IdleFinding.objects.get(account=prod, resource_arn=arn(fl.PROD, "image-tagger"))
    assert tagger.endpoint == Endpoint.objects.get(account=prod, region=REGION, name="image-tagger")
    assert tagger.finding == "Idle" and tagger.currency == "USD" and tagger.lookback_days == 14
    spec = FLEET["image-tagger"].variants[0]
    expected = hosting_usd(spec.instance_type, REGION) * spec.instance_count * 730
    assert tagger.monthly_savings == pytest.approx(expected, abs=0.01)
    assert tagger.monthly_savings_after_discounts < tagger.monthly_savings
    assert {m["name"] for m in tagger.utilization_metrics} == {"Invocations", "CPU"}
    assert tagger.last_refreshed is not None and tagger.resolved_at is None
    ghost = IdleFinding.objects.get(account=prod, resource_arn=arn(fl.PROD, "ghost-endpoint"))
    assert ghost.endpoint is None
    # research: bert-experiment-3 had no invocation for the whole look-back
    collect(research)
    bert = IdleFinding.objects.get(account=research)
    assert bert.endpoint == Endpoint.objects.get(account=research, region=REGION, name="bert-experiment-3")
    assert bert.endpoint.arn.lower() == bert.resource_arn
    assert [m["value"] for m in bert.utilization_metrics if m["name"] == "Invocations"] == [0.0]


def test_decoy_resource_types_are_ignored_even_unfiltered(prod, findings_control, db):
    runner.run(prod, REGION, "inventory")
    findings_control("POST", "idle_findings", {"ignore_filters": True})
    summary = collect(prod)
    assert summary.details["ignored"] == 2  # the EC2 instance and the EBS volume
    assert list(IdleFinding.objects.values_list("resource_arn", flat=True)) == [arn(fl.PROD, "image-tagger")]


def test_a_withdrawn_finding_is_resolved_and_a_second_run_duplicates_nothing(prod, findings_control, db):
    runner.run(prod, REGION, "inventory")
    churn = {"account": fl.PROD, "region": REGION, "endpoint": "legacy-churn-model", "instance_type": "ml.p3.2xlarge"}
    findings_control("POST", "idle_findings", {"add": churn})
    first = collect(prod)
    assert first.details["new"] == 2
    created = {f.resource_arn: f.first_seen for f in IdleFinding.objects.all()}
    again = collect(prod)
    assert again.details["new"] == 0 and again.details["resolved"] == 0
    assert IdleFinding.objects.count() == 2
    assert {f.resource_arn: f.first_seen for f in IdleFinding.objects.all()} == created
    assert all(f.last_seen > f.first_seen for f in IdleFinding.objects.all())
    churn_arn = arn(fl.PROD, "legacy-churn-model")
    assert IdleFinding.objects.get(resource_arn=churn_arn).endpoint.name == "legacy-churn-model"
    findings_control("POST", "idle_findings", {"remove": churn_arn})
    gone = collect(prod)
    assert gone.details["resolved"] == 1
    resolved = IdleFinding.objects.get(resource_arn=churn_arn)
    assert resolved.resolved_at is not None
    assert IdleFinding.objects.get(resource_arn=arn(fl.PROD, "image-tagger")).resolved_at is None
    findings_control("POST", "idle_findings", {"add": churn})  # AWS reports it again: reopened, same row
    back = collect(prod)
    assert back.details["new"] == 1 and IdleFinding.objects.count() == 2
    reopened = IdleFinding.objects.get(resource_arn=churn_arn)
    assert reopened.resolved_at is None and reopened.first_seen == created[churn_arn]


def test_pages_are_followed(prod, findings_control, db, monkeypatch):
    from collectors import compute_optimizer

    monkeypatch.setattr(compute_optimizer, "PAGE_SIZE", 1)
    findings_control(
        "POST",
        "idle_findings",
        {"add": {"account": fl.PROD, "region": REGION, "endpoint": "ghost-endpoint", "instance_type": "ml.m5.large"}},
    )
    summary = collect(prod)
    assert summary.details["findings"] == 2
    assert summary.api_calls == 2 and summary.details["calls"] == 2


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("OptInRequiredException", "Compute Optimizer is not enabled for account 111122223333: opt in at"),
        ("AccessDeniedException", "allow compute-optimizer:GetIdleRecommendations"),
    ],
)
def test_without_opt_in_or_permission_the_run_fails_clearly_and_other_sources_go_on(
    prod, findings_control, db, code, says
):
    findings_control("POST", "faults", {"operation": "GetIdleRecommendations", "error": code, "account": fl.PROD})
    with pytest.raises(CollectionFailed, match="compute_optimizer"):
        collect(prod)
    state = CollectionState.objects.get(account=prod, region=REGION, source="compute_optimizer")
    assert says in state.last_error and state.consecutive_failures == 1
    assert IdleFinding.objects.count() == 0
    inventory = runner.run(prod, REGION, "inventory")
    assert inventory.details["endpoints"] == sum(
        1 for e in FLEET.values() if e.account == fl.PROD and e.region == REGION and not e.deleted
    )
    assert CollectionState.objects.get(account=prod, region=REGION, source="inventory").last_error == ""
