"""The sandbox's Compute Optimizer (GetIdleRecommendations), over HTTP with unmodified boto3: botocore's default
protocol (awsJson) and rpc-v2-cbor both parse, pagination, filters, ordering, faults and the control route."""

import boto3
import botocore.model
import pytest
from botocore.exceptions import ClientError

from sandbox import fleet as fl
from sandbox.clients import _account_header, client
from sandbox.pricing import hosting_usd

FLEET = {e.name: e for e in fl.build_fleet()}
SAGEMAKER = [{"name": "ResourceType", "values": ["SageMakerEndpoint"]}]


def arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:endpoint/{name}"


def co(sandbox, account: str, region: str = "us-east-1"):
    return client("compute-optimizer", sandbox["url"], region, account)


def cbor_client(sandbox, account: str, region: str, monkeypatch):
    """A client that speaks rpc-v2-cbor (botocore would pick awsJson first), from a fresh session."""
    monkeypatch.setattr(botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", ("smithy-rpc-v2-cbor", "json"))
    session = boto3.session.Session(aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    c = session.client("compute-optimizer", region_name=region, endpoint_url=sandbox["url"])
    c.meta.events.register("before-sign.*.*", _account_header(account))
    assert c.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
    return c


def every_page(c, **kwargs) -> list[dict]:
    found, token = [], None
    while True:
        page = c.get_idle_recommendations(**kwargs, **({"nextToken": token} if token else {}))
        found += page["idleRecommendations"]
        token = page.get("nextToken")
        if not token:
            return found


@pytest.fixture
def reset(sandbox_control):
    sandbox_control("DELETE", "idle_findings")
    yield sandbox_control
    sandbox_control("DELETE", "idle_findings")


def test_idle_for_the_whole_lookback_is_flagged_with_its_hosting_cost(sandbox, reset):
    found = co(sandbox, fl.RESEARCH).get_idle_recommendations(filters=SAGEMAKER)["idleRecommendations"]
    bert = FLEET["bert-experiment-3"]
    assert bert.idle_days >= 14
    assert [f["resourceArn"] for f in found] == [arn(fl.RESEARCH, "us-east-1", "bert-experiment-3")]
    (finding,) = found
    monthly = hosting_usd("ml.g4dn.xlarge", "us-east-1") * 1 * 730
    assert finding["savingsOpportunity"]["estimatedMonthlySavings"] == {
        "currency": "USD",
        "value": pytest.approx(monthly, abs=0.01),
    }
    assert finding["savingsOpportunityAfterDiscounts"]["estimatedMonthlySavings"]["value"] < monthly
    assert finding["finding"] == "Idle" and finding["lookBackPeriodInDays"] == 14
    metrics = {m["name"]: m for m in finding["utilizationMetrics"]}
    assert metrics["Invocations"] == {"name": "Invocations", "statistic": "Maximum", "value": 0.0}
    assert metrics["CPU"]["value"] == pytest.approx(bert.variants[0].load.cpu_floor_pct, abs=0.01)
    assert finding["lastRefreshTimestamp"].tzinfo is not None


def test_recently_idle_and_failed_endpoints_are_not_flagged_but_one_busy_enough_endpoint_is(sandbox, reset):
    prod = {
        f["resourceArn"]
        for f in co(sandbox, fl.PROD).get_idle_recommendations(filters=SAGEMAKER)["idleRecommendations"]
    }
    # legacy-churn-model served traffic 9 days ago, inside AWS's 14 days: AWS does not call it idle (we do).
    assert FLEET["legacy-churn-model"].idle_days < 14
    assert arn(fl.PROD, "us-east-1", "legacy-churn-model") not in prod
    # image-tagger serves a trickle, but AWS's utilization threshold calls it idle: the finding only AWS makes.
    assert prod == {arn(fl.PROD, "us-east-1", "image-tagger")}
    north = co(sandbox, fl.RESEARCH, "eu-north-1").get_idle_recommendations(filters=SAGEMAKER)["idleRecommendations"]
    assert FLEET["vision-exp-7"].status == "Failed" and north == []  # a failed endpoint bills nothing


def test_both_protocols_give_the_same_answer(sandbox, reset, monkeypatch):
    plain = every_page(co(sandbox, fl.PROD))
    cbor = every_page(cbor_client(sandbox, fl.PROD, "us-east-1", monkeypatch))
    assert cbor == plain
    assert {f["resourceType"] for f in plain} == {"SageMakerEndpoint", "EC2Instance", "EBSVolume"}


def test_pagination_and_filters(sandbox, reset, monkeypatch):
    for c in (co(sandbox, fl.PROD), cbor_client(sandbox, fl.PROD, "us-east-1", monkeypatch)):
        whole = c.get_idle_recommendations()["idleRecommendations"]
        first = c.get_idle_recommendations(maxResults=1)
        assert len(first["idleRecommendations"]) == 1 and first["nextToken"]
        paged = every_page(c, maxResults=1)
        assert [f["resourceArn"] for f in paged] == [f["resourceArn"] for f in whole] and len(whole) == 3
        unattached = c.get_idle_recommendations(filters=[{"name": "Finding", "values": ["Unattached"]}])
        assert [f["resourceType"] for f in unattached["idleRecommendations"]] == ["EBSVolume"]
        decoys = c.get_idle_recommendations(filters=[{"name": "ResourceType", "values": ["EC2Instance", "EBSVolume"]}])
        assert {f["resourceType"] for f in decoys["idleRecommendations"]} == {"EC2Instance", "EBSVolume"}
        one = c.get_idle_recommendations(resourceArns=[whole[0]["resourceArn"]])["idleRecommendations"]
        assert [f["resourceArn"] for f in one] == [whole[0]["resourceArn"]]
        assert c.get_idle_recommendations(accountIds=[fl.RESEARCH])["idleRecommendations"] == []
        ordered = c.get_idle_recommendations(orderBy={"dimension": "SavingsValue", "order": "Desc"})
        values = [f["savingsOpportunity"]["estimatedMonthlySavings"]["value"] for f in ordered["idleRecommendations"]]
        assert values == sorted(values, reverse=True)
        with pytest.raises(ClientError) as bad:
            c.get_idle_recommendations(nextToken="not-a-token")
        assert bad.value.response["Error"]["Code"] == "InvalidParameterValueException"


@pytest.mark.parametrize("code", ["OptInRequiredException", "AccessDeniedException"])
def test_faults_raise_the_right_error_in_both_protocols(sandbox, reset, monkeypatch, code):
    for c in (co(sandbox, fl.PROD), cbor_client(sandbox, fl.PROD, "us-east-1", monkeypatch)):
        reset("POST", "faults", {"operation": "GetIdleRecommendations", "error": code, "message": "no", "count": 1})
        with pytest.raises(ClientError) as failed:
            c.get_idle_recommendations()
        assert failed.value.response["Error"]["Code"] == code
        assert c.get_idle_recommendations()["idleRecommendations"]  # the fault was used up


def test_control_adds_and_withdraws_findings_and_resets(sandbox, reset):
    c = co(sandbox, fl.PROD)
    tagger, churn = arn(fl.PROD, "us-east-1", "image-tagger"), arn(fl.PROD, "us-east-1", "legacy-churn-model")
    reset("POST", "idle_findings", {"remove": tagger})
    reset(
        "POST",
        "idle_findings",
        {
            "add": {
                "account": fl.PROD,
                "region": "us-east-1",
                "endpoint": "legacy-churn-model",
                "instance_type": "ml.p3.2xlarge",
            }
        },
    )
    found = c.get_idle_recommendations(filters=SAGEMAKER)["idleRecommendations"]
    assert [f["resourceArn"] for f in found] == [churn]
    expected = hosting_usd("ml.p3.2xlarge", "us-east-1") * 730
    assert found[0]["savingsOpportunity"]["estimatedMonthlySavings"]["value"] == pytest.approx(expected, abs=0.01)
    reset("DELETE", "idle_findings")
    assert [f["resourceArn"] for f in c.get_idle_recommendations(filters=SAGEMAKER)["idleRecommendations"]] == [tagger]


def test_ignore_filters_answers_every_type_whatever_the_request(sandbox, reset):
    reset("POST", "idle_findings", {"ignore_filters": True})
    found = co(sandbox, fl.PROD).get_idle_recommendations(filters=SAGEMAKER)["idleRecommendations"]
    assert {f["resourceType"] for f in found} == {"SageMakerEndpoint", "EC2Instance", "EBSVolume"}
    reset("DELETE", "idle_findings")
    found = co(sandbox, fl.PROD).get_idle_recommendations(filters=SAGEMAKER)["idleRecommendations"]
    assert {f["resourceType"] for f in found} == {"SageMakerEndpoint"}
