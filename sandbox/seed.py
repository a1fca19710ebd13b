"""Seed a running sandbox with the fleet, through plain boto3 calls (the metric history through a pluggable sink).

Per account and region: SageMaker models, endpoint configs (including superseded ones), endpoints and
inference components; 14 days of CloudWatch metrics in AWS's namespaces, names, dimensions and units;
CloudWatch log groups; CloudTrail's event history of the last 90 days; per account an S3 Storage Lens
configuration whose daily metrics export (manifest plus CSV or Parquet) sizes the data-capture prefixes;
and, for the accounts of ``cost_export.EXPORTS``, a CUR 2.0 Data Export of the SageMaker bill
(``sandbox.cost_export``) and a CARBON_EMISSIONS export of AWS's simulated carbon estimates
(``sandbox.carbon_export``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import numpy as np

from sandbox import fleet as fl
from sandbox.carbon_export import seed_carbon_exports
from sandbox.clients import client
from sandbox.cost_export import seed_cost_exports
from sandbox.workload_seed import seed_workloads

PUT_BATCH = 1000  # PutMetricData: at most 1,000 metrics per call
CAPTURE_BYTES_PER_RECORD = 2_400  # request + response JSON lines of a typical tabular/NLP payload
LENS_CONFIG_ID = "wattson-capture-lens"
LENS_HOME_REGION = "us-east-1"
LENS_FORMATS = {fl.PROD: "CSV", fl.RESEARCH: "Parquet"}
LENS_COLUMNS = [
    "version_number",
    "configuration_id",
    "report_date",
    "aws_account_number",
    "aws_region",
    "storage_class",
    "record_type",
    "record_value",
    "bucket_name",
    "metric_name",
    "metric_value",
]


@dataclass
class SeedReport:
    endpoints: int = 0
    variants: int = 0
    datapoints: int = 0
    put_calls: int = 0
    log_groups: int = 0
    lens_files: int = 0
    cost_export_lines: int = 0
    cloudtrail_events: int = 0
    seconds: float = 0.0
    capture_bytes: dict = field(default_factory=dict)  # (account, bucket, prefix) -> bytes per day list
    # account -> {"bucket", "prefix", "name", "carbon_name"} of its CUR 2.0 and CARBON_EMISSIONS exports
    cost_exports: dict = field(default_factory=dict)
    workloads: dict = field(default_factory=dict)  # what seed_workloads created (jobs, notebooks, apps)


# --- metric datums -------------------------------------------------------------------------------


def _stat_sets(values: np.ndarray, counts: np.ndarray, spread: float) -> np.ndarray:
    """Per minute statistic sets (count, sum, min, max) of ``counts`` instances reporting ``values``."""
    lo = values * np.where(counts > 1, 1 - spread, 1.0)
    hi = values * np.where(counts > 1, 1 + spread, 1.0)
    return np.stack([counts, values * counts, lo, hi], axis=1)


def _roll_up(sets: np.ndarray, detail_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Hourly sets for minutes before ``detail_index`` and the minute sets after it."""
    old = sets[:detail_index].reshape(-1, 60, 4)
    present = old[:, :, 0] > 0
    count = old[:, :, 0].sum(axis=1)
    total = old[:, :, 1].sum(axis=1)
    low = np.where(present, old[:, :, 2], np.inf).min(axis=1)
    high = np.where(present, old[:, :, 3], -np.inf).max(axis=1)
    return np.stack([count, total, low, high], axis=1), sets[detail_index:]


def _datums(name: str, dimensions: list[dict], unit: str, hourly, hour_ts, minutely, minute_ts) -> list[dict]:
    out = []
    for sets, stamps in ((hourly, hour_ts), (minutely, minute_ts)):
        for (count, total, low, high), ts in zip(sets, stamps, strict=True):
            if count <= 0:
                continue
            out.append(
                {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": datetime.fromtimestamp(ts, UTC),
                    "StatisticValues": {
                        "SampleCount": float(count),
                        "Sum": float(total),
                        "Minimum": float(low),
                        "Maximum": float(high),
                    },
                    "Unit": unit,
                }
            )
    return out


def variant_metrics(
    endpoint: fl.Endpoint, variant: fl.Variant, minutes: np.ndarray, detail_index: int, now: float
) -> dict[str, list[dict]]:
    """Every datum of one variant (and of the inference components it hosts), grouped by namespace.

    Utilization metrics carry one sample per instance per publish period (``MetricsConfig``): at 10 s a minute's
    statistic set has SampleCount 6 × instances, an hour's 360 × instances. Invocation metrics stay one datum a
    minute unless enhanced metrics are on (then their samples follow the period too; their Sum does not change).
    """
    s = fl.series(endpoint, variant, minutes, now)
    hour_ts, minute_ts = minutes[:detail_index:60], minutes[detail_index:]
    dims = [{"Name": "EndpointName", "Value": endpoint.name}, {"Name": "VariantName", "Value": variant.name}]
    n, calls = s["instances"], s["invocations_per_minute"]
    per_minute = fl.samples_per_minute(endpoint.metric_publish_seconds, minutes)
    served = (calls > 0).astype(float)
    if endpoint.enhanced_metrics:
        served = served * per_minute

    def emit(name, values, counts, unit, spread=0.1, dimensions=dims):
        hourly, minutely = _roll_up(_stat_sets(values, counts, spread), detail_index)
        return _datums(name, dimensions, unit, hourly, hour_ts, minutely, minute_ts)

    host, invocation = [], []
    if endpoint.ic_based:
        return ic_variant_metrics(endpoint, variant, minutes, detail_index, now)
    if variant.serverless:
        host += emit("MemoryUtilization", s["memory_pct"], served, "Percent")
    else:
        samples = n * per_minute
        host += emit("CPUUtilization", s["cpu_pct"] * s["vcpus"], samples, "Percent")
        host += emit("MemoryUtilization", s["memory_pct"], samples, "Percent")
        host += emit("DiskUtilization", s["disk_pct"], samples, "Percent", spread=0.0)
        if s["gpus"].max() > 0:
            gpu_samples = np.where(s["gpus"] > 0, samples, 0)
            host += emit("GPUUtilization", s["gpu_pct"] * s["gpus"], gpu_samples, "Percent")
            host += emit("GPUMemoryUtilization", s["gpu_memory_pct"] * s["gpus"], gpu_samples, "Percent")
        if endpoint.enhanced_metrics:
            host += enhanced_host_metrics(endpoint, variant, (minutes, now), s, per_minute, emit)
    if endpoint.mode == "multi-model":
        host += emit("LoadedModelCount", np.full_like(n, 12.0), n, "None", spread=0.2)
    # Invocation counts: one datum per minute with traffic; async endpoints do not publish Invocations.
    count_name = "InvocationsProcesssed" if endpoint.mode == "async" else "Invocations"  # sic, as AWS spells it
    invocation += emit(count_name, calls / np.maximum(served, 1), served, "None", spread=0.0)
    latency_sets = _stat_sets(s["latency_us"], calls, 0.0)
    latency_sets[:, 2], latency_sets[:, 3] = s["latency_us"] * 0.5, s["latency_us"] * 3.0
    hourly, minutely = _roll_up(latency_sets, detail_index)
    invocation += _datums("ModelLatency", dims, "Microseconds", hourly, hour_ts, minutely, minute_ts)
    return {fl.HOST_NAMESPACE: host, fl.INVOCATION_NAMESPACE: invocation}


def enhanced_host_metrics(endpoint, variant, when, s, per_minute, emit) -> list[dict]:
    """With EnableEnhancedMetrics: CPUUtilization per instance ({..., InstanceId}) and GPUUtilization per GPU
    ({..., InstanceId, AcceleratorId}, 0-100 each); instances are identical, so each shows the variant's mean."""
    out = []
    minutes, now = when
    devices = fl.gpu_by_device(endpoint, variant, minutes, now)
    most = int(s["instances"].max())
    for k, instance_id in enumerate(fl.instance_ids(endpoint, variant, most)):
        present = (s["instances"] > k).astype(float) * per_minute
        dims = [
            {"Name": "EndpointName", "Value": endpoint.name},
            {"Name": "VariantName", "Value": variant.name},
            {"Name": "InstanceId", "Value": instance_id},
        ]
        out += emit("CPUUtilization", s["cpu_pct"] * s["vcpus"], present, "Percent", dimensions=dims)
        for device, values in enumerate(devices):
            gpu_dims = [*dims, {"Name": "AcceleratorId", "Value": str(device)}]
            out += emit("GPUUtilization", values, present, "Percent", dimensions=gpu_dims)
    return out


def ic_variant_metrics(
    endpoint: fl.Endpoint, variant: fl.Variant, minutes: np.ndarray, detail_index: int, now: float
) -> dict[str, list[dict]]:
    """An IC-based variant: its normalized utilizations and reservations ({EndpointName, VariantName}, one sample
    per instance per period; no summed CPUUtilization/GPUUtilization), and per component the normalized
    utilizations in ``/aws/sagemaker/InferenceComponents`` (one sample per copy per period) and Invocations,
    InvocationsPerCopy and ModelLatency in ``AWS/SageMaker`` by ``InferenceComponentName`` (a datum a minute with
    traffic). A component at zero copies publishes nothing."""
    s = fl.ic_series(endpoint, variant, minutes, now)
    hour_ts, minute_ts = minutes[:detail_index:60], minutes[detail_index:]
    per_minute = fl.samples_per_minute(endpoint.metric_publish_seconds, minutes)
    dims = [{"Name": "EndpointName", "Value": endpoint.name}, {"Name": "VariantName", "Value": variant.name}]

    def emit(name, values, counts, unit, dimensions, spread=0.1):
        hourly, minutely = _roll_up(_stat_sets(values, counts, spread), detail_index)
        return _datums(name, dimensions, unit, hourly, hour_ts, minutely, minute_ts)

    samples = s["instances"] * per_minute
    host = []
    for name, key, spread in (
        ("CPUUtilizationNormalized", "cpu_normalized_pct", 0.1),
        ("MemoryUtilizationNormalized", "memory_normalized_pct", 0.1),
        ("GPUUtilizationNormalized", "gpu_normalized_pct", 0.1),
        ("GPUMemoryUtilizationNormalized", "gpu_memory_normalized_pct", 0.1),
        ("CPUReservation", "cpu_reservation_pct", 0.0),
        ("GPUReservation", "gpu_reservation_pct", 0.0),
        ("MemoryReservation", "memory_reservation_pct", 0.0),
    ):
        host += emit(name, s[key], samples, "Percent", dims, spread)
    components, invocation = [], []
    for component in endpoint.components:
        part = s["components"][component.name]
        cdims = [{"Name": "InferenceComponentName", "Value": component.name}]
        copy_samples = part["copies"] * per_minute
        for name, key in (
            ("CPUUtilizationNormalized", "cpu_pct"),
            ("MemoryUtilizationNormalized", "memory_pct"),
            ("GPUUtilizationNormalized", "gpu_pct"),
            ("GPUMemoryUtilizationNormalized", "gpu_memory_pct"),
        ):
            if key.startswith("gpu") and not component.accelerators:
                continue
            components += emit(name, part[key], copy_samples, "Percent", cdims)
        calls = part["invocations_per_minute"]
        served = (calls > 0).astype(float)
        invocation += emit("Invocations", calls, served, "None", cdims, spread=0.0)
        invocation += emit("InvocationsPerCopy", part["invocations_per_copy"], served, "None", cdims, spread=0.0)
        latency_sets = _stat_sets(part["latency_us"], calls, 0.0)
        latency_sets[:, 2], latency_sets[:, 3] = part["latency_us"] * 0.5, part["latency_us"] * 3.0
        hourly, minutely = _roll_up(latency_sets, detail_index)
        invocation += _datums("ModelLatency", cdims, "Microseconds", hourly, hour_ts, minutely, minute_ts)
    return {fl.HOST_NAMESPACE: host, fl.COMPONENT_NAMESPACE: components, fl.INVOCATION_NAMESPACE: invocation}


def daily_invocations(endpoint: fl.Endpoint, minutes: np.ndarray, now: float) -> np.ndarray:
    """Invocations per whole day of the history (summed over variants), oldest first."""
    total = sum(fl.series(endpoint, v, minutes, now)["invocations_per_minute"] for v in endpoint.variants)
    days = len(minutes) // 1440
    return total[: days * 1440].reshape(days, 1440).sum(axis=1)


# --- SageMaker control plane ---------------------------------------------------------------------


def _production_variant(endpoint: fl.Endpoint, variant: fl.Variant, instance_type, count) -> dict:
    spec = {"VariantName": variant.name, "InitialVariantWeight": variant.weight}
    if not endpoint.ic_based:  # an IC-based variant names no model: its components do
        spec["ModelName"] = f"{endpoint.name}-model"
    if variant.serverless:
        spec["ServerlessConfig"] = {
            "MemorySizeInMB": variant.serverless_memory_mb,
            "MaxConcurrency": variant.serverless_max_concurrency,
        }
    else:
        spec.update(InstanceType=instance_type, InitialInstanceCount=count, VolumeSizeInGB=30)
        if variant.max_instances:
            spec["ManagedInstanceScaling"] = {
                "Status": "ENABLED",
                "MinInstanceCount": count,
                "MaxInstanceCount": variant.max_instances,
            }
        if variant.managed_scaling:
            low, high = variant.managed_scaling
            spec["ManagedInstanceScaling"] = {
                "Status": "ENABLED",
                "MinInstanceCount": low,
                "MaxInstanceCount": high,
                "ScaleInPolicy": {"Strategy": "IDLE_RELEASE"},  # scale to zero releases idle instances
            }
            spec["RoutingConfig"] = {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    return spec


def _endpoint_config(endpoint: fl.Endpoint, variants: list[dict], suffix: str) -> dict:
    config = {
        "EndpointConfigName": f"{endpoint.name}-config-{suffix}",
        "ProductionVariants": variants,
        "Tags": endpoint.tags(),
    }
    if endpoint.ic_based:  # the components' containers run under the config's role
        config["ExecutionRoleArn"] = f"arn:aws:iam::{endpoint.account}:role/SageMakerExecution"
    if endpoint.metrics_config:
        config["MetricsConfig"] = endpoint.metrics_config
    if endpoint.capture_pct:
        config["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": endpoint.capture_pct,
            "DestinationS3Uri": f"s3://{endpoint.capture_bucket()}/datacapture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        }
    if endpoint.mode == "async":
        config["AsyncInferenceConfig"] = {
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
            "OutputConfig": {"S3OutputPath": f"s3://{fl.ACCOUNTS[endpoint.account]}-async/{endpoint.name}/out"},
        }
    return config


def _model(endpoint: fl.Endpoint, name: str | None = None) -> dict:
    image = f"763104351884.dkr.ecr.{endpoint.region}.amazonaws.com/pytorch-inference:2.1-gpu-py310"
    container = {"Image": image, "ModelDataUrl": f"s3://{fl.ACCOUNTS[endpoint.account]}-models/{endpoint.name}/"}
    if endpoint.mode == "multi-model":
        container["Mode"] = "MultiModel"
    return {
        "ModelName": name or f"{endpoint.name}-model",
        "PrimaryContainer": container,
        "ExecutionRoleArn": f"arn:aws:iam::{endpoint.account}:role/SageMakerExecution",
    }


def endpoint_configs(endpoint: fl.Endpoint) -> list[dict]:
    """The CreateEndpointConfig requests of an endpoint, oldest first (the last one is the current config)."""
    configs = []
    if endpoint.swap:
        old = [
            _production_variant(endpoint, v, endpoint.swap.old_instance_type, endpoint.swap.old_instance_count)
            if v.name == endpoint.swap.variant
            else _production_variant(endpoint, v, v.instance_type, v.instance_count)
            for v in endpoint.variants
        ]
        configs.append(_endpoint_config(endpoint, old, "v1"))
    current = [_production_variant(endpoint, v, v.instance_type, v.instance_count) for v in endpoint.variants]
    configs.append(_endpoint_config(endpoint, current, "v2" if endpoint.swap else "v1"))
    return configs


def component_request(endpoint: fl.Endpoint, component: fl.Component, copies: int) -> dict:
    """The CreateInferenceComponent request of a component (with ``copies`` copies)."""
    requirements = {
        "NumberOfCpuCoresRequired": component.cpu_cores,
        "NumberOfAcceleratorDevicesRequired": component.accelerators,
        "MinMemoryRequiredInMb": component.memory_mb,
    }
    return {
        "InferenceComponentName": component.name,
        "EndpointName": endpoint.name,
        "VariantName": component.variant,
        "Specification": {"ModelName": f"{component.name}-model", "ComputeResourceRequirements": requirements},
        "RuntimeConfig": {"CopyCount": copies},
        "Tags": endpoint.tags(),
    }


def seed_endpoint(sm, endpoint: fl.Endpoint, now: datetime) -> None:
    if endpoint.ic_based:
        for component in endpoint.components:
            sm.create_model(**_model(endpoint, f"{component.name}-model"))
    else:
        sm.create_model(**_model(endpoint))
    configs = endpoint_configs(endpoint)
    for config in configs:
        sm.create_endpoint_config(**config)
    if endpoint.deleted:
        return  # its config and model stay behind, as they do on AWS
    created = (now - timedelta(days=endpoint.created_days_ago)).isoformat()
    knobs = [{"Key": "sandbox:status", "Value": endpoint.status}, {"Key": "sandbox:creationTime", "Value": created}]
    if endpoint.swap:  # the endpoint was last updated when its instance type was swapped
        swapped = (now - timedelta(days=endpoint.swap.days_ago)).isoformat()
        knobs.append({"Key": "sandbox:lastModifiedTime", "Value": swapped})
    sm.create_endpoint(
        EndpointName=endpoint.name, EndpointConfigName=configs[-1]["EndpointConfigName"], Tags=endpoint.tags() + knobs
    )
    for component in endpoint.components:
        request = component_request(endpoint, component, component.copies)
        component_knobs = [{"Key": "sandbox:creationTime", "Value": created}]
        changed = fl.component_changed_at(component, now.timestamp())
        if changed is not None:
            component_knobs.append(
                {"Key": "sandbox:lastModifiedTime", "Value": datetime.fromtimestamp(changed, UTC).isoformat()}
            )
        sm.create_inference_component(**{**request, "Tags": request["Tags"] + component_knobs})


# --- CloudTrail history --------------------------------------------------------------------------

DEPLOYER = "ml-platform-ci"


def history_events(endpoint: fl.Endpoint, now: datetime) -> list[dict]:
    """The management events CloudTrail still holds for an endpoint (only the last 90 days), backdated.

    At creation: CreateEndpointConfig (two minutes before) and CreateEndpoint with the first config, then
    CreateInferenceComponent for each component (with its first copy count); at a swap: CreateEndpointConfig of
    the new config and UpdateEndpoint to it; a component's copy change: UpdateInferenceComponentRuntimeConfig;
    at deletion: DeleteEndpoint.
    """
    oldest = now - timedelta(days=fl.CLOUDTRAIL_DAYS)
    created = now - timedelta(days=endpoint.created_days_ago)
    configs = endpoint_configs(endpoint)
    arn = f"arn:aws:sagemaker:{endpoint.region}:{endpoint.account}:endpoint/{endpoint.name}"
    events = []

    def event(name: str, moment: datetime, request: dict, response: dict | None = None) -> None:
        events.append(
            {
                "account": endpoint.account,
                "region": endpoint.region,
                "event_name": name,
                "event_time": moment.isoformat(),
                "request_parameters": request,
                "response_elements": response,
                "username": DEPLOYER,
            }
        )

    def config_arn(config: dict) -> dict:
        name = config["EndpointConfigName"]
        return {"EndpointConfigArn": f"arn:aws:sagemaker:{endpoint.region}:{endpoint.account}:endpoint-config/{name}"}

    event("CreateEndpointConfig", created - timedelta(minutes=2), configs[0], config_arn(configs[0]))
    create = {"EndpointName": endpoint.name, "EndpointConfigName": configs[0]["EndpointConfigName"]}
    event("CreateEndpoint", created, {**create, "Tags": endpoint.tags()}, {"EndpointArn": arn})
    for component in endpoint.components:
        first = component.copies if component.earlier_copies is None else component.earlier_copies
        ic_arn = f"arn:aws:sagemaker:{endpoint.region}:{endpoint.account}:inference-component/{component.name}"
        request = component_request(endpoint, component, first)
        event("CreateInferenceComponent", created + timedelta(minutes=8), request, {"InferenceComponentArn": ic_arn})
        changed = fl.component_changed_at(component, now.timestamp())
        if changed is not None:
            update = {"InferenceComponentName": component.name, "DesiredRuntimeConfig": {"CopyCount": component.copies}}
            event(
                "UpdateInferenceComponentRuntimeConfig",
                datetime.fromtimestamp(changed, UTC),
                update,
                {"InferenceComponentArn": ic_arn},
            )
    if endpoint.swap:
        swapped = now - timedelta(days=endpoint.swap.days_ago)
        event("CreateEndpointConfig", swapped - timedelta(minutes=2), configs[-1], config_arn(configs[-1]))
        update = {"EndpointName": endpoint.name, "EndpointConfigName": configs[-1]["EndpointConfigName"]}
        event("UpdateEndpoint", swapped, update, {"EndpointArn": arn})
    if endpoint.deleted:
        event("DeleteEndpoint", now - timedelta(days=endpoint.deleted_days_ago), {"EndpointName": endpoint.name})
    return [e for e in events if datetime.fromisoformat(e["event_time"]) >= oldest]


def seed_cloudtrail(endpoint_url: str, endpoints, now: datetime) -> int:
    """Replace the events recorded while seeding (all stamped now) by the fleet's backdated history."""
    _control(endpoint_url, "cloudtrail", "DELETE")
    events = [e for endpoint in endpoints for e in history_events(endpoint, now)]
    for i in range(0, len(events), 500):
        _control(endpoint_url, "cloudtrail", "POST", {"events": events[i : i + 500]})
    return len(events)


def _control(endpoint_url: str, route: str, method: str, payload: dict | None = None) -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(f"{endpoint_url}/_sandbox/{route}", data=data, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the sandbox's own control route
        return json.loads(response.read())


# --- CloudWatch Logs -----------------------------------------------------------------------------


def endpoint_log_group(endpoint: fl.Endpoint, index: int, now: datetime) -> dict:
    retention = {0: 30, 1: None, 2: None, 3: 14, 4: None, 5: 90, 6: None}[index % 7]
    peak_rps = sum(v.load.peak_rps * v.weight for v in endpoint.variants)
    bytes_per_day = 3_000_000 + peak_rps * 86400 * 0.6 * 45  # ~45 bytes of access log per request
    kept_days = min(endpoint.created_days_ago, retention or endpoint.created_days_ago)
    group = {
        "logGroupName": f"/aws/sagemaker/Endpoints/{endpoint.name}",
        "tags": {
            "team": endpoint.team,
            "sandbox:storedBytes": str(int(bytes_per_day * kept_days)),
            "sandbox:creationTime": (now - timedelta(days=endpoint.created_days_ago)).isoformat(),
        },
    }
    return {**group, "retention": retention}


SHARED_LOG_GROUPS = (  # (name, GB, retention days or None, class)
    ("/aws/sagemaker/TrainingJobs", 42.0, None, "STANDARD"),
    ("/aws/sagemaker/ProcessingJobs", 3.1, 90, "STANDARD"),
    ("/aws/sagemaker/NotebookInstances", 0.21, None, "STANDARD"),
    ("/aws/sagemaker/TransformJobs", 0.9, None, "INFREQUENT_ACCESS"),
    ("/aws/lambda/feature-pipeline", 1.2, 14, "STANDARD"),
)


def seed_log_groups(logs, endpoints: list[fl.Endpoint], scale: float, now: datetime) -> int:
    """Log groups of a place's endpoints, then the shared ones (their sizes scaled by ``scale``).

    The endpoints added for issue 17 come last, so every earlier endpoint keeps the retention its position gave it.
    """
    count = 0
    endpoints = [e for e in endpoints if e not in fl.ISSUE_17] + [e for e in endpoints if e in fl.ISSUE_17]
    for index, endpoint in enumerate(endpoints):
        group = endpoint_log_group(endpoint, index, now)
        logs.create_log_group(logGroupName=group["logGroupName"], tags=group["tags"])
        if group["retention"]:
            logs.put_retention_policy(logGroupName=group["logGroupName"], retentionInDays=group["retention"])
        count += 1
    for name, gigabytes, retention, group_class in SHARED_LOG_GROUPS:
        logs.create_log_group(
            logGroupName=name,
            logGroupClass=group_class,
            tags={
                "sandbox:storedBytes": str(int(gigabytes * scale * 1e9)),
                "sandbox:creationTime": (now - timedelta(days=400)).isoformat(),
            },
        )
        if retention:
            logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
        count += 1
    return count


# --- S3 Storage Lens -----------------------------------------------------------------------------


def capture_prefix_sizes(endpoints: Iterable[fl.Endpoint], minutes, now: float) -> dict:
    """(bucket, prefix) -> stored bytes at the end of each history day, oldest first."""
    sizes = {}
    for endpoint in endpoints:
        if not endpoint.capture_pct:
            continue
        per_day = daily_invocations(endpoint, minutes, now) * endpoint.capture_pct / 100 * CAPTURE_BYTES_PER_RECORD
        already = per_day[:3].mean() * 30  # a month of capture stored before the history starts
        sizes[(endpoint.capture_bucket(), f"datacapture/{endpoint.name}/")] = already + np.cumsum(per_day)
    return sizes


def lens_rows(account: str, day: str, prefix_sizes: dict, day_index: int) -> list[list]:
    rows, buckets = [], defaultdict(float)
    base = ["1.0", LENS_CONFIG_ID, day, account]
    for (bucket, prefix), sizes in sorted(prefix_sizes.items()):
        region = bucket.rsplit("-datacapture-", 1)[1]
        stored = int(sizes[day_index])
        buckets[(bucket, region)] += stored
        rows.append(base + [region, "STANDARD", "PREFIX", quote(prefix, safe=""), bucket, "StorageBytes", stored])
        rows.append(
            base + [region, "STANDARD", "PREFIX", quote(prefix, safe=""), bucket, "ObjectCount", stored // 180_000]
        )
    training = f"{fl.ACCOUNTS[account]}-training-data"
    buckets[(training, "us-east-1")] += 0
    for (bucket, region), stored in sorted(buckets.items()):
        for storage_class, stored_bytes in (("STANDARD", stored or 8.5e11), ("GLACIER", 0 if stored else 4.2e12)):
            if stored_bytes:
                rows.append(base + [region, storage_class, "BUCKET", "", bucket, "StorageBytes", int(stored_bytes)])
                rows.append(
                    base + [region, storage_class, "BUCKET", "", bucket, "ObjectCount", int(stored_bytes // 180_000)]
                )
    total = sum(int(r[-1]) for r in rows if r[6] == "BUCKET" and r[9] == "StorageBytes")
    rows.append(base + [LENS_HOME_REGION, "STANDARD", "ACCOUNT", "", "", "StorageBytes", total])
    return rows


def _encode_report(rows: list[list], fmt: str) -> bytes:
    if fmt == "CSV":
        buffer = io.StringIO()
        csv.writer(buffer).writerows([LENS_COLUMNS, *rows])
        return buffer.getvalue().encode()
    import pandas as pd

    frame = pd.DataFrame(rows, columns=LENS_COLUMNS)
    frame["record_value"] = frame["record_value"].map(lambda v: v.replace("%2F", "/"))  # not encoded in Parquet
    return frame.to_parquet(index=False)


def md5_hex(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()  # an integrity checksum, as S3 uses it


def seed_storage_lens(endpoint_url: str, account: str, prefix_sizes: dict, now: datetime) -> int:
    s3 = client("s3", endpoint_url, LENS_HOME_REGION, account)
    export_bucket = f"{fl.ACCOUNTS[account]}-storage-lens-exports"
    s3.create_bucket(Bucket=export_bucket)
    for bucket in sorted({b for b, _ in prefix_sizes}):
        region = bucket.rsplit("-datacapture-", 1)[1]
        s3_regional = client("s3", endpoint_url, region, account)
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3_regional.create_bucket(Bucket=bucket, **location)
    for (bucket, prefix), _ in sorted(prefix_sizes.items()):
        key = f"{prefix}AllTraffic/{now:%Y/%m/%d/%H}/sample-{uuid.UUID(int=len(prefix)).hex[:8]}.jsonl"
        sample = {
            "captureData": {"endpointInput": {"mode": "INPUT", "data": "[0.1,0.2]"}},
            "eventMetadata": {"eventId": "sandbox"},
        }
        client("s3", endpoint_url, bucket.rsplit("-datacapture-", 1)[1], account).put_object(
            Bucket=bucket, Key=key, Body=json.dumps(sample).encode()
        )
    fmt = LENS_FORMATS.get(account, "CSV")
    config = {
        "Id": LENS_CONFIG_ID,
        "IsEnabled": True,
        "AccountLevel": {
            "BucketLevel": {
                "PrefixLevel": {
                    "StorageMetrics": {
                        "IsEnabled": True,
                        "SelectionCriteria": {"Delimiter": "/", "MaxDepth": 3, "MinStorageBytesPercentage": 1.0},
                    }
                }
            }
        },
        "DataExport": {
            "S3BucketDestination": {
                "Format": fmt,
                "OutputSchemaVersion": "V_1",
                "AccountId": account,
                "Arn": f"arn:aws:s3:::{export_bucket}",
                "Prefix": "lens",
            },
            "CloudWatchMetrics": {"IsEnabled": account == fl.RESEARCH},
        },
    }
    s3control = client("s3control", endpoint_url, LENS_HOME_REGION, account)
    s3control.put_storage_lens_configuration(
        ConfigId=LENS_CONFIG_ID, AccountId=account, StorageLensConfiguration=config
    )
    days = len(next(iter(prefix_sizes.values()))) if prefix_sizes else fl.HISTORY_DAYS
    history_start = (now - timedelta(days=days)).date()
    files = 0
    for day_index in range(days):
        day = (history_start + timedelta(days=day_index)).isoformat()
        body = _encode_report(lens_rows(account, day, prefix_sizes, day_index), fmt)
        base = f"lens/StorageLens/{account}/{LENS_CONFIG_ID}/V_1"
        key = f"{base}/reports/dt={day}/{uuid.UUID(int=day_index + 1).hex}.{'csv' if fmt == 'CSV' else 'par'}"
        s3.put_object(Bucket=export_bucket, Key=key, Body=body)
        manifest = {
            "sourceAccountId": account,
            "configId": LENS_CONFIG_ID,
            "destinationBucket": f"arn:aws:s3:::{export_bucket}",
            "reportVersion": "V_1",
            "reportDate": day,
            "reportFormat": fmt,
            "reportSchema": ",".join(LENS_COLUMNS),
            "reportFiles": [{"key": key, "size": len(body), "md5Checksum": md5_hex(body)}],
        }
        s3.put_object(
            Bucket=export_bucket, Key=f"{base}/manifests/dt={day}/manifest.json", Body=json.dumps(manifest).encode()
        )
        files += 1
    if account == fl.RESEARCH:
        seed_lens_cloudwatch(endpoint_url, account, prefix_sizes, history_start)
    return files


def seed_lens_cloudwatch(endpoint_url: str, account: str, prefix_sizes: dict, history_start) -> None:
    """Bucket-level ``AWS/S3/Storage-Lens`` metrics, as published when CloudWatch publishing is on."""
    cw = client("cloudwatch", endpoint_url, LENS_HOME_REGION, account)
    by_bucket = defaultdict(lambda: 0)
    for (bucket, _), sizes in prefix_sizes.items():
        by_bucket[bucket] = by_bucket[bucket] + sizes
    data = []
    for bucket, sizes in sorted(by_bucket.items()):
        dims = [
            {"Name": "configuration_id", "Value": LENS_CONFIG_ID},
            {"Name": "metrics_version", "Value": "1.0"},
            {"Name": "aws_account_number", "Value": account},
            {"Name": "aws_region", "Value": bucket.rsplit("-datacapture-", 1)[1]},
            {"Name": "bucket_name", "Value": bucket},
            {"Name": "storage_class", "Value": "STANDARD"},
            {"Name": "record_type", "Value": "BUCKET"},
        ]
        for day_index, stored in enumerate(sizes):
            stamp = datetime.combine(history_start + timedelta(days=day_index), datetime.min.time(), UTC)
            data.append(
                {
                    "MetricName": "StorageBytes",
                    "Dimensions": dims,
                    "Timestamp": stamp,
                    "Value": float(stored),
                    "Unit": "Bytes",
                }
            )
    for i in range(0, len(data), PUT_BATCH):
        cw.put_metric_data(Namespace="AWS/S3/Storage-Lens", MetricData=data[i : i + PUT_BATCH])


# --- putting it together -------------------------------------------------------------------------

MetricSink = Callable[[str, str, str, list[dict]], None]


def http_metric_sink(endpoint_url: str) -> MetricSink:
    def put(account: str, region: str, namespace: str, data: list[dict]) -> None:
        client("cloudwatch", endpoint_url, region, account).put_metric_data(Namespace=namespace, MetricData=data)

    return put


def seed_metrics(
    endpoints,
    now: datetime,
    sink: MetricSink,
    report: SeedReport,
    workers: int = 4,
    progress: Callable[[str], None] = print,
) -> None:
    """Put every variant's metrics, one endpoint at a time so memory stays bounded at fleet scale.

    ``sink`` receives the batches PutMetricData would carry: over HTTP (``http_metric_sink``) or straight into
    the server's store when it runs in this process (``sandbox.cli.direct_metric_sink``, the default there).
    """
    minutes, detail_index = fl.minute_grid(now)
    stamp = now.timestamp()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for endpoint in endpoints:
            batches = []
            for variant in endpoint.variants:
                report.variants += 1
                for namespace, data in variant_metrics(endpoint, variant, minutes, detail_index, stamp).items():
                    report.datapoints += len(data)
                    batches += [
                        (endpoint.account, endpoint.region, namespace, data[i : i + PUT_BATCH])
                        for i in range(0, len(data), PUT_BATCH)
                    ]
            list(pool.map(lambda batch: sink(*batch), batches))
            report.put_calls += len(batches)
    progress(
        f"  metrics: {report.datapoints:,} statistic sets for {report.variants} variants "
        f"in {report.put_calls} PutMetricData-sized batches"
    )


def seed(  # noqa: PLR0913 - the fleet, where, when, how, and the benchmark's extra jobs
    endpoint_url: str,
    endpoints: tuple[fl.Endpoint, ...],
    now: datetime | None = None,
    sink: MetricSink | None = None,
    progress: Callable[[str], None] = print,
    training_jobs: int | None = None,
) -> SeedReport:
    """Create the whole fleet in the sandbox at ``endpoint_url``; returns what was created."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    report = SeedReport(endpoints=len(endpoints))
    by_place = defaultdict(list)
    for endpoint in endpoints:
        by_place[(endpoint.account, endpoint.region)].append(endpoint)
    for (account, region), group in sorted(by_place.items()):
        sm = client("sagemaker", endpoint_url, region, account)
        for endpoint in group:
            seed_endpoint(sm, endpoint, now)
        report.log_groups += seed_log_groups(
            client("logs", endpoint_url, region, account), group, len(endpoints) / fl.DEFAULT_FLEET_SIZE, now
        )
        progress(f"  {account} {region}: {len(group)} endpoints and their log groups")
    report.cloudtrail_events = seed_cloudtrail(endpoint_url, endpoints, now)
    progress(f"  CloudTrail: {report.cloudtrail_events} management events of the last {fl.CLOUDTRAIL_DAYS} days")
    seed_metrics(endpoints, now, sink or http_metric_sink(endpoint_url), report, progress=progress)
    report.workloads = seed_workloads(
        endpoint_url, now, sink or http_metric_sink(endpoint_url), progress, training_jobs=training_jobs
    )
    minutes, _ = fl.minute_grid(now)
    for account in fl.ACCOUNTS:
        owned = [e for e in endpoints if e.account == account]
        sizes = capture_prefix_sizes(owned, minutes[: fl.HISTORY_DAYS * 1440], now.timestamp())
        report.lens_files += seed_storage_lens(endpoint_url, account, sizes, now)
        report.capture_bytes.update({(account, *k): v.tolist() for k, v in sizes.items()})
    for delivery in seed_cost_exports(endpoint_url, endpoints, now):
        report.cost_exports[delivery.account] = delivery.entry()
        report.cost_export_lines += sum(delivery.lines.values())
        progress(
            f"  cost export: {sum(delivery.lines.values()):,} CUR 2.0 lines for {delivery.account} in "
            f"s3://{delivery.bucket}/{delivery.prefix}/{delivery.name}/ ({', '.join(delivery.lines)})"
        )
    for carbon in seed_carbon_exports(endpoint_url, now):
        report.cost_exports.setdefault(carbon.account, {})["carbon_name"] = carbon.name
        revised = sorted(month for month, versions in carbon.versions.items() if len(versions) > 1)
        progress(
            f"  CARBON_EMISSIONS export: {carbon.rows:,} rows in {len(carbon.manifests)} deliveries for "
            f"{carbon.account} in s3://{carbon.bucket}/{carbon.prefix}/{carbon.name}/ (two model versions of "
            f"{', '.join(revised)})"
        )
    report.seconds = time.monotonic() - started
    return report
