"""Inference components in the sandbox, over HTTP with plain boto3: the API on a fresh server, the demo fleet's
``llm-assistant`` and its metrics, recomputed from ``sandbox/fleet.py``."""

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from estimator.catalog import hardware
from sandbox import fleet as fl
from sandbox.clients import client
from sandbox.server import SandboxServer

ACCOUNT = "210987654321"
OTHER_ACCOUNT = "210987654322"
FLEET = {e.name: e for e in fl.build_fleet()}
REQUIREMENTS = {"NumberOfCpuCoresRequired": 4, "NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 24576}


@pytest.fixture(scope="module")
def server():
    server = SandboxServer().start()
    yield server
    server.stop()


def control(server, route: str, method: str = "GET"):
    request = urllib.request.Request(f"{server.url}/_sandbox/{route}", method=method)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback sandbox only
        return json.loads(response.read())


@pytest.fixture(scope="module")
def ic_endpoint(server):
    """An IC-based endpoint (a variant without ModelName, scale to zero allowed) with four components."""
    sm = client("sagemaker", server.url, "us-east-1", ACCOUNT)
    sm.create_model(ModelName="llm", PrimaryContainer={"Image": "i"}, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/x")
    sm.create_endpoint_config(
        EndpointConfigName="ic-config",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 0,
                    "MaxInstanceCount": 2,
                    "ScaleInPolicy": {"Strategy": "IDLE_RELEASE"},
                },
            }
        ],
        MetricsConfig={"EnableEnhancedMetrics": True, "MetricPublishFrequencyInSeconds": 30},
    )
    sm.create_endpoint(EndpointName="ic-endpoint", EndpointConfigName="ic-config")
    for index, name in enumerate(("alpha", "beta", "gamma", "delta")):
        sm.create_inference_component(
            InferenceComponentName=name,
            EndpointName="ic-endpoint",
            VariantName="AllTraffic",
            Specification={"ModelName": "llm", "ComputeResourceRequirements": REQUIREMENTS},
            RuntimeConfig={"CopyCount": index + 1},
            Tags=[
                {"Key": "team", "Value": "platform"},
                {"Key": "sandbox:creationTime", "Value": f"2026-0{index + 1}-01T00:00:00+00:00"},
            ],
        )
    return sm


def test_an_endpoint_config_without_model_name_keeps_scaling_role_and_metrics_config(ic_endpoint):
    described = ic_endpoint.describe_endpoint_config(EndpointConfigName="ic-config")
    variant = described["ProductionVariants"][0]
    assert "ModelName" not in variant
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": 2,
        "ScaleInPolicy": {"Strategy": "IDLE_RELEASE"},
    }
    assert described["ExecutionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution"
    assert described["MetricsConfig"] == {"EnableEnhancedMetrics": True, "MetricPublishFrequencyInSeconds": 30}
    endpoint_variant = ic_endpoint.describe_endpoint(EndpointName="ic-endpoint")["ProductionVariants"][0]
    assert endpoint_variant["ManagedInstanceScaling"]["MinInstanceCount"] == 0


def test_an_unknown_model_is_still_refused(server):
    sm = client("sagemaker", server.url, "us-east-1", ACCOUNT)
    with pytest.raises(ClientError, match="Could not find model"):
        sm.create_endpoint_config(
            EndpointConfigName="bad",
            ProductionVariants=[
                {"VariantName": "A", "ModelName": "missing", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
            ],
        )


def test_describe_inference_component_has_the_documented_shape(ic_endpoint):
    described = ic_endpoint.describe_inference_component(InferenceComponentName="beta")
    assert described["InferenceComponentArn"] == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:inference-component/beta"
    assert described["EndpointName"] == "ic-endpoint"
    assert described["EndpointArn"] == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/ic-endpoint"
    assert described["VariantName"] == "AllTraffic"
    assert described["InferenceComponentStatus"] == "InService"
    assert described["CreationTime"] == datetime(2026, 2, 1, tzinfo=UTC)
    assert described["Specification"]["ModelName"] == "llm"
    assert described["Specification"]["ComputeResourceRequirements"] == REQUIREMENTS
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    tags = ic_endpoint.list_tags(ResourceArn=described["InferenceComponentArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "platform"}]  # the seeding knob is consumed


def test_an_unknown_component_is_a_validation_exception_as_aws_words_it(ic_endpoint):
    with pytest.raises(ClientError) as raised:
        ic_endpoint.describe_inference_component(InferenceComponentName="nope")
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f"Could not find inference component 'arn:aws:sagemaker:us-east-1:{ACCOUNT}:inference-component/nope'."
    )


def test_list_pages_and_filters(ic_endpoint):
    pages = list(
        ic_endpoint.get_paginator("list_inference_components").paginate(
            EndpointNameEquals="ic-endpoint", PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(p["InferenceComponents"]) for p in pages] == [3, 1]
    names = [c["InferenceComponentName"] for p in pages for c in p["InferenceComponents"]]
    assert names == ["delta", "gamma", "beta", "alpha"]  # newest first by default
    summary = pages[0]["InferenceComponents"][0]
    assert set(summary) == {
        "InferenceComponentName",
        "InferenceComponentArn",
        "EndpointName",
        "EndpointArn",
        "VariantName",
        "InferenceComponentStatus",
        "CreationTime",
        "LastModifiedTime",
    }
    ascending = ic_endpoint.list_inference_components(SortBy="Name", SortOrder="Ascending", MaxResults=100)
    assert [c["InferenceComponentName"] for c in ascending["InferenceComponents"]] == [
        "alpha",
        "beta",
        "delta",
        "gamma",
    ]
    assert ic_endpoint.list_inference_components(EndpointNameEquals="other")["InferenceComponents"] == []
    assert ic_endpoint.list_inference_components(VariantNameEquals="B")["InferenceComponents"] == []
    assert len(ic_endpoint.list_inference_components(StatusEquals="InService")["InferenceComponents"]) == 4
    with pytest.raises(ClientError, match="maxResults"):
        ic_endpoint.list_inference_components(MaxResults=101)


def test_components_are_per_account_and_region(server, ic_endpoint):
    assert (
        client("sagemaker", server.url, "eu-west-1", ACCOUNT).list_inference_components()["InferenceComponents"] == []
    )
    other = client("sagemaker", server.url, "us-east-1", OTHER_ACCOUNT)
    assert other.list_inference_components()["InferenceComponents"] == []


def test_update_runtime_config_update_and_delete(server, ic_endpoint):
    sm = ic_endpoint
    sm.create_inference_component(
        InferenceComponentName="scratch",
        EndpointName="ic-endpoint",
        VariantName="AllTraffic",
        Specification={"ModelName": "llm", "ComputeResourceRequirements": REQUIREMENTS},
        RuntimeConfig={"CopyCount": 1},
    )
    sm.update_inference_component_runtime_config(
        InferenceComponentName="scratch", DesiredRuntimeConfig={"CopyCount": 0}
    )
    runtime = sm.describe_inference_component(InferenceComponentName="scratch")["RuntimeConfig"]
    assert runtime == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}
    bigger = {**REQUIREMENTS, "NumberOfAcceleratorDevicesRequired": 2}
    sm.update_inference_component(
        InferenceComponentName="scratch",
        Specification={"ModelName": "llm", "ComputeResourceRequirements": bigger},
        RuntimeConfig={"CopyCount": 3},
    )
    described = sm.describe_inference_component(InferenceComponentName="scratch")
    assert described["Specification"]["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == 2
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 3
    sm.delete_inference_component(InferenceComponentName="scratch")
    with pytest.raises(ClientError, match="Could not find inference component"):
        sm.describe_inference_component(InferenceComponentName="scratch")
    calls = {
        (c["account"], c["operation"]): c["count"]
        for c in control(server, "calls")["calls"]
        if c["service"] == "sagemaker"
    }
    for operation in (
        "CreateInferenceComponent",
        "UpdateInferenceComponentRuntimeConfig",
        "UpdateInferenceComponent",
        "DeleteInferenceComponent",
        "DescribeInferenceComponent",
    ):
        assert calls[(ACCOUNT, operation)] >= 1  # counted like every other call


def test_a_component_needs_an_existing_endpoint(ic_endpoint):
    with pytest.raises(ClientError, match="Could not find endpoint"):
        ic_endpoint.create_inference_component(
            InferenceComponentName="orphan",
            EndpointName="missing",
            VariantName="AllTraffic",
            Specification={"ModelName": "llm", "ComputeResourceRequirements": REQUIREMENTS},
            RuntimeConfig={"CopyCount": 1},
        )


# --- the demo fleet's llm-assistant ------------------------------------------------------------------


def prod(sandbox, service: str):
    return client(service, sandbox["url"], "us-east-1", fl.PROD)


def test_llm_assistant_has_three_components_as_the_contract_says(sandbox):
    sm = prod(sandbox, "sagemaker")
    listed = sm.list_inference_components(EndpointNameEquals="llm-assistant")["InferenceComponents"]
    assert sorted(c["InferenceComponentName"] for c in listed) == [
        "llm-assistant-chat",
        "llm-assistant-codegen",
        "llm-assistant-summarize",
    ]
    copies = {}
    for summary in listed:
        described = sm.describe_inference_component(InferenceComponentName=summary["InferenceComponentName"])
        assert described["Specification"]["ComputeResourceRequirements"] == {
            "NumberOfCpuCoresRequired": 4,
            "NumberOfAcceleratorDevicesRequired": 1,
            "MinMemoryRequiredInMb": 24576,
        }
        copies[summary["InferenceComponentName"]] = described["RuntimeConfig"]["CurrentCopyCount"]
    assert copies == {"llm-assistant-chat": 2, "llm-assistant-summarize": 1, "llm-assistant-codegen": 0}
    config_name = sm.describe_endpoint(EndpointName="llm-assistant")["EndpointConfigName"]
    variant = sm.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]
    assert "ModelName" not in variant
    assert variant["InstanceType"] == "ml.g5.12xlarge" and variant["InitialInstanceCount"] == 1
    assert variant["ManagedInstanceScaling"]["MinInstanceCount"] == 0
    assert variant["ManagedInstanceScaling"]["MaxInstanceCount"] == 2
    assert hardware("ml.g5.12xlarge")["gpu_count"] == 4


def query(qid, namespace, name, dims, stat, period=3600):
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
            },
            "Period": period,
            "Stat": stat,
        },
    }


def values(cw, queries, start, end) -> dict[str, list[float]]:
    response = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending")
    return {r["Id"]: r["Values"] for r in response["MetricDataResults"]}


ENDPOINT_DIMS = (("EndpointName", "llm-assistant"), ("VariantName", "AllTraffic"))


@pytest.mark.parametrize("days_ago", [5, 1])  # codegen running (4 of 4 GPUs reserved), then at zero (3 of 4)
def test_an_hour_of_ic_metrics_equals_what_the_fleet_implies(sandbox, days_ago):
    now = datetime.fromisoformat(sandbox["seeded_at"])
    hour = (now - timedelta(days=days_ago)).replace(minute=0, second=0, microsecond=0)
    expected = fl.ic_hour(FLEET["llm-assistant"], hour, now)
    cw = prod(sandbox, "cloudwatch")
    queries = [
        query("gpures", fl.HOST_NAMESPACE, "GPUReservation", ENDPOINT_DIMS, "Average"),
        query("cpures", fl.HOST_NAMESPACE, "CPUReservation", ENDPOINT_DIMS, "Average"),
        query("memres", fl.HOST_NAMESPACE, "MemoryReservation", ENDPOINT_DIMS, "Average"),
        query("gpunorm", fl.HOST_NAMESPACE, "GPUUtilizationNormalized", ENDPOINT_DIMS, "Average"),
        query("cpun", fl.HOST_NAMESPACE, "CPUUtilizationNormalized", ENDPOINT_DIMS, "SampleCount"),
    ]
    for index, name in enumerate(expected["components"]):
        dims = (("InferenceComponentName", name),)
        queries += [
            query(f"g{index}", fl.COMPONENT_NAMESPACE, "GPUUtilizationNormalized", dims, "Average"),
            query(f"n{index}", fl.COMPONENT_NAMESPACE, "GPUUtilizationNormalized", dims, "SampleCount"),
            query(f"i{index}", fl.INVOCATION_NAMESPACE, "Invocations", dims, "Sum"),
            query(f"p{index}", fl.INVOCATION_NAMESPACE, "InvocationsPerCopy", dims, "Sum"),
        ]
    got = values(cw, queries, hour, hour + timedelta(hours=1))
    gpu_reserved = 4 if days_ago == 5 else 3
    assert expected["gpu_reservation_pct"] == pytest.approx(100 * gpu_reserved / 4)
    assert got["gpures"] == pytest.approx([100 * gpu_reserved / 4])
    assert got["cpures"] == pytest.approx([100 * 4 * gpu_reserved / 48])  # 4 cores a copy of 48 vCPUs
    assert got["memres"] == pytest.approx([100 * 24576 * gpu_reserved / (192 * 1024)])
    assert got["gpunorm"] == pytest.approx([expected["gpu_normalized_pct"]])
    assert got["cpun"] == [60.0]  # one instance, a sample a minute
    for index, (name, part) in enumerate(expected["components"].items()):
        assert got[f"n{index}"] == ([part["copies"] * 60] if part["copies"] else []), name
        assert got[f"g{index}"] == (pytest.approx([part["gpu_pct"]]) if part["copies"] else []), name
        assert sum(got[f"i{index}"]) == part["invocations"], name
        assert sum(got[f"p{index}"]) == pytest.approx(part["invocations_per_copy"]), name
    chat = expected["components"]["llm-assistant-chat"]
    assert chat["invocations"] > 0 and chat["invocations_per_copy"] == pytest.approx(chat["invocations"] / 2)
    # the endpoint's normalized GPU use is its components' use weighted by the GPUs they reserved (of 4)
    weighted = sum(p["copies"] * p["accelerators"] * p["gpu_pct"] for p in expected["components"].values()) / 4
    assert got["gpunorm"] == pytest.approx([weighted])


def test_an_ic_endpoint_publishes_no_classic_utilization_or_variant_invocations(sandbox):
    now = datetime.fromisoformat(sandbox["seeded_at"])
    cw = prod(sandbox, "cloudwatch")
    for namespace in (fl.HOST_NAMESPACE, fl.INVOCATION_NAMESPACE):
        names = {
            m["MetricName"]
            for m in cw.list_metrics(
                Namespace=namespace, Dimensions=[{"Name": "EndpointName", "Value": "llm-assistant"}]
            )["Metrics"]
        }
        for classic in ("CPUUtilization", "GPUUtilization", "MemoryUtilization", "Invocations", "ModelLatency"):
            assert classic not in names, (namespace, classic)
    host = {
        m["MetricName"]
        for m in cw.list_metrics(
            Namespace=fl.HOST_NAMESPACE, Dimensions=[{"Name": "EndpointName", "Value": "llm-assistant"}]
        )["Metrics"]
    }
    assert host == {
        "CPUUtilizationNormalized",
        "MemoryUtilizationNormalized",
        "GPUUtilizationNormalized",
        "GPUMemoryUtilizationNormalized",
        "CPUReservation",
        "GPUReservation",
        "MemoryReservation",
    }
    components = cw.list_metrics(Namespace=fl.COMPONENT_NAMESPACE)["Metrics"]
    assert {d["Value"] for m in components for d in m["Dimensions"]} == {
        "llm-assistant-chat",
        "llm-assistant-summarize",
        "llm-assistant-codegen",
    }
    assert all([d["Name"] for d in m["Dimensions"]] == ["InferenceComponentName"] for m in components)
    # the component scaled to zero three days ago publishes nothing since
    hour = (now - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    dims = (("InferenceComponentName", "llm-assistant-codegen"),)
    got = values(
        cw,
        [
            query("u", fl.COMPONENT_NAMESPACE, "CPUUtilizationNormalized", dims, "SampleCount"),
            query("i", fl.INVOCATION_NAMESPACE, "Invocations", dims, "Sum"),
        ],
        hour - timedelta(hours=12),
        hour,
    )
    assert got == {"u": [], "i": []}


def test_the_fleet_summary_describes_components_and_metrics_config(sandbox):
    with urllib.request.urlopen(f"{sandbox['url']}/_sandbox/fleet", timeout=30) as response:  # noqa: S310
        summary = json.loads(response.read())
    by_name = {e["name"]: e for e in summary["endpoints"]}
    assert len(by_name) == fl.DEFAULT_FLEET_SIZE == 47
    llm = by_name["llm-assistant"]
    assert [(c["name"], c["copies"], c["accelerators"]) for c in llm["inference_components"]] == [
        ("llm-assistant-chat", 2, 1),
        ("llm-assistant-summarize", 1, 1),
        ("llm-assistant-codegen", 0, 1),
    ]
    assert by_name["ctr-realtime-10s"]["metric_publish_seconds"] == 10
    assert by_name["vision-batch-gpu"]["enhanced_metrics"] is True
    assert by_name["fraud-scoring"]["inference_components"] == []
