"""SageMaker inventory: endpoints, their production variants and a never-overwritten configuration history.

ListEndpoints (paginated) -> DescribeEndpoint -> DescribeEndpointConfig and DescribeModel. Endpoint configs
and models are immutable per name, so they are described only when an endpoint points at a config name we
have not recorded for it yet. An endpoint missing from the listing is marked deleted as of when it was last
seen; its history stays. The config's MetricsConfig (publish period, enhanced metrics) is part of each variant's
configuration, so a change of it opens a new row; a variant without ModelName hosts inference components, which
collectors.inference_components records after the endpoints (one listing per region).

One endpoint's error never stops the region: a model deleted under a running endpoint (AWS allows it) or a
failing ListTags is recorded with the endpoint, which is kept with what is known; an endpoint that cannot be
described is skipped this time (never marked deleted). Throttling that outlasts botocore's retries, and a run
in which every listed endpoint failed, fail the whole run so its watermark and its chain stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import ClientError
from django.db import transaction

from collectors import aws
from collectors.errors import CollectionFailed, describe_client_error, is_throttling
from collectors.inference_components import collect_components
from collectors.models import Endpoint, VariantConfig
from collectors.models.endpoints import EndpointMode

# Fields whose change opens a new configuration row; current_instance_count is an observation, updated in place.
# inference_components is not among them: it follows from model_name (empty), which is.
SIGNATURE = (
    "endpoint_config_name",
    "model_name",
    "model_mode",
    "instance_type",
    "desired_instance_count",
    "weight",
    "accelerator_type",
    "serverless_memory_mb",
    "serverless_max_concurrency",
    "serverless_provisioned_concurrency",
    "min_instance_count",
    "max_instance_count",
    "metric_publish_seconds",
    "enhanced_metrics",
)
LIST_PAGE_SIZE = 100


@dataclass
class InventoryResult:
    endpoints: int = 0
    variants: int = 0
    config_changes: int = 0
    deleted: int = 0
    inference_components: int = 0  # listed and recorded this run
    component_changes: int = 0  # specification rows closed because a component changed
    components_deleted: int = 0
    names: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {resource, error}: what failed without stopping the run


def collect_inventory(account, region: str, now: datetime, calls: aws.ApiCalls) -> InventoryResult:
    sm = aws.client(account, "sagemaker", region, calls)
    result = InventoryResult()
    models: dict[str, dict] = {}
    for page in sm.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": LIST_PAGE_SIZE}):
        for summary in page["Endpoints"]:
            name = summary["EndpointName"]
            result.names.append(name)  # listed, so it exists, even if describing it fails below
            try:
                record_endpoint(account, region, sm, name, now, models, result)
            except ClientError as exc:
                if is_throttling(exc):
                    raise
                result.errors.append({"resource": name, "error": describe_client_error(exc)})
    if result.names and not result.endpoints:
        raise CollectionFailed(
            f"none of the {len(result.names)} endpoints could be described, e.g. "
            f"{result.errors[0]['resource']}: {result.errors[0]['error']}"
        )
    result.deleted = mark_deleted(account, region, set(result.names), now)
    components = collect_components(account, region, sm, now)
    result.inference_components, result.component_changes = components.components, components.changes
    result.components_deleted = components.deleted
    result.errors += components.errors
    return result


def record_endpoint(account, region, sm, name: str, now: datetime, models: dict, result: InventoryResult) -> None:  # noqa: PLR0913 - one run's context (account, region, client, clock, result) travels as arguments
    described = sm.describe_endpoint(EndpointName=name)
    endpoint = Endpoint.objects.filter(account=account, region=region, name=name).first()
    config_name = described["EndpointConfigName"]
    config = None
    if endpoint is None or endpoint.config_name != config_name or endpoint.deleted_at is not None:
        config = sm.describe_endpoint_config(EndpointConfigName=config_name)
        for model_name in {v["ModelName"] for v in config["ProductionVariants"] if v.get("ModelName")}:
            if model_name not in models:
                models[model_name] = describe_model(sm, model_name, name, result)
    tags = endpoint_tags(sm, described["EndpointArn"], endpoint, result)
    with transaction.atomic():
        endpoint = save_endpoint(account, region, endpoint, described, config, models, tags, now)
        variants = variant_rows(described, config, models, endpoint)
        result.config_changes += record_variants(endpoint, variants, described.get("LastModifiedTime"), now)
    result.endpoints += 1
    result.variants += len(variants)


def describe_model(sm, model_name: str, endpoint_name: str, result: InventoryResult) -> dict:
    """The model's description, or {} when it cannot be read (e.g. deleted while the endpoint still runs it)."""
    try:
        return sm.describe_model(ModelName=model_name)
    except ClientError as exc:
        if is_throttling(exc):
            raise
        result.errors.append({"resource": f"{endpoint_name} (model {model_name})", "error": describe_client_error(exc)})
        return {}


def endpoint_tags(sm, arn: str, endpoint: Endpoint | None, result: InventoryResult) -> dict:
    """The endpoint's tags; when ListTags fails, the tags recorded before (none for a new endpoint)."""
    try:
        return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn).get("Tags", [])}
    except ClientError as exc:
        if is_throttling(exc):
            raise
        result.errors.append({"resource": f"{arn.rsplit('/', 1)[-1]} (tags)", "error": describe_client_error(exc)})
        return dict(endpoint.tags) if endpoint is not None else {}


def endpoint_mode(config: dict, models: dict) -> str:
    variants = config["ProductionVariants"]
    containers = [c for v in variants for c in model_containers(models.get(v.get("ModelName", ""), {}))]
    if any("ServerlessConfig" in v for v in variants):
        return EndpointMode.SERVERLESS
    if config.get("AsyncInferenceConfig"):
        return EndpointMode.ASYNC
    if any(c.get("Mode") == "MultiModel" for c in containers):
        return EndpointMode.MULTI_MODEL
    if any(len(model_containers(models.get(v.get("ModelName", ""), {}))) > 1 for v in variants):
        return EndpointMode.MULTI_CONTAINER
    return EndpointMode.REALTIME


def model_containers(model: dict) -> list[dict]:
    return model.get("Containers") or ([model["PrimaryContainer"]] if model.get("PrimaryContainer") else [])


def model_mode(model: dict) -> str:
    containers = model_containers(model)
    if len(containers) > 1:
        return model.get("InferenceExecutionConfig", {}).get("Mode", "Serial")
    return containers[0].get("Mode", "SingleModel") if containers else ""


def save_endpoint(account, region, endpoint, described, config, models, tags, now) -> Endpoint:  # noqa: PLR0913 - the facts of one endpoint from four AWS calls, saved together
    if endpoint is None:
        endpoint = Endpoint(account=account, region=region, name=described["EndpointName"], first_seen=now)
    elif endpoint.discovered_from == "cloudtrail":  # known only from CloudTrail, now live again under its name:
        endpoint.discovered_from, endpoint.first_seen = "inventory", now  # read back to its new creation
    endpoint.arn = described["EndpointArn"]
    endpoint.status = described.get("EndpointStatus", "")
    endpoint.failure_reason = described.get("FailureReason", "")
    endpoint.config_name = described["EndpointConfigName"]
    endpoint.tags = tags
    endpoint.created_time = described.get("CreationTime")
    endpoint.last_modified_time = described.get("LastModifiedTime")
    endpoint.last_seen, endpoint.deleted_at = now, None
    if config is not None:
        endpoint.mode = endpoint_mode(config, models)
        capture = {**config.get("DataCaptureConfig", {}), **described.get("DataCaptureConfig", {})}
        endpoint.capture_enabled = bool(capture.get("EnableCapture"))
        endpoint.capture_pct = capture.get("CurrentSamplingPercentage", capture.get("InitialSamplingPercentage"))
        endpoint.capture_destination = capture.get("DestinationS3Uri", "")
    endpoint.save()
    return endpoint


def variant_rows(described: dict, config: dict | None, models: dict, endpoint: Endpoint) -> dict[str, dict]:
    """Per variant: the configuration fields (from the config, or the open row when the config is unchanged)
    merged with what DescribeEndpoint reports now."""
    open_rows = {c.variant_name: c for c in endpoint.variant_configs.filter(valid_to__isnull=True)}
    configured = {v["VariantName"]: v for v in config["ProductionVariants"]} if config else {}
    rows = {}
    for live in described.get("ProductionVariants", []):
        name = live["VariantName"]
        base = (
            config_fields(configured[name], models, config.get("MetricsConfig"))
            if config and name in configured
            else stored_fields(open_rows.get(name))
        )
        serverless = live.get("CurrentServerlessConfig") or {}
        rows[name] = {
            **base,
            "endpoint_config_name": described["EndpointConfigName"],
            "current_instance_count": live.get("CurrentInstanceCount"),
            "desired_instance_count": live.get("DesiredInstanceCount"),
            "weight": live.get("DesiredWeight", live.get("CurrentWeight", base.get("weight"))),
            **(
                {
                    "serverless_memory_mb": serverless["MemorySizeInMB"],
                    "serverless_max_concurrency": serverless.get("MaxConcurrency"),
                    "serverless_provisioned_concurrency": serverless.get("ProvisionedConcurrency"),
                }
                if serverless
                else {}
            ),
        }
    return rows


def config_fields(variant: dict, models: dict, metrics: dict | None = None) -> dict:
    """A variant's configuration; ``metrics`` is the endpoint config's MetricsConfig (absent: 60 s, no enhanced
    metrics). A variant without ModelName hosts inference components."""
    metrics = metrics or {}
    serverless = variant.get("ServerlessConfig") or {}
    scaling = variant.get("ManagedInstanceScaling") or {}
    model_name = variant.get("ModelName", "")
    return {
        "model_name": model_name,
        "model_mode": model_mode(models.get(model_name, {})),
        "instance_type": variant.get("InstanceType", ""),
        "initial_instance_count": variant.get("InitialInstanceCount"),
        "weight": variant.get("InitialVariantWeight"),
        "accelerator_type": variant.get("AcceleratorType", ""),
        "serverless_memory_mb": serverless.get("MemorySizeInMB"),
        "serverless_max_concurrency": serverless.get("MaxConcurrency"),
        "serverless_provisioned_concurrency": serverless.get("ProvisionedConcurrency"),
        "min_instance_count": scaling.get("MinInstanceCount"),
        "max_instance_count": scaling.get("MaxInstanceCount"),
        "metric_publish_seconds": metrics.get("MetricPublishFrequencyInSeconds"),
        "enhanced_metrics": bool(metrics.get("EnableEnhancedMetrics")),
        "inference_components": not model_name and not serverless,
    }


def stored_fields(row: VariantConfig | None) -> dict:
    if row is None:
        return {}
    names = [*SIGNATURE, "initial_instance_count", "inference_components"]
    return {name: getattr(row, name) for name in names}


def record_variants(endpoint: Endpoint, rows: dict[str, dict], last_modified: datetime | None, now) -> int:
    """Open a configuration row for every new or changed variant, closing the one it replaces. Returns changes."""
    changes = 0
    open_rows = {c.variant_name: c for c in endpoint.variant_configs.filter(valid_to__isnull=True)}
    for name, fields in rows.items():
        current = open_rows.pop(name, None)
        if current and all(getattr(current, f) == fields.get(f) for f in SIGNATURE):
            VariantConfig.objects.filter(pk=current.pk).update(
                current_instance_count=fields.get("current_instance_count")
            )
            continue
        if current and unread_metrics_config(current, fields):
            VariantConfig.objects.filter(pk=current.pk).update(
                current_instance_count=fields.get("current_instance_count"),
                **{f: fields.get(f) for f in METRICS_FIELDS},
            )
            continue
        since = change_time(current, last_modified, now)
        if current:
            VariantConfig.objects.filter(pk=current.pk).update(valid_to=since)
            changes += 1
        VariantConfig.objects.create(
            endpoint=endpoint,
            variant_name=name,
            valid_from=since,
            **{k: v for k, v in fields.items() if v is not None or k in SIGNATURE},
        )
    for gone in open_rows.values():  # a variant removed from the endpoint
        VariantConfig.objects.filter(pk=gone.pk).update(valid_to=now)
        changes += 1
    return changes


METRICS_FIELDS = ("metric_publish_seconds", "enhanced_metrics", "inference_components")


def unread_metrics_config(current: VariantConfig, fields: dict) -> bool:
    """True when only MetricsConfig (or the inference-component flag) differs under the same endpoint config name:
    configs are immutable per name on AWS, so the open row was recorded before Wattson read these fields (the
    upgrade that added them clears ``Endpoint.config_name`` so each config is described once more) and is
    completed in place, not closed as if the configuration had changed."""
    same = [f for f in SIGNATURE if f not in METRICS_FIELDS]
    return fields.get("endpoint_config_name") == current.endpoint_config_name and all(
        getattr(current, f) == fields.get(f) for f in same
    )


def change_time(current: VariantConfig | None, last_modified: datetime | None, now: datetime) -> datetime:
    """When the new configuration took effect: the endpoint's LastModifiedTime when it is plausible, else now."""
    if last_modified is None or last_modified > now:
        return now
    if current is not None and last_modified <= current.valid_from:
        return now
    return last_modified


def mark_deleted(account, region: str, seen: set[str], now: datetime) -> int:
    gone = Endpoint.objects.filter(account=account, region=region, deleted_at__isnull=True).exclude(name__in=seen)
    count = 0
    for endpoint in gone:
        with transaction.atomic():
            endpoint.deleted_at, endpoint.status = endpoint.last_seen, "Deleted"
            endpoint.save(update_fields=["deleted_at", "status"])
            endpoint.variant_configs.filter(valid_to__isnull=True).update(valid_to=endpoint.last_seen)
        count += 1
    return count
