"""MetricsConfig: instance-hours from the SampleCount of CPUUtilization at the publish period in effect, a change
of it opening a new configuration row, and per-GPU utilization with enhanced metrics."""

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

import estimator
from collectors import runner
from collectors.models import CollectionState, Endpoint, VariantConfig, VariantHour
from collectors.utilization import floor_hour
from sandbox import fleet as fl
from sandbox.clients import client

FLEET = {e.name: e for e in fl.build_fleet()}
REGION = "us-west-2"  # the scratch account's


def expected_instance_hours(sandbox, name: str, hour: datetime) -> float:
    """The fleet's instance count averaged over the hour, minute by minute: what any publish period must yield."""
    endpoint = FLEET[name]
    now = datetime.fromisoformat(sandbox["seeded_at"]).timestamp()
    minutes = np.arange(hour.timestamp(), hour.timestamp() + 3600, 60.0)
    return fl.series(endpoint, endpoint.variants[0], minutes, now)["instances"].sum() / 60


def create_endpoint(sm, name: str, instance_type: str, count: int, metrics: dict | None, days_ago: float) -> None:
    config = {
        "EndpointConfigName": f"{name}-config",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "model",
                "InstanceType": instance_type,
                "InitialInstanceCount": count,
            }
        ],
    }
    if metrics is not None:
        config["MetricsConfig"] = metrics
    sm.create_endpoint_config(**config)
    created = (timezone.now() - timedelta(days=days_ago)).isoformat()
    sm.create_endpoint(
        EndpointName=name,
        EndpointConfigName=f"{name}-config",
        Tags=[{"Key": "sandbox:creationTime", "Value": created}],
    )


def put(sandbox, account, metric: str, dimensions: dict, moment: datetime, samples: float, value: float) -> None:
    cw = client("cloudwatch", sandbox["url"], REGION, account.account_id)
    cw.put_metric_data(
        Namespace=fl.HOST_NAMESPACE,
        MetricData=[
            {
                "MetricName": metric,
                "Timestamp": moment,
                "Unit": "Percent",
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "StatisticValues": {"SampleCount": samples, "Sum": samples * value, "Minimum": value, "Maximum": value},
            }
        ],
    )


def put_cpu(sandbox, account, endpoint: str, moment: datetime, samples: float) -> None:
    dims = {"EndpointName": endpoint, "VariantName": "AllTraffic"}
    put(sandbox, account, "CPUUtilization", dims, moment, samples, 120.0)


def collect(account):
    runner.run(account, REGION, "inventory")
    return runner.run(account, REGION, "utilization")


def test_ten_second_metrics_count_two_instances_as_two_not_twelve(prod, sandbox):
    runner.run(prod, "us-east-1", "inventory")
    config = VariantConfig.objects.get(endpoint__name="ctr-realtime-10s", valid_to__isnull=True)
    assert (config.metric_publish_seconds, config.enhanced_metrics, config.instance_type) == (
        10,
        False,
        "ml.c6i.2xlarge",
    )
    runner.run(prod, "us-east-1", "utilization")
    seeded = floor_hour(datetime.fromisoformat(sandbox["seeded_at"]))
    rows = VariantHour.objects.filter(endpoint__name="ctr-realtime-10s", hour__gte=seeded - timedelta(days=3))
    rows = rows.filter(hour__lt=seeded)
    assert rows.count() == 3 * 24
    for row in rows:
        expected = expected_instance_hours(sandbox, "ctr-realtime-10s", row.hour)
        assert expected == 2  # the fleet's definition: two instances around the clock
        assert row.instance_hours == pytest.approx(expected)
        assert row.metric_publish_seconds == 10
    # Its neighbours at the default period are unaffected.
    assert set(
        VariantHour.objects.filter(endpoint__name="fraud-scoring").values_list("metric_publish_seconds", flat=True)
    ) == {60}


def test_three_hundred_second_metrics_count_one_sample_per_instance_per_five_minutes(scratch, sandbox):
    create_endpoint(
        scratch.sagemaker, "every-five-minutes", "ml.m5.xlarge", 3, {"MetricPublishFrequencyInSeconds": 300}, 2
    )
    create_endpoint(scratch.sagemaker, "every-minute", "ml.m5.xlarge", 3, None, 2)
    hour = floor_hour(timezone.now()) - timedelta(hours=3)
    for name in ("every-five-minutes", "every-minute"):
        put_cpu(sandbox, scratch, name, hour + timedelta(minutes=10), 36)  # the same SampleCount for both
    collect(scratch)
    five = VariantHour.objects.get(endpoint__name="every-five-minutes", hour=hour)
    one = VariantHour.objects.get(endpoint__name="every-minute", hour=hour)
    assert (five.instance_hours, five.metric_publish_seconds, five.config_assumed) == (3.0, 300, False)  # 36 x 300 s
    assert (one.instance_hours, one.metric_publish_seconds) == (pytest.approx(0.6), 60)  # 36 x 60 s
    assert VariantConfig.objects.get(endpoint__name="every-minute").metric_publish_seconds is None


def test_a_metrics_config_change_opens_a_new_row_and_each_hour_uses_its_own_period(scratch, sandbox):
    sm = scratch.sagemaker
    create_endpoint(sm, "speeding-up", "ml.c5.xlarge", 2, None, 2)
    runner.run(scratch, REGION, "inventory")
    sm.create_endpoint_config(
        EndpointConfigName="speeding-up-10s",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "model",
                "InstanceType": "ml.c5.xlarge",
                "InitialInstanceCount": 2,
            }
        ],
        MetricsConfig={"MetricPublishFrequencyInSeconds": 10, "EnableEnhancedMetrics": False},
    )
    sm.update_endpoint(EndpointName="speeding-up", EndpointConfigName="speeding-up-10s")
    changed = floor_hour(timezone.now()) - timedelta(hours=5)
    endpoint_arn = sm.describe_endpoint(EndpointName="speeding-up")["EndpointArn"]
    sm.add_tags(ResourceArn=endpoint_arn, Tags=[{"Key": "sandbox:lastModifiedTime", "Value": changed.isoformat()}])
    result = runner.run(scratch, REGION, "inventory")
    assert result.details["config_changes"] == 1
    old, new = VariantConfig.objects.filter(endpoint__name="speeding-up").order_by("valid_from")
    assert (old.metric_publish_seconds, new.metric_publish_seconds) == (None, 10)
    assert (old.instance_type, new.instance_type) == ("ml.c5.xlarge", "ml.c5.xlarge")  # only MetricsConfig changed
    assert old.valid_to == new.valid_from == changed
    before, after = changed - timedelta(hours=4), changed + timedelta(hours=2)
    put_cpu(sandbox, scratch, "speeding-up", before + timedelta(minutes=5), 2 * 60)  # 2 instances at 60 s
    put_cpu(sandbox, scratch, "speeding-up", after + timedelta(minutes=5), 2 * 360)  # 2 instances at 10 s
    runner.run(scratch, REGION, "utilization")
    rows = {r.hour: r for r in VariantHour.objects.filter(endpoint__name="speeding-up")}
    assert (rows[before].instance_hours, rows[before].metric_publish_seconds) == (2.0, 60)
    assert (rows[after].instance_hours, rows[after].metric_publish_seconds) == (2.0, 10)


def test_a_row_recorded_before_metrics_config_was_read_is_completed_in_place(scratch, sandbox):
    """What migration 0009 sets up after an upgrade: the open row lacks MetricsConfig (recorded by a version that did
    not read it) and the endpoint's config name is forgotten, so the next inventory describes the config again and
    completes the row instead of opening a new one as if the configuration had changed."""
    sm = scratch.sagemaker
    create_endpoint(sm, "old-ten-second", "ml.c5.xlarge", 2, {"MetricPublishFrequencyInSeconds": 10}, 3)
    runner.run(scratch, REGION, "inventory")
    row = VariantConfig.objects.get(endpoint__name="old-ten-second")
    VariantConfig.objects.filter(pk=row.pk).update(metric_publish_seconds=None)  # as recorded before the upgrade
    Endpoint.objects.filter(pk=row.endpoint_id).update(config_name="")  # what the migration does

    result = runner.run(scratch, REGION, "inventory")

    assert result.details["config_changes"] == 0
    (completed,) = VariantConfig.objects.filter(endpoint__name="old-ten-second")
    assert (completed.pk, completed.valid_from, completed.valid_to) == (row.pk, row.valid_from, None)
    assert completed.metric_publish_seconds == 10


def test_enhanced_metrics_store_each_gpus_utilization_from_one_listing(scratch, sandbox):
    create_endpoint(
        scratch.sagemaker,
        "per-gpu",
        "ml.g5.12xlarge",
        1,
        {"EnableEnhancedMetrics": True, "MetricPublishFrequencyInSeconds": 60},
        2,
    )
    create_endpoint(scratch.sagemaker, "summed-gpu", "ml.g5.12xlarge", 1, None, 2)
    hour = floor_hour(timezone.now()) - timedelta(hours=2)
    loads = {"0": 91.0, "1": 4.0, "2": 2.5, "3": 0.5}  # one busy GPU, three nearly idle
    for name in ("per-gpu", "summed-gpu"):
        put_cpu(sandbox, scratch, name, hour + timedelta(minutes=1), 60)
        dims = {"EndpointName": name, "VariantName": "AllTraffic"}
        put(sandbox, scratch, "GPUUtilization", dims, hour + timedelta(minutes=1), 60, sum(loads.values()))
    for accelerator, load in loads.items():
        dims = {
            "EndpointName": "per-gpu",
            "VariantName": "AllTraffic",
            "InstanceId": "i-0abc",
            "AcceleratorId": accelerator,
        }
        put(sandbox, scratch, "GPUUtilization", dims, hour + timedelta(minutes=1), 60, load)
    result = collect(scratch)
    assert result.details["gpu_devices"] == 4
    state = CollectionState.objects.get(account=scratch, region=REGION, source="utilization")
    assert state.last_summary["api_calls"]["cloudwatch:ListMetrics"] == 1
    per_gpu = VariantHour.objects.get(endpoint__name="per-gpu", hour=hour)
    assert per_gpu.gpu_util_by_device == {f"i-0abc/{a}": load for a, load in loads.items()}
    assert per_gpu.gpu_util_pct == pytest.approx(sum(loads.values()) / 4)
    assert VariantHour.objects.get(endpoint__name="summed-gpu", hour=hour).gpu_util_by_device is None


def test_no_listing_without_enhanced_metrics(scratch, sandbox):
    create_endpoint(scratch.sagemaker, "plain-gpu", "ml.g5.xlarge", 1, None, 2)
    put_cpu(sandbox, scratch, "plain-gpu", floor_hour(timezone.now()) - timedelta(minutes=50), 60)
    collect(scratch)
    state = CollectionState.objects.get(account=scratch, region=REGION, source="utilization")
    assert "cloudwatch:ListMetrics" not in state.last_summary["api_calls"]
    assert state.last_summary["gpu_devices"] == 0


def test_vision_batch_gpus_are_stored_each_at_its_own_load(prod, sandbox):
    runner.run(prod, "us-east-1", "inventory")
    result = runner.run(prod, "us-east-1", "utilization")
    endpoint = FLEET["vision-batch-gpu"]
    variant = endpoint.variants[0]
    assert result.details["gpu_devices"] == 4 * variant.instance_count  # ml.g5.12xlarge: 4 GPUs per instance
    seeded = floor_hour(datetime.fromisoformat(sandbox["seeded_at"]))
    now = datetime.fromisoformat(sandbox["seeded_at"]).timestamp()

    def busiest(day_start: datetime) -> datetime:  # whatever the time of day the test runs at, GPU 0 works then
        hours = [day_start + timedelta(hours=k) for k in range(24)]
        return max(hours, key=lambda h: fl.gpu_by_device(endpoint, variant, fl.hour_minutes(h), now)[0].mean())

    for hour in (busiest(seeded - timedelta(days=3)), busiest(seeded - timedelta(days=7))):
        minutes = np.arange(hour.timestamp(), hour.timestamp() + 3600, 60.0)
        instances = fl.series(endpoint, variant, minutes, now)["instances"]
        (instance_id,) = fl.instance_ids(endpoint, variant, int(instances.max()))
        devices = fl.gpu_by_device(endpoint, variant, minutes, now)
        expected = {f"{instance_id}/{d}": (instances * load).sum() / instances.sum() for d, load in enumerate(devices)}
        stored = VariantHour.objects.get(endpoint__name="vision-batch-gpu", hour=hour).gpu_util_by_device
        assert stored == pytest.approx(expected)
        assert stored[f"{instance_id}/0"] > 5 * max(stored[f"{instance_id}/{d}"] for d in (1, 2, 3))  # GPU 0 busy


def test_per_gpu_metrics_set_the_gpu_load_and_each_gpu_is_costed_at_its_own(scratch, sandbox):
    """An hour whose summed GPUUtilization is missing (the aggregate is not published while the per-GPU series
    are) gets its GPU utilization from the GPUs themselves instead of none (the estimator's default); one pinned
    GPU among idle ones sets the hour's maximum. The GPU energy is that of each GPU at its own load."""
    from dashboard.footprint.estimates import estimate_pending
    from dashboard.footprint.models import VariantHourEstimate

    create_endpoint(scratch.sagemaker, "per-gpu", "ml.g5.12xlarge", 1, {"EnableEnhancedMetrics": True}, 2)
    hour = floor_hour(timezone.now()) - timedelta(hours=2)
    loads = {"0": 96.0, "1": 3.0, "2": 1.0, "3": 0.0}
    put_cpu(sandbox, scratch, "per-gpu", hour + timedelta(minutes=1), 60)
    for accelerator, load in loads.items():
        dims = {
            "EndpointName": "per-gpu",
            "VariantName": "AllTraffic",
            "InstanceId": "i-0a",
            "AcceleratorId": accelerator,
        }
        put(sandbox, scratch, "GPUUtilization", dims, hour + timedelta(minutes=1), 60, load)
    collect(scratch)
    row = VariantHour.objects.get(endpoint__name="per-gpu", hour=hour)
    assert row.gpu_util_pct == pytest.approx(sum(loads.values()) / 4)  # 25 %, not unknown
    assert row.gpu_util_max_pct == 96.0

    estimate_pending()
    gpu_kwh = VariantHourEstimate.objects.get(variant_hour=row).gpu_kwh

    def one_gpu_at(load: float) -> float:
        """A quarter of the instance's GPU energy with all four GPUs at ``load``: one GPU's share at that load."""
        frame = pd.DataFrame(
            {
                "instance_type": ["ml.g5.12xlarge"],
                "region": [REGION],
                "hours": [1.0],
                "instance_count": [row.instance_hours],
                "cpu_util_pct": [row.cpu_util_pct],
                "gpu_util_pct": [load],
                "memory_util_pct": [row.memory_util_pct],
                "invocations": [row.invocations],
            }
        )
        return float(estimator.estimate(frame)["gpu_kwh"].iloc[0]) / 4

    each_at_its_own = sum(one_gpu_at(load) for load in loads.values())
    assert gpu_kwh == pytest.approx(each_at_its_own)
    assert gpu_kwh < 0.9 * 4 * one_gpu_at(float("nan"))  # below what an unknown GPU load (no aggregate) costs


def test_a_multi_container_endpoint_is_measured_once_not_once_per_container(scratch, sandbox):
    """Direct-invocation multi-container endpoints publish per-container series ({EndpointName, VariantName,
    ContainerName}) besides the variant's own: the variant's series already cover every container, so the hour
    counts one instance at the variant's load, not one per container."""
    sm = scratch.sagemaker
    sm.create_model(
        ModelName="two-containers",
        Containers=[
            {"Image": "tokenizer", "ContainerHostname": "tok"},
            {"Image": "ranker", "ContainerHostname": "rank"},
        ],
        InferenceExecutionConfig={"Mode": "Direct"},
        ExecutionRoleArn=f"arn:aws:iam::{scratch.account_id}:role/x",
    )
    sm.create_endpoint_config(
        EndpointConfigName="pipeline-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "two-containers",
                "InstanceType": "ml.c5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName="pipeline", EndpointConfigName="pipeline-config")
    hour = floor_hour(timezone.now()) - timedelta(hours=2)
    variant = {"EndpointName": "pipeline", "VariantName": "AllTraffic"}
    put(sandbox, scratch, "CPUUtilization", variant, hour + timedelta(minutes=1), 60, 150.0)  # 1 instance, 4 vCPUs
    for container, load in (("tok", 100.0), ("rank", 50.0)):
        put(sandbox, scratch, "CPUUtilization", {**variant, "ContainerName": container}, hour, 60, load)
    collect(scratch)
    endpoint = Endpoint.objects.get(account=scratch, name="pipeline")
    assert endpoint.mode == "multi-container"
    row = VariantHour.objects.get(endpoint=endpoint, hour=hour)
    assert row.instance_hours == pytest.approx(1.0)  # not 3 (variant + two containers)
    assert row.cpu_util_pct == pytest.approx(150.0 / 4)
