"""SageMaker inference components: the models sharing an endpoint variant's instances, and their specification
history.

One paginated ListInferenceComponents per region (never one per endpoint: ``EndpointNameEquals`` would multiply
the calls by the number of endpoints), matched to the recorded endpoints by EndpointName; it is made only when
the region has a variant hosting components (a variant without ModelName) or components recorded before.
DescribeInferenceComponent only for a component that is new or whose LastModifiedTime differs from the one
recorded. A changed specification or desired copy count closes the open ComponentConfig row and opens a new
one (never overwritten); the copy count SageMaker reports now is an observation, updated in place. A component
missing from a complete listing is marked deleted as of when it was last seen.

One component's error never stops the region: it is returned as an error of that component, and a listing that
fails leaves every recorded component as it was. Throttling that outlasts botocore's retries fails the run, as
the inventory does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import ClientError
from django.db import transaction
from django.db.models import F

from collectors.errors import describe_client_error, is_throttling
from collectors.models import ComponentConfig, Endpoint, InferenceComponent, VariantConfig

# Fields whose change opens a new configuration row; current_copy_count is an observation, updated in place.
SIGNATURE = (
    "model_name",
    "cpu_cores_required",
    "accelerators_required",
    "min_memory_mb",
    "max_memory_mb",
    "accelerator_partition_type",
    "desired_copy_count",
)
LIST_PAGE_SIZE = 100


@dataclass
class ComponentsResult:
    components: int = 0
    changes: int = 0
    deleted: int = 0
    errors: list[dict] = field(default_factory=list)  # {resource, error}, as InventoryResult keeps them


def region_has_components(account, region: str) -> bool:
    """Whether the region needs a listing: a live variant hosting components, or components recorded before
    (which a listing may now find deleted)."""
    hosting = VariantConfig.objects.filter(
        endpoint__account=account,
        endpoint__region=region,
        endpoint__deleted_at__isnull=True,
        valid_to__isnull=True,
        inference_components=True,
    )
    recorded = InferenceComponent.objects.filter(
        endpoint__account=account, endpoint__region=region, deleted_at__isnull=True
    )
    return hosting.exists() or recorded.exists()


def collect_components(account, region: str, sm, now: datetime) -> ComponentsResult:
    """Record the region's inference components; ``sm`` is the inventory's SageMaker client."""
    result = ComponentsResult()
    if not region_has_components(account, region):
        return result
    try:
        listed = list_components(sm)
    except ClientError as exc:
        if is_throttling(exc):
            raise
        result.errors.append({"resource": f"{region} (inference components)", "error": describe_client_error(exc)})
        return result
    endpoints = {e.name: e for e in Endpoint.objects.filter(account=account, region=region)}
    recorded = {
        (c.endpoint_id, c.name): c
        for c in InferenceComponent.objects.filter(endpoint__account=account, endpoint__region=region)
    }
    seen: set[int] = set()
    for summary in listed:
        endpoint = endpoints.get(summary["EndpointName"])
        if endpoint is None:  # its endpoint could not be described this run: nothing to attach it to yet
            continue
        component = recorded.get((endpoint.pk, summary["InferenceComponentName"]))
        try:
            component = record_component(sm, endpoint, component, summary, now, result)
        except ClientError as exc:
            if is_throttling(exc):
                raise
            result.errors.append({"resource": summary["InferenceComponentName"], "error": describe_client_error(exc)})
        if component is not None:
            seen.add(component.pk)
    result.deleted = mark_deleted(recorded.values(), seen)
    return result


def list_components(sm) -> list[dict]:
    pages = sm.get_paginator("list_inference_components").paginate(PaginationConfig={"PageSize": LIST_PAGE_SIZE})
    return [summary for page in pages for summary in page["InferenceComponents"]]


def record_component(  # noqa: PLR0913 - one run's context (client, endpoint, clock, result) travels as arguments
    sm, endpoint: Endpoint, component: InferenceComponent | None, summary: dict, now: datetime, result
) -> InferenceComponent | None:
    """Save one listed component; describe it only when it is new or was modified since we recorded it."""
    unchanged = (
        component is not None
        and component.deleted_at is None
        and component.last_modified_time == summary.get("LastModifiedTime")
        and component.status == "InService"
        and component.configs.filter(valid_to__isnull=True, current_copy_count=F("desired_copy_count")).exists()
    )  # a component scaling its copies (current != desired) is described until it settles: ListInferenceComponents
    # carries no copy count, and auto scaling changes it without touching LastModifiedTime
    if unchanged:
        assert component is not None  # for mypy: unchanged implies a recorded component
        InferenceComponent.objects.filter(pk=component.pk).update(
            last_seen=now, status=summary.get("InferenceComponentStatus", component.status)
        )
        result.components += 1
        return component
    described = sm.describe_inference_component(InferenceComponentName=summary["InferenceComponentName"])
    with transaction.atomic():
        component = save_component(endpoint, component, described, now)
        result.changes += record_config(component, config_fields(described), now)
    result.components += 1
    return component


def save_component(
    endpoint: Endpoint, component: InferenceComponent | None, described: dict, now: datetime
) -> InferenceComponent:
    if component is None:
        component = InferenceComponent(endpoint=endpoint, name=described["InferenceComponentName"], first_seen=now)
    component.variant_name = described.get("VariantName", "")
    component.arn = described.get("InferenceComponentArn", "")
    component.status = described.get("InferenceComponentStatus", "")
    component.failure_reason = described.get("FailureReason", "")
    component.created_time = described.get("CreationTime")
    component.last_modified_time = described.get("LastModifiedTime")
    component.last_seen, component.deleted_at = now, None
    component.save()
    return component


def config_fields(described: dict) -> dict:
    """Per-copy requirements and copy counts of a DescribeInferenceComponent answer."""
    spec = described.get("Specification") or {}
    needs = spec.get("ComputeResourceRequirements") or {}
    runtime = described.get("RuntimeConfig") or {}
    return {
        "model_name": spec.get("ModelName", ""),
        "cpu_cores_required": needs.get("NumberOfCpuCoresRequired"),
        "accelerators_required": needs.get("NumberOfAcceleratorDevicesRequired"),
        "min_memory_mb": needs.get("MinMemoryRequiredInMb"),
        "max_memory_mb": needs.get("MaxMemoryRequiredInMb"),
        "accelerator_partition_type": needs.get("AcceleratorPartitionType", ""),
        "desired_copy_count": runtime.get("DesiredCopyCount"),
        "current_copy_count": runtime.get("CurrentCopyCount"),
        "last_modified_time": described.get("LastModifiedTime"),
    }


def record_config(component: InferenceComponent, fields: dict, now: datetime) -> int:
    """Open a configuration row when the specification changed, closing the one it replaces. Returns changes."""
    last_modified = fields.pop("last_modified_time")
    current = component.configs.filter(valid_to__isnull=True).first()
    if current and all(getattr(current, f) == fields.get(f) for f in SIGNATURE):
        ComponentConfig.objects.filter(pk=current.pk).update(current_copy_count=fields["current_copy_count"])
        return 0
    since = change_time(current, last_modified, now)
    if current:
        ComponentConfig.objects.filter(pk=current.pk).update(valid_to=since)
    ComponentConfig.objects.create(component=component, valid_from=since, **fields)
    return 1 if current else 0


def change_time(current: ComponentConfig | None, last_modified: datetime | None, now: datetime) -> datetime:
    """When the new specification took effect: the component's LastModifiedTime when it is plausible, else now."""
    if last_modified is None or last_modified > now:
        return now
    if current is not None and last_modified <= current.valid_from:
        return now
    return last_modified


def mark_deleted(recorded, seen: set[int]) -> int:
    """Components recorded but not in the (complete) listing: deleted as of when they were last seen."""
    count = 0
    for component in recorded:
        if component.deleted_at is not None or component.pk in seen:
            continue
        with transaction.atomic():
            InferenceComponent.objects.filter(pk=component.pk).update(deleted_at=component.last_seen, status="Deleted")
            component.configs.filter(valid_to__isnull=True).update(valid_to=component.last_seen)
        count += 1
    return count
