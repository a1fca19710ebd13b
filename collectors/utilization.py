"""CloudWatch utilization of endpoint variants, stored as one row per variant and UTC hour.

Per variant it asks GetMetricData, at a 3600 s period (valid at every data age), for:
``/aws/sagemaker/Endpoints`` CPUUtilization (Average, Maximum, SampleCount: the instance-count signal),
MemoryUtilization (Average, Maximum), DiskUtilization (Average) and, on GPU instances, GPUUtilization
(Average, Maximum) and GPUMemoryUtilization (Average); ``AWS/SageMaker`` Invocations (Sum; async endpoints
publish ``InvocationsProcesssed`` instead) and ModelLatency (Average, microseconds).

Calls are packed with whole variants up to the smaller of 500 queries and 100,800 expected datapoints, so
the number of calls stays at the theoretical minimum and results are written chunk by chunk (bounded memory).
Rows are upserted on (endpoint, variant, hour): collecting the same hours twice changes nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction

from collectors import aws
from collectors.models import Endpoint, VariantConfig, VariantHour
from collectors.models.endpoints import EndpointMode
from estimator.catalog import hardware

HOST = "/aws/sagemaker/Endpoints"
INVOCATIONS = "AWS/SageMaker"
PERIOD_SECONDS = 3600
MAX_QUERIES = 500
MAX_DATAPOINTS = 100_800
SAMPLES_PER_INSTANCE_HOUR = 60  # host metrics are published every 60 s unless MetricsConfig says otherwise

HOST_QUERIES = (
    ("cpu_avg", HOST, "CPUUtilization", "Average"),
    ("cpu_max", HOST, "CPUUtilization", "Maximum"),
    ("cpu_n", HOST, "CPUUtilization", "SampleCount"),
    ("mem_avg", HOST, "MemoryUtilization", "Average"),
    ("mem_max", HOST, "MemoryUtilization", "Maximum"),
    ("disk_avg", HOST, "DiskUtilization", "Average"),
)
GPU_QUERIES = (
    ("gpu_avg", HOST, "GPUUtilization", "Average"),
    ("gpu_max", HOST, "GPUUtilization", "Maximum"),
    ("gpumem_avg", HOST, "GPUMemoryUtilization", "Average"),
)
SERVERLESS_QUERIES = (
    ("mem_avg", HOST, "MemoryUtilization", "Average"),
    ("mem_max", HOST, "MemoryUtilization", "Maximum"),
)
LATENCY_QUERY = ("latency_avg", INVOCATIONS, "ModelLatency", "Average")


@dataclass
class VariantTarget:
    """One variant to query, with its configuration history (oldest first)."""

    endpoint: Endpoint
    name: str
    configs: list[VariantConfig]

    @property
    def serverless(self) -> bool:
        return all(c.serverless for c in self.configs)

    @property
    def has_gpu(self) -> bool:
        return any(gpu_count(c.instance_type) for c in self.configs)

    def queries(self) -> tuple:
        invocations = "InvocationsProcesssed" if self.endpoint.mode == EndpointMode.ASYNC else "Invocations"
        traffic = (("invocations", INVOCATIONS, invocations, "Sum"), LATENCY_QUERY)
        if self.serverless:
            return SERVERLESS_QUERIES + traffic
        return HOST_QUERIES + (GPU_QUERIES if self.has_gpu else ()) + traffic

    def config_at(self, hour: datetime) -> tuple[VariantConfig, bool]:
        """The configuration in effect at the middle of ``hour``; before the first known one, that one (assumed)."""
        middle = hour + timedelta(minutes=30)
        for config in reversed(self.configs):
            if config.valid_from <= middle:
                return config, False
        return self.configs[0], True


def gpu_count(instance_type: str) -> int:
    hw = known_hardware(instance_type)
    return int(hw["gpu_count"]) if hw is not None else 0


def known_hardware(instance_type: str):
    if not instance_type:
        return None
    try:
        return hardware(instance_type)
    except KeyError:
        return None


@dataclass
class UtilizationResult:
    variants: int = 0
    hours: int = 0
    queries: int = 0
    calls: int = 0
    minimum_calls: int = 0


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def targets(account, region: str, start: datetime) -> list[VariantTarget]:
    configs = (
        VariantConfig.objects.filter(endpoint__account=account, endpoint__region=region)
        .exclude(valid_to__lt=start)
        .select_related("endpoint")
        .order_by("endpoint__name", "variant_name", "valid_from")
    )
    grouped: dict[tuple, list[VariantConfig]] = defaultdict(list)
    for config in configs:
        grouped[(config.endpoint_id, config.variant_name)].append(config)
    return [VariantTarget(rows[0].endpoint, rows[0].variant_name, rows) for rows in grouped.values()]


def chunks(variants: list[VariantTarget], hours: int) -> list[list[VariantTarget]]:
    """Whole variants per call, within both GetMetricData limits."""
    budget = max(1, min(MAX_QUERIES, MAX_DATAPOINTS // max(hours, 1)))
    packed: list[list[VariantTarget]] = []
    current: list[VariantTarget] = []
    used = 0
    for variant in variants:
        size = len(variant.queries())
        if current and used + size > budget:
            packed.append(current)
            current, used = [], 0
        current.append(variant)
        used += size
    return packed + ([current] if current else [])


def metric_queries(chunk: list[VariantTarget]) -> tuple[list[dict], dict[str, tuple[int, str]]]:
    queries, index = [], {}
    for v_index, variant in enumerate(chunk):
        dims = [
            {"Name": "EndpointName", "Value": variant.endpoint.name},
            {"Name": "VariantName", "Value": variant.name},
        ]
        for key, namespace, metric, stat in variant.queries():
            query_id = f"v{v_index}_{key}"
            index[query_id] = (v_index, key)
            queries.append(
                {
                    "Id": query_id,
                    "ReturnData": True,
                    "MetricStat": {
                        "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims},
                        "Period": PERIOD_SECONDS,
                        "Stat": stat,
                    },
                }
            )
    return queries, index


def fetch(cloudwatch, queries: list[dict], start: datetime, end: datetime, result: UtilizationResult) -> dict:
    """All datapoints of ``queries``, following NextToken through PartialData pages (boto3's paginator):
    {query id: {epoch second of the period start: value}} (ints, not datetimes: a chunk holds ~100k of them)."""
    values: dict[str, dict[int, float]] = defaultdict(dict)
    pages = cloudwatch.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )
    for page in pages:
        result.calls += 1
        for series in page["MetricDataResults"]:
            stamps = (int(ts.timestamp()) for ts in series["Timestamps"])
            values[series["Id"]].update(zip(stamps, series["Values"], strict=True))
    return values


def hour_rows(variant: VariantTarget, series: dict[str, dict], now: datetime) -> list[VariantHour]:
    hours = sorted(
        {ts - ts % PERIOD_SECONDS for key in ("cpu_n", "invocations", "mem_avg") for ts in series.get(key, {})}
    )
    return [hour_row(variant, series, hour, now) for hour in hours]


def _get(series: dict, key: str, hour: int) -> float | None:
    return series.get(key, {}).get(hour)


def per_unit(value: float | None, units: int | None) -> float | None:
    """Normalise a CloudWatch percentage summed over ``units`` cores or devices to 0-100."""
    if value is None or not units:
        return None
    return min(max(value / units, 0.0), 100.0)


def hour_row(variant: VariantTarget, series: dict, hour: int, now: datetime) -> VariantHour:
    """One row from the chunk's datapoints; ``hour`` is the epoch second the hour starts at."""
    start = datetime.fromtimestamp(hour, UTC)
    config, assumed = variant.config_at(start)
    hw = known_hardware(config.instance_type)
    vcpus = int(hw["vcpus"]) if hw is not None else None
    gpus = int(hw["gpu_count"]) if hw is not None else None
    samples = _get(series, "cpu_n", hour) or 0.0
    invocations = _get(series, "invocations", hour)
    return VariantHour(
        endpoint=variant.endpoint,
        variant_name=variant.name,
        hour=start,
        instance_type=config.instance_type,
        serverless_memory_mb=config.serverless_memory_mb,
        config_assumed=assumed,
        vcpus=vcpus,
        gpus=gpus,
        instance_hours=samples / SAMPLES_PER_INSTANCE_HOUR,
        cpu_util_pct=per_unit(_get(series, "cpu_avg", hour), vcpus),
        cpu_util_max_pct=per_unit(_get(series, "cpu_max", hour), vcpus),
        gpu_util_pct=per_unit(_get(series, "gpu_avg", hour), gpus),
        gpu_util_max_pct=per_unit(_get(series, "gpu_max", hour), gpus),
        gpu_memory_util_pct=per_unit(_get(series, "gpumem_avg", hour), gpus),
        memory_util_pct=_get(series, "mem_avg", hour),
        memory_util_max_pct=_get(series, "mem_max", hour),
        disk_util_pct=_get(series, "disk_avg", hour),
        # No Invocations datapoint while instances report means no traffic in that hour.
        invocations=invocations if invocations is not None else (0.0 if samples else None),
        model_latency_us=_get(series, "latency_avg", hour),
        collected_at=now,
    )


UPDATE_FIELDS = [
    f.name for f in VariantHour._meta.concrete_fields if f.name not in ("id", "endpoint", "variant_name", "hour")
]


UPSERT_ROWS = 1000


def upsert(rows: list[VariantHour]) -> int:
    if not rows:
        return 0
    with transaction.atomic():
        VariantHour.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["endpoint", "variant_name", "hour"],
            update_fields=UPDATE_FIELDS,
        )
    return len(rows)


def collect_utilization(  # noqa: PLR0913 - one run's context plus the runner's watermark options
    account,
    region: str,
    start: datetime,
    now: datetime,
    calls: aws.ApiCalls,
    progress=None,
    previous_run: datetime | None = None,
    earliest: datetime | None = None,
) -> UtilizationResult:
    """Collect hours from ``start`` (an hour boundary) up to ``now``, including the current partial hour.

    A variant whose endpoint was first seen after the previous run chose its variants (``previous_run``: the
    endpoint is new, or was recorded late because the inventory was failing) is read back to its endpoint's
    creation, but not before ``earliest``."""
    cloudwatch = aws.client(account, "cloudwatch", region, calls)
    groups: dict[datetime, list[VariantTarget]] = defaultdict(list)
    for variant in targets(account, region, min(start, earliest or start)):
        variant_from = variant_start(variant, start, previous_run, earliest or start)
        if any(c.valid_to is None or c.valid_to >= variant_from for c in variant.configs):
            groups[variant_from].append(variant)
    result = UtilizationResult(variants=sum(len(group) for group in groups.values()))
    for group_start, group in sorted(groups.items()):
        collect_group(cloudwatch, group, group_start, now, result, progress)
    return result


def variant_start(
    variant: VariantTarget, start: datetime, previous_run: datetime | None, earliest: datetime
) -> datetime:
    endpoint = variant.endpoint
    if previous_run is None or endpoint.first_seen < previous_run:
        return start
    created = endpoint.created_time or endpoint.first_seen
    return min(start, max(floor_hour(created), earliest))


def collect_group(  # noqa: PLR0913 - one run's context (client, clock, result, progress)
    cloudwatch,
    variants: list[VariantTarget],
    start: datetime,
    now: datetime,
    result: UtilizationResult,
    progress=None,
) -> None:
    """Variants that share a start: packed into GetMetricData calls, upserted chunk by chunk."""
    hours = math.ceil((now - start).total_seconds() / PERIOD_SECONDS)
    query_count = sum(len(v.queries()) for v in variants)
    result.queries += query_count
    result.minimum_calls += max(math.ceil(query_count / MAX_QUERIES), math.ceil(query_count * hours / MAX_DATAPOINTS))
    for chunk in chunks(variants, hours):
        queries, index = metric_queries(chunk)
        values = fetch(cloudwatch, queries, start, now, result)
        by_variant: dict[int, dict] = defaultdict(dict)
        for query_id, points in values.items():
            v_index, key = index[query_id]
            by_variant[v_index][key] = points
        rows: list[VariantHour] = []
        for i, variant in enumerate(chunk):
            rows += hour_rows(variant, by_variant.pop(i, {}), now)
            if len(rows) >= UPSERT_ROWS:
                result.hours += upsert(rows)
                rows = []
        result.hours += upsert(rows)
        if progress:
            progress(len(chunk))
