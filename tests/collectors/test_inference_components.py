"""Inference components: inventory (one listing per region, specification history, deletions) and their hours
(copies, reservations, utilization and invocations, read in the same GetMetricData calls as the variants)."""

from datetime import datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from collectors import runner
from collectors.models import (
    CollectionState,
    ComponentConfig,
    ComponentHour,
    InferenceComponent,
    VariantConfig,
    VariantHour,
)
from collectors.utilization import floor_hour
from sandbox import fleet as fl
from sandbox.clients import client

REGION = "us-west-2"  # the scratch account's
SPEC = {"NumberOfCpuCoresRequired": 4, "NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 24576}


def hosting_endpoint(account, name: str = "shared", days_ago: float = 2) -> None:
    """An endpoint whose variant has no ModelName: it hosts inference components, and may scale to zero."""
    sm = account.sagemaker
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ExecutionRoleArn=f"arn:aws:iam::{account.account_id}:role/x",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
            }
        ],
    )
    created = (timezone.now() - timedelta(days=days_ago)).isoformat()
    sm.create_endpoint(
        EndpointName=name, EndpointConfigName=f"{name}-config", Tags=[{"Key": "sandbox:creationTime", "Value": created}]
    )


def add_component(account, name: str, copies: int, endpoint: str = "shared", spec: dict = SPEC) -> None:
    """A component created a day ago (so it existed in the hours the tests put metrics in)."""
    created = (timezone.now() - timedelta(days=1)).isoformat()
    account.sagemaker.create_inference_component(
        InferenceComponentName=name,
        EndpointName=endpoint,
        VariantName="AllTraffic",
        Specification={"ModelName": "model", "ComputeResourceRequirements": spec},
        RuntimeConfig={"CopyCount": copies},
        Tags=[{"Key": "sandbox:creationTime", "Value": created}],
    )


def inventory(account, region: str = REGION):
    summary = runner.run(account, region, "inventory")
    state = CollectionState.objects.get(account=account, region=region, source="inventory")
    return summary.details, state.last_summary["api_calls"]


def test_a_variant_without_a_model_hosts_components_and_may_scale_to_zero(scratch):
    hosting_endpoint(scratch)
    inventory(scratch)
    config = VariantConfig.objects.get(endpoint__name="shared")
    assert (config.inference_components, config.model_name, config.instance_type) == (True, "", "ml.g5.12xlarge")
    assert (config.min_instance_count, config.max_instance_count) == (0, 2)


def test_components_are_listed_once_per_region_and_described_only_when_new_or_modified(scratch):
    hosting_endpoint(scratch, "shared")
    hosting_endpoint(scratch, "shared-too")
    add_component(scratch, "chat", 2)
    add_component(scratch, "summarize", 1)
    add_component(scratch, "rerank", 1, endpoint="shared-too")
    details, calls = inventory(scratch)
    assert details["inference_components"] == 3
    assert calls["sagemaker:ListInferenceComponents"] == 1  # one listing for the region, not one per endpoint
    assert calls["sagemaker:DescribeInferenceComponent"] == 3
    chat = InferenceComponent.objects.get(name="chat")
    assert (chat.endpoint.name, chat.variant_name, chat.status, chat.deleted_at) == (
        "shared",
        "AllTraffic",
        "InService",
        None,
    )
    assert InferenceComponent.objects.get(name="rerank").endpoint.name == "shared-too"
    spec = chat.configs.get()
    assert (spec.cpu_cores_required, spec.accelerators_required, spec.min_memory_mb) == (4, 1, 24576)
    assert (spec.desired_copy_count, spec.current_copy_count, spec.model_name) == (2, 2, "model")
    details, calls = inventory(scratch)  # nothing changed: nothing described
    assert details["inference_components"] == 3 and details["component_changes"] == 0
    assert "sagemaker:DescribeInferenceComponent" not in calls
    assert ComponentConfig.objects.filter(component__endpoint__account=scratch).count() == 3


def test_a_copy_count_or_specification_change_opens_a_new_row(scratch):
    hosting_endpoint(scratch)
    add_component(scratch, "chat", 2)
    inventory(scratch)
    scratch.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="chat", DesiredRuntimeConfig={"CopyCount": 0}
    )
    details, calls = inventory(scratch)
    assert (details["component_changes"], calls["sagemaker:DescribeInferenceComponent"]) == (1, 1)
    scratch.sagemaker.update_inference_component(
        InferenceComponentName="chat",
        Specification={"ModelName": "model", "ComputeResourceRequirements": {**SPEC, "MinMemoryRequiredInMb": 49152}},
    )
    assert inventory(scratch)[0]["component_changes"] == 1
    rows = list(ComponentConfig.objects.filter(component__name="chat").order_by("valid_from"))
    assert [(r.desired_copy_count, r.min_memory_mb) for r in rows] == [(2, 24576), (0, 24576), (0, 49152)]
    assert rows[0].valid_to == rows[1].valid_from and rows[1].valid_to == rows[2].valid_from
    assert rows[2].valid_to is None


def test_a_component_gone_from_the_listing_is_marked_deleted_when_last_seen(scratch):
    hosting_endpoint(scratch)
    add_component(scratch, "chat", 1)
    add_component(scratch, "short-lived", 1)
    inventory(scratch)
    seen = InferenceComponent.objects.get(name="short-lived").last_seen
    scratch.sagemaker.delete_inference_component(InferenceComponentName="short-lived")
    details, _ = inventory(scratch)
    assert (details["inference_components"], details["components_deleted"]) == (1, 1)
    gone = InferenceComponent.objects.get(name="short-lived")
    assert (gone.deleted_at, gone.status) == (seen, "Deleted")
    assert gone.configs.get().valid_to == seen
    assert InferenceComponent.objects.get(name="chat").deleted_at is None


def test_a_failing_listing_is_recorded_and_the_region_still_succeeds(scratch, sandbox_control):
    hosting_endpoint(scratch)
    add_component(scratch, "chat", 1)
    inventory(scratch)
    sandbox_control(
        "POST",
        "faults",
        {
            "operation": "ListInferenceComponents",
            "error": "AccessDeniedException",
            "message": "User is not authorized to perform sagemaker:ListInferenceComponents",
            "account": scratch.account_id,
        },
    )
    details, _ = inventory(scratch)
    assert details["endpoints"] == 1
    assert any("ListInferenceComponents" in e["error"] for e in details["errors"])
    assert InferenceComponent.objects.get(name="chat").deleted_at is None  # an unread listing deletes nothing
    state = CollectionState.objects.get(account=scratch, region=REGION, source="inventory")
    assert state.last_error == "" and state.resource_errors


def test_a_region_without_components_makes_no_listing(research):
    _, calls = inventory(research, "eu-north-1")
    assert "sagemaker:ListInferenceComponents" not in calls


# --- hours, from metrics put by hand -------------------------------------------------------------


def put(sandbox, account, namespace: str, metric: str, dims: dict, moment: datetime, samples: float, value: float):
    cw = client("cloudwatch", sandbox["url"], REGION, account.account_id)
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Timestamp": moment,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                "StatisticValues": {"SampleCount": samples, "Sum": samples * value, "Minimum": value, "Maximum": value},
            }
        ],
    )


def test_component_hours_count_copies_at_the_publish_period_and_reserve_per_copy(scratch, sandbox):
    hosting_endpoint(scratch)
    add_component(scratch, "chat", 2)
    add_component(scratch, "idle", 0)
    hour = floor_hour(timezone.now()) - timedelta(hours=2)
    at = hour + timedelta(minutes=3)
    variant = {"EndpointName": "shared", "VariantName": "AllTraffic"}
    put(sandbox, scratch, fl.HOST_NAMESPACE, "CPUUtilizationNormalized", variant, at, 60, 30.0)  # 1 instance, 60 s
    put(sandbox, scratch, fl.HOST_NAMESPACE, "GPUUtilizationNormalized", variant, at, 60, 40.0)
    put(sandbox, scratch, fl.HOST_NAMESPACE, "GPUReservation", variant, at, 60, 50.0)
    chat = {"InferenceComponentName": "chat"}
    put(sandbox, scratch, "/aws/sagemaker/InferenceComponents", "CPUUtilizationNormalized", chat, at, 90, 20.0)
    put(sandbox, scratch, "/aws/sagemaker/InferenceComponents", "GPUUtilizationNormalized", chat, at, 90, 70.0)
    put(sandbox, scratch, fl.INVOCATION_NAMESPACE, "Invocations", chat, at, 30, 10.0)  # 300 invocations
    put(sandbox, scratch, fl.INVOCATION_NAMESPACE, "ModelLatency", chat, at, 300, 2000.0)
    runner.run(scratch, REGION, "inventory")
    result = runner.run(scratch, REGION, "utilization")
    assert result.details["components"] == 2
    assert result.details["calls"] == result.details["minimum_calls"]
    row = ComponentHour.objects.get(component__name="chat", hour=hour)
    assert row.copies == pytest.approx(90 * 60 / 3600)  # 1.5 copies on average
    assert (row.accelerators_reserved, row.cpu_cores_reserved) == (pytest.approx(1.5), pytest.approx(6.0))
    assert row.memory_reserved_mb == pytest.approx(1.5 * 24576)
    assert (row.cpu_util_pct, row.gpu_util_pct, row.invocations, row.model_latency_us) == (20.0, 70.0, 300.0, 2000.0)
    idle = ComponentHour.objects.get(component__name="idle", hour=hour)  # no copy reported: 0 copies, nothing reserved
    assert (idle.copies, idle.accelerators_reserved, idle.invocations) == (0.0, 0.0, 0.0)
    host = VariantHour.objects.get(endpoint__name="shared", hour=hour)
    assert (host.instance_hours, host.cpu_util_pct, host.gpu_util_pct, host.gpu_reservation_pct) == (
        1.0,
        30.0,
        40.0,
        50.0,
    )
    assert (host.invocations, host.model_latency_us) == (300.0, 2000.0)  # its components' traffic


# --- the demo fleet's llm-assistant, recomputed from sandbox/fleet.py ----------------------------

FLEET = {e.name: e for e in fl.build_fleet()}
LLM = FLEET["llm-assistant"]


def minutes_of(hour: datetime) -> np.ndarray:
    return np.arange(hour.timestamp(), hour.timestamp() + 3600, 60.0)


def expected_component_hour(sandbox, name: str, hour: datetime) -> dict:
    """One hour of a component, minute by minute from the fleet's definition: averages weighted by copies (one
    sample per copy), sums of invocations, reservations = average copies x what one copy reserves."""
    component = next(c for c in LLM.components if c.name == name)
    now = datetime.fromisoformat(sandbox["seeded_at"]).timestamp()
    s = fl.component_series(LLM, component, minutes_of(hour), now)
    copies = s["copies"]

    def weighted(values):
        return (copies * values).sum() / copies.sum() if copies.sum() else None

    served = s["invocations_per_minute"]
    return {
        "copies": copies.mean(),
        "accelerators_reserved": copies.mean() * component.accelerators,
        "cpu_cores_reserved": copies.mean() * component.cpu_cores,
        "memory_reserved_mb": copies.mean() * component.memory_mb,
        "cpu_util_pct": weighted(s["cpu_pct"]),
        "gpu_util_pct": weighted(s["gpu_pct"]),
        "invocations": served.sum(),
        "model_latency_us": (served * s["latency_us"]).sum() / served.sum() if served.sum() else None,
    }


def expected_variant_hour(sandbox, hour: datetime) -> dict:
    now = datetime.fromisoformat(sandbox["seeded_at"]).timestamp()
    s = fl.ic_series(LLM, LLM.variants[0], minutes_of(hour), now)
    n = s["instances"]

    def weighted(values):
        return (n * values).sum() / n.sum()

    return {
        "instance_hours": n.sum() / 60,
        "cpu_util_pct": weighted(s["cpu_normalized_pct"]),
        "gpu_util_pct": weighted(s["gpu_normalized_pct"]),
        "gpu_reservation_pct": weighted(s["gpu_reservation_pct"]),
        "invocations": sum(part["invocations_per_minute"].sum() for part in s["components"].values()),
    }


@pytest.fixture
def llm_collected(prod):
    runner.run(prod, "us-east-1", "inventory")
    return runner.run(prod, "us-east-1", "utilization")


def test_llm_assistants_three_components_with_their_copies_and_reservations(prod):
    details, calls = inventory(prod, "us-east-1")
    assert details["inference_components"] == 3 and calls["sagemaker:ListInferenceComponents"] == 1
    components = {c.name: c for c in InferenceComponent.objects.filter(endpoint__name="llm-assistant")}
    assert set(components) == {c.name for c in LLM.components}
    for spec in LLM.components:
        config = components[spec.name].configs.get(valid_to__isnull=True)
        assert (config.desired_copy_count, config.current_copy_count) == (spec.copies, spec.copies)
        assert (config.accelerators_required, config.cpu_cores_required, config.min_memory_mb) == (
            spec.accelerators,
            spec.cpu_cores,
            spec.memory_mb,
        )
    assert components["llm-assistant-codegen"].configs.get(valid_to__isnull=True).desired_copy_count == 0
    variant = VariantConfig.objects.get(endpoint__name="llm-assistant", valid_to__isnull=True)
    assert (variant.inference_components, variant.min_instance_count, variant.max_instance_count) == (True, 0, 2)


def test_component_hours_equal_what_the_fleet_implies(llm_collected, sandbox):
    seeded = floor_hour(datetime.fromisoformat(sandbox["seeded_at"]))
    hours = [seeded - timedelta(days=5, hours=h) for h in (0, 7, 13)] + [seeded - timedelta(days=1, hours=3)]
    for hour in hours:
        for component in LLM.components:
            stored = ComponentHour.objects.get(component__name=component.name, hour=hour)
            expected = expected_component_hour(sandbox, component.name, hour)
            for field, value in expected.items():
                assert getattr(stored, field) == pytest.approx(value), (component.name, hour, field)
        host = VariantHour.objects.get(endpoint__name="llm-assistant", hour=hour)
        for field, value in expected_variant_hour(sandbox, hour).items():
            assert getattr(host, field) == pytest.approx(value), (hour, field)


def test_codegen_scaled_to_zero_has_hours_at_zero_copies_reserving_nothing(llm_collected, sandbox):
    seeded = floor_hour(datetime.fromisoformat(sandbox["seeded_at"]))
    rows = ComponentHour.objects.filter(component__name="llm-assistant-codegen", hour__lt=seeded)
    recent = rows.filter(hour__gte=seeded - timedelta(days=2))
    earlier = rows.filter(hour__lt=seeded - timedelta(days=4), hour__gte=seeded - timedelta(days=10))
    assert recent.count() == 2 * 24 and earlier.count() == 6 * 24
    assert {(r.copies, r.accelerators_reserved, r.invocations) for r in recent} == {(0.0, 0.0, 0.0)}
    assert {(r.copies, r.accelerators_reserved) for r in earlier} == {(1.0, 1.0)}


def test_components_are_read_in_the_same_minimal_calls_and_a_second_run_duplicates_nothing(llm_collected, prod):
    details = llm_collected.details
    assert details["components"] == 3
    assert details["calls"] == details["minimum_calls"] >= 1
    snapshot = list(
        ComponentHour.objects.order_by("pk").values_list("pk", "component_id", "hour", "copies", "invocations")
    )
    assert len(snapshot) > 13 * 24 * 3
    again = runner.run(prod, "us-east-1", "utilization", since=datetime.fromisoformat(details["start"]))
    assert again.details["calls"] == again.details["minimum_calls"]
    after = list(
        ComponentHour.objects.order_by("pk").values_list("pk", "component_id", "hour", "copies", "invocations")
    )
    assert after == snapshot
