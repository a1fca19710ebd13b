"""CloudTrail LookupEvents in the sandbox, over HTTP with plain boto3: seeded history, live SageMaker calls,
the 90-day window, paging, filters and fault injection; then the demo fleet's history."""

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from sandbox import fleet as fl
from sandbox.clients import client
from sandbox.server import SandboxServer

ACCOUNT = "310987654321"


@pytest.fixture(scope="module")
def server():
    server = SandboxServer().start()
    yield server
    server.stop()


def control(url: str, route: str, method: str = "GET", payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(f"{url}/_sandbox/{route}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback sandbox only
        return json.loads(response.read())


NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def seeded(server):
    """60 backdated UpdateEndpoint events (one a day for 120 days, half of them older than 90 days)."""
    events = [
        {
            "account": ACCOUNT,
            "region": "eu-west-1",
            "event_name": "UpdateEndpoint" if day % 2 else "CreateEndpointConfig",
            "event_time": (NOW - timedelta(days=day, hours=1)).isoformat(),
            "request_parameters": (
                {"EndpointName": f"ep-{day % 3}", "EndpointConfigName": f"cfg-{day}"}
                if day % 2
                else {"EndpointConfigName": f"cfg-{day}", "ProductionVariants": [{"VariantName": "A"}]}
            ),
        }
        for day in range(120)
    ]
    assert control(server.url, "cloudtrail", "POST", {"events": events}) == {"added": 120}
    return client("cloudtrail", server.url, "eu-west-1", ACCOUNT)


def all_events(ct, **kwargs) -> list[dict]:
    pages = ct.get_paginator("lookup_events").paginate(**kwargs)
    return [e for page in pages for e in page["Events"]]


def test_only_the_last_90_days_newest_first_in_pages_of_at_most_50(seeded):
    first = seeded.lookup_events()
    assert len(first["Events"]) == 50 and "NextToken" in first
    events = all_events(seeded)
    assert len(events) == 90  # days 0..89 (each an hour past the day): the 30 older ones are gone
    times = [e["EventTime"] for e in events]
    assert times == sorted(times, reverse=True)
    assert min(times) >= NOW - timedelta(days=90)
    smaller = seeded.lookup_events(MaxResults=7)
    assert len(smaller["Events"]) == 7
    following = seeded.lookup_events(MaxResults=7, NextToken=smaller["NextToken"])
    assert [e["EventId"] for e in following["Events"]] == [e["EventId"] for e in events[7:14]]


def test_an_event_has_the_documented_shape_and_its_record_the_request_in_lower_camel_case(seeded):
    event = seeded.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateEndpointConfig"}], MaxResults=1
    )["Events"][0]
    assert event["EventName"] == "CreateEndpointConfig"
    assert event["EventSource"] == "sagemaker.amazonaws.com"
    assert event["Username"]
    assert event["Resources"] == [{"ResourceType": "AWS::SageMaker::EndpointConfig", "ResourceName": "cfg-0"}]
    record = json.loads(event["CloudTrailEvent"])
    assert record["eventName"] == "CreateEndpointConfig"
    assert record["eventSource"] == "sagemaker.amazonaws.com"
    assert record["awsRegion"] == "eu-west-1" and record["recipientAccountId"] == ACCOUNT
    assert record["eventTime"] == (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert record["requestParameters"] == {"endpointConfigName": "cfg-0", "productionVariants": [{"variantName": "A"}]}


def test_lookup_attributes_and_the_time_range_filter(seeded):
    updates = all_events(seeded, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "UpdateEndpoint"}])
    assert len(updates) == 45 and {e["EventName"] for e in updates} == {"UpdateEndpoint"}
    ep1 = all_events(seeded, LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": "ep-1"}])
    assert len(ep1) == 15  # odd days below 90 with day % 3 == 1
    assert all(json.loads(e["CloudTrailEvent"])["requestParameters"]["endpointName"] == "ep-1" for e in ep1)
    source = all_events(
        seeded, LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "sagemaker.amazonaws.com"}]
    )
    assert len(source) == 90
    assert (
        all_events(seeded, LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "s3.amazonaws.com"}])
        == []
    )
    window = all_events(seeded, StartTime=NOW - timedelta(days=10), EndTime=NOW - timedelta(days=5))
    assert len(window) == 5  # days 5..9, each an hour past the day
    assert seeded.lookup_events(StartTime=NOW - timedelta(days=200), EndTime=NOW - timedelta(days=95))["Events"] == []


def test_refusals_as_aws_words_them(seeded):
    with pytest.raises(ClientError) as raised:
        seeded.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "UpdateEndpoint"},
                {"AttributeKey": "ResourceName", "AttributeValue": "ep-1"},
            ]
        )
    assert raised.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    with pytest.raises(ClientError) as raised:
        seeded.lookup_events(MaxResults=51)
    assert raised.value.response["Error"]["Code"] == "InvalidMaxResultsException"
    with pytest.raises(ClientError) as raised:
        seeded.lookup_events(StartTime=NOW, EndTime=NOW - timedelta(days=1))
    assert raised.value.response["Error"]["Code"] == "InvalidTimeRangeException"


def test_events_are_per_account_and_region(server, seeded):
    assert client("cloudtrail", server.url, "us-east-1", ACCOUNT).lookup_events()["Events"] == []
    assert client("cloudtrail", server.url, "eu-west-1", "310987654322").lookup_events()["Events"] == []


def test_live_sagemaker_calls_are_recorded(server):
    sm = client("sagemaker", server.url, "eu-north-1", ACCOUNT)
    ct = client("cloudtrail", server.url, "eu-north-1", ACCOUNT)
    sm.create_model(ModelName="m", PrimaryContainer={"Image": "i"}, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/x")
    for name, count in (("live-v1", 1), ("live-v2", 2)):
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {"VariantName": "A", "ModelName": "m", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": count}
            ],
            MetricsConfig={"MetricPublishFrequencyInSeconds": 10, "EnableEnhancedMetrics": False},
        )
    sm.create_endpoint(
        EndpointName="live",
        EndpointConfigName="live-v1",
        Tags=[{"Key": "team", "Value": "qa"}, {"Key": "sandbox:status", "Value": "InService"}],
    )
    sm.update_endpoint(EndpointName="live", EndpointConfigName="live-v2")
    with pytest.raises(ClientError):
        sm.update_endpoint(EndpointName="missing", EndpointConfigName="live-v2")  # a failed call is not logged
    sm.delete_endpoint(EndpointName="live")
    events = all_events(ct)
    assert [e["EventName"] for e in events] == [
        "DeleteEndpoint",
        "UpdateEndpoint",
        "CreateEndpoint",
        "CreateEndpointConfig",
        "CreateEndpointConfig",
    ]
    created = json.loads(events[2]["CloudTrailEvent"])
    assert created["requestParameters"] == {
        "endpointName": "live",
        "endpointConfigName": "live-v1",
        "tags": [{"key": "team", "value": "qa"}],  # the seeding knob is not logged
    }
    assert created["responseElements"]["endpointArn"] == f"arn:aws:sagemaker:eu-north-1:{ACCOUNT}:endpoint/live"
    config = json.loads(events[3]["CloudTrailEvent"])["requestParameters"]
    assert config["endpointConfigName"] == "live-v2"
    assert config["productionVariants"][0]["initialInstanceCount"] == 2
    assert config["metricsConfig"] == {"metricPublishFrequencyInSeconds": 10, "enableEnhancedMetrics": False}
    by_resource = all_events(ct, LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": "live"}])
    assert [e["EventName"] for e in by_resource] == ["DeleteEndpoint", "UpdateEndpoint", "CreateEndpoint"]


def test_lookup_events_is_counted_and_takes_injected_faults(server, seeded):
    control(server.url, "calls", "DELETE")
    control(server.url, "faults", "POST", {"operation": "LookupEvents", "error": "AccessDeniedException", "count": 1})
    try:
        ct = client("cloudtrail", server.url, "eu-west-1", ACCOUNT)  # AccessDenied is never retried
        with pytest.raises(ClientError) as raised:
            ct.lookup_events()
        assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
        assert len(ct.lookup_events(MaxResults=3)["Events"]) == 3  # the fault was for one call only
    finally:
        control(server.url, "faults", "DELETE")
    calls = [c for c in control(server.url, "calls")["calls"] if c["operation"] == "LookupEvents"]
    assert calls == [
        {"account": ACCOUNT, "region": "eu-west-1", "service": "cloudtrail", "operation": "LookupEvents", "count": 2}
    ]


# --- the demo fleet's history ------------------------------------------------------------------------


def fleet_events(sandbox, resource: str, region: str = "us-east-1") -> list[dict]:
    ct = client("cloudtrail", sandbox["url"], region, fl.PROD)
    return all_events(ct, LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": resource}])


def config_request(sandbox, config_name: str) -> dict:
    """The requestParameters of the CreateEndpointConfig of that config (CreateEndpoint names it too)."""
    events = [e for e in fleet_events(sandbox, config_name) if e["EventName"] == "CreateEndpointConfig"]
    assert len(events) == 1
    return json.loads(events[0]["CloudTrailEvent"])["requestParameters"]


def test_recsys_ranker_swap_is_in_cloudtrail(sandbox):
    now = datetime.fromisoformat(sandbox["seeded_at"])
    events = fleet_events(sandbox, "recsys-ranker")
    assert [e["EventName"] for e in events] == ["UpdateEndpoint", "CreateEndpoint"]
    update, create = (json.loads(e["CloudTrailEvent"]) for e in events)
    assert create["requestParameters"]["endpointConfigName"] == "recsys-ranker-config-v1"
    assert update["requestParameters"]["endpointConfigName"] == "recsys-ranker-config-v2"
    assert abs(events[0]["EventTime"] - (now - timedelta(days=5))) < timedelta(seconds=1)
    assert abs(events[1]["EventTime"] - (now - timedelta(days=60))) < timedelta(seconds=1)
    v1 = config_request(sandbox, "recsys-ranker-config-v1")
    variants = {v["variantName"]: v for v in v1["productionVariants"]}
    assert (variants["A"]["instanceType"], variants["A"]["initialInstanceCount"]) == ("ml.g5.4xlarge", 2)
    v2 = config_request(sandbox, "recsys-ranker-config-v2")
    assert {v["variantName"]: v["instanceType"] for v in v2["productionVariants"]} == {
        "A": "ml.g5.2xlarge",
        "B": "ml.g5.xlarge",
    }


def test_old_forecast_was_created_and_deleted(sandbox):
    now = datetime.fromisoformat(sandbox["seeded_at"])
    events = fleet_events(sandbox, "old-forecast")
    assert [e["EventName"] for e in events] == ["DeleteEndpoint", "CreateEndpoint"]
    assert abs(events[0]["EventTime"] - (now - timedelta(days=6))) < timedelta(seconds=1)
    tags = json.loads(events[1]["CloudTrailEvent"])["requestParameters"]["tags"]
    assert {"key": "team", "value": "planning"} in tags


def test_llm_assistant_components_and_the_scale_to_zero(sandbox):
    now = datetime.fromisoformat(sandbox["seeded_at"])
    codegen = fleet_events(sandbox, "llm-assistant-codegen")
    assert [e["EventName"] for e in codegen] == ["UpdateInferenceComponentRuntimeConfig", "CreateInferenceComponent"]
    change = json.loads(codegen[0]["CloudTrailEvent"])["requestParameters"]
    assert change == {"inferenceComponentName": "llm-assistant-codegen", "desiredRuntimeConfig": {"copyCount": 0}}
    cut = (now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    assert codegen[0]["EventTime"] == cut
    created = json.loads(codegen[1]["CloudTrailEvent"])["requestParameters"]
    assert created["runtimeConfig"] == {"copyCount": 1}
    assert created["specification"]["computeResourceRequirements"]["numberOfAcceleratorDevicesRequired"] == 1
    endpoint_events = [e["EventName"] for e in fleet_events(sandbox, "llm-assistant")]
    assert endpoint_events.count("CreateInferenceComponent") == 3 and "CreateEndpoint" in endpoint_events
    config = config_request(sandbox, "llm-assistant-config-v1")
    assert "modelName" not in config["productionVariants"][0]
    assert config["productionVariants"][0]["managedInstanceScaling"]["minInstanceCount"] == 0


def test_only_endpoints_created_within_90_days_have_a_create_event(sandbox):
    now = datetime.fromisoformat(sandbox["seeded_at"])
    found = set()
    for region in fl.REGIONS:
        for account in fl.ACCOUNTS:
            ct = client("cloudtrail", sandbox["url"], region, account)
            found |= {
                e["Resources"][0]["ResourceName"]
                for e in all_events(
                    ct, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateEndpoint"}]
                )
            }
            oldest = min((e["EventTime"] for e in all_events(ct)), default=now)
            assert oldest >= now - timedelta(days=90)
    expected = {e.name for e in fl.build_fleet() if e.created_days_ago <= fl.CLOUDTRAIL_DAYS}
    assert found == expected
    assert "fraud-scoring" in found and len(expected) < len(fl.build_fleet())  # some were created before
