"""CloudWatch utilization of endpoint variants and their inference components, one row per UTC hour.

Per variant it asks GetMetricData, at a 3600 s period (valid at every data age), for:
``/aws/sagemaker/Endpoints`` CPUUtilization (Average, Maximum, SampleCount: the instance-count signal),
MemoryUtilization (Average, Maximum), DiskUtilization (Average) and, on GPU instances, GPUUtilization
(Average, Maximum) and GPUMemoryUtilization (Average); ``AWS/SageMaker`` Invocations (Sum; async endpoints
publish ``InvocationsProcesssed`` instead) and ModelLatency (Average, microseconds).

A variant hosting inference components publishes no summed CPUUtilization/GPUUtilization: it is read through
``*UtilizationNormalized`` (already 0-100 % of the instance, never divided by vCPUs or GPUs; the instance count
from the SampleCount of CPUUtilizationNormalized) and CPUReservation, GPUReservation, MemoryReservation (0-100 %
of the variant's capacity reserved by all copies). Each of its components is read in the same calls:
``/aws/sagemaker/InferenceComponents`` {InferenceComponentName} ``*UtilizationNormalized`` (0-100 % of what the
copies reserved; one sample per copy per publish period) and ``AWS/SageMaker`` {InferenceComponentName}
Invocations, InvocationsPerCopy (Sum) and ModelLatency (Average). The variant's invocations are its components'.

Host metrics carry one sample per instance (or copy) per publish period: MetricsConfig's
MetricPublishFrequencyInSeconds of the configuration in effect in that hour, 60 s when absent. So
instance-hours = SampleCount x period / 3600. Invocations are read as Sums and latency as Averages, which do not
depend on the period, whether or not enhanced metrics make them follow it.

With enhanced metrics, GPUUtilization is also published per device ({EndpointName, VariantName, InstanceId,
AcceleratorId}, 0-100 % each): the series are found with one ListMetrics per region (only when some variant has
enhanced metrics), read in the same calls and stored as each device's hourly average.

Multi-container endpoints with direct invocation publish per-container series ({EndpointName, VariantName,
ContainerName}) *in addition to* the variant's own (AWS, "Metrics for multi-container endpoints with direct
invocation"), so the variant series read here already cover every container, and reading the per-container
ones too would count them twice.

Queries of all variants and components are packed into calls up to the smaller of 500 queries and 100,800
expected datapoints, so the number of calls is the theoretical minimum; a variant's rows (and its components')
are written as soon as all its series have arrived (bounded memory). Rows are upserted on (endpoint, variant,
hour) and (component, hour): collecting the same hours twice changes nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Prefetch

from collectors import aws
from collectors.models import ComponentConfig, ComponentHour, Endpoint, InferenceComponent, VariantConfig, VariantHour
from collectors.models.endpoints import EndpointMode
from estimator.catalog import hardware

HOST = "/aws/sagemaker/Endpoints"
INVOCATIONS = "AWS/SageMaker"
COMPONENTS = "/aws/sagemaker/InferenceComponents"
PERIOD_SECONDS = 3600
MAX_QUERIES = 500
MAX_DATAPOINTS = 100_800
DEFAULT_PUBLISH_SECONDS = 60  # host metrics are published every 60 s unless MetricsConfig says otherwise

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
# A variant hosting inference components: normalised utilizations and reservations (keys of their own, so a
# variant whose history mixes both kinds reads both).
HOSTING_QUERIES = (
    ("ncpu_avg", HOST, "CPUUtilizationNormalized", "Average"),
    ("ncpu_max", HOST, "CPUUtilizationNormalized", "Maximum"),
    ("ncpu_n", HOST, "CPUUtilizationNormalized", "SampleCount"),
    ("nmem_avg", HOST, "MemoryUtilizationNormalized", "Average"),
    ("nmem_max", HOST, "MemoryUtilizationNormalized", "Maximum"),
    ("cpu_res", HOST, "CPUReservation", "Average"),
    ("mem_res", HOST, "MemoryReservation", "Average"),
)
HOSTING_GPU_QUERIES = (
    ("ngpu_avg", HOST, "GPUUtilizationNormalized", "Average"),
    ("ngpu_max", HOST, "GPUUtilizationNormalized", "Maximum"),
    ("ngpumem_avg", HOST, "GPUMemoryUtilizationNormalized", "Average"),
    ("gpu_res", HOST, "GPUReservation", "Average"),
)
COMPONENT_QUERIES = (
    ("cpu_avg", COMPONENTS, "CPUUtilizationNormalized", "Average"),
    ("cpu_n", COMPONENTS, "CPUUtilizationNormalized", "SampleCount"),
    ("mem_avg", COMPONENTS, "MemoryUtilizationNormalized", "Average"),
    ("invocations", INVOCATIONS, "Invocations", "Sum"),
    ("per_copy", INVOCATIONS, "InvocationsPerCopy", "Sum"),
    ("latency_avg", INVOCATIONS, "ModelLatency", "Average"),
)
COMPONENT_GPU_QUERIES = (
    ("gpu_avg", COMPONENTS, "GPUUtilizationNormalized", "Average"),
    ("gpumem_avg", COMPONENTS, "GPUMemoryUtilizationNormalized", "Average"),
)
# Series whose datapoints say the variant was observed in an hour.
PRESENCE_KEYS = ("cpu_n", "ncpu_n", "invocations", "mem_avg", "nmem_avg")
DEVICE_PREFIX = "dev:"  # query keys of per-GPU series: dev:<InstanceId>/<AcceleratorId>


def publish_seconds(config: VariantConfig) -> int:
    return config.metric_publish_seconds or DEFAULT_PUBLISH_SECONDS


@dataclass
class ComponentTarget:
    """One inference component to query, with its specification history (oldest first; may be empty)."""

    component: InferenceComponent
    configs: list[ComponentConfig]
    gpu: bool

    def dimensions(self) -> list[dict]:
        return [{"Name": "InferenceComponentName", "Value": self.component.name}]

    def queries(self) -> tuple:
        return COMPONENT_QUERIES + (COMPONENT_GPU_QUERIES if self.gpu else ())

    def config_at(self, hour: datetime) -> ComponentConfig | None:
        """The specification in effect at the middle of ``hour``; before the first known one, that one."""
        middle = hour + timedelta(minutes=30)
        for config in reversed(self.configs):
            if config.valid_from <= middle:
                return config
        return self.configs[0] if self.configs else None

    def existed(self, hour: datetime) -> bool:
        """Whether the component existed during some of ``hour`` (an hour without copies is then 0 copies)."""
        created, deleted = self.component.created_time, self.component.deleted_at
        return (created is None or created < hour + timedelta(hours=1)) and (deleted is None or deleted > hour)


@dataclass
class VariantTarget:
    """One variant to query, with its configuration history (oldest first) and the components it hosts."""

    endpoint: Endpoint
    name: str
    configs: list[VariantConfig]
    components: list[ComponentTarget] = field(default_factory=list)
    gpu_devices: list[list[dict]] = field(default_factory=list)  # enhanced metrics: per-GPU dimension sets

    @property
    def serverless(self) -> bool:
        return all(c.serverless for c in self.configs)

    @property
    def has_gpu(self) -> bool:
        return any(gpu_count(c.instance_type) for c in self.configs)

    @property
    def hosts_components(self) -> bool:
        return any(c.inference_components for c in self.configs)

    @property
    def runs_models(self) -> bool:
        return any(not c.inference_components for c in self.configs)

    @property
    def enhanced(self) -> bool:
        return any(c.enhanced_metrics for c in self.configs)

    def dimensions(self) -> list[dict]:
        return [{"Name": "EndpointName", "Value": self.endpoint.name}, {"Name": "VariantName", "Value": self.name}]

    def queries(self) -> tuple:
        invocations = "InvocationsProcesssed" if self.endpoint.mode == EndpointMode.ASYNC else "Invocations"
        traffic = (("invocations", INVOCATIONS, invocations, "Sum"), LATENCY_QUERY)
        if self.serverless:
            return SERVERLESS_QUERIES + traffic
        gpu = self.has_gpu
        models = HOST_QUERIES + (GPU_QUERIES if gpu else ()) + traffic if self.runs_models else ()
        hosting = HOSTING_QUERIES + (HOSTING_GPU_QUERIES if gpu else ()) if self.hosts_components else ()
        return models + hosting + self.device_queries()

    def device_queries(self) -> tuple:
        return tuple((device_key(dims), HOST, "GPUUtilization", "Average") for dims in self.gpu_devices)

    def query_count(self) -> int:
        return len(self.queries()) + sum(len(c.queries()) for c in self.components)

    def config_at(self, hour: datetime) -> tuple[VariantConfig, bool]:
        """The configuration in effect at the middle of ``hour``; before the first known one, that one (assumed)."""
        middle = hour + timedelta(minutes=30)
        for config in reversed(self.configs):
            if config.valid_from <= middle:
                return config, False
        return self.configs[0], True


def device_key(dimensions: list[dict]) -> str:
    """A per-GPU series' key: ``dev:<InstanceId>/<AcceleratorId>`` (the instance part empty when absent)."""
    values = {d["Name"]: d["Value"] for d in dimensions}
    return f"{DEVICE_PREFIX}{values.get('InstanceId', '')}/{values.get('AcceleratorId', '')}"


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
    components: int = 0
    hours: int = 0
    component_hours: int = 0
    gpu_devices: int = 0  # per-GPU series read (enhanced metrics)
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
    variants = [VariantTarget(rows[0].endpoint, rows[0].variant_name, rows) for rows in grouped.values()]
    attach_components(variants, account, region, start)
    return variants


def attach_components(variants: list[VariantTarget], account, region: str, start: datetime) -> None:
    """Give each variant the inference components it hosted since ``start``."""
    by_variant = {(v.endpoint.pk, v.name): v for v in variants}
    components = (
        InferenceComponent.objects.filter(endpoint__account=account, endpoint__region=region)
        .exclude(deleted_at__lt=start)
        .prefetch_related(Prefetch("configs", queryset=ComponentConfig.objects.order_by("valid_from")))
        .order_by("endpoint_id", "name")
    )
    for component in components:
        variant = by_variant.get((component.endpoint_id, component.variant_name))
        if variant is not None:
            variant.components.append(ComponentTarget(component, list(component.configs.all()), variant.has_gpu))


def attach_gpu_devices(cloudwatch, variants: list[VariantTarget], result: UtilizationResult) -> None:
    """Enhanced metrics: find each variant's per-GPU GPUUtilization series with ONE paginated ListMetrics for the
    region (made only when some variant has enhanced metrics on a GPU instance)."""
    wanted = {(v.endpoint.name, v.name): v for v in variants if v.enhanced and v.has_gpu}
    if not wanted:
        return
    pages = cloudwatch.get_paginator("list_metrics").paginate(
        Namespace=HOST, MetricName="GPUUtilization", Dimensions=[{"Name": "AcceleratorId"}]
    )
    for page in pages:
        for metric in page["Metrics"]:
            values = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            variant = wanted.get((values.get("EndpointName", ""), values.get("VariantName", "")))
            if variant is not None and "AcceleratorId" in values:
                variant.gpu_devices.append(metric["Dimensions"])
    for variant in wanted.values():
        variant.gpu_devices.sort(key=device_key)
        result.gpu_devices += len(variant.gpu_devices)


# An item to query: (variant index, component index or -1 for the variant itself).
Item = tuple[int, int]


def item_queries(variants: list[VariantTarget]) -> Iterator[tuple[Item, str, str, str, str, list[dict]]]:
    """Every query of every variant and its components, in order: (item, key, namespace, metric, stat, dims)."""
    for v_index, variant in enumerate(variants):
        for key, namespace, metric, stat in variant.queries():
            yield (v_index, -1), key, namespace, metric, stat, device_dimensions(variant, key)
        for c_index, component in enumerate(variant.components):
            for key, namespace, metric, stat in component.queries():
                yield (v_index, c_index), key, namespace, metric, stat, component.dimensions()


def device_dimensions(variant: VariantTarget, key: str) -> list[dict]:
    if not key.startswith(DEVICE_PREFIX):
        return variant.dimensions()
    return next(dims for dims in variant.gpu_devices if device_key(dims) == key)


def chunks(variants: list[VariantTarget], hours: int) -> Iterator[tuple[list[dict], list[tuple[Item, str]], int]]:
    """GetMetricData query lists within both limits, filled to the brim: a variant's queries (and its
    components') may straddle two calls, which is what keeps the call count at the minimum. Yields (queries,
    the (item, key) of each query, how many variants from the first have all their queries asked by now)."""
    budget = max(1, min(MAX_QUERIES, MAX_DATAPOINTS // max(hours, 1)))
    queries: list[dict] = []
    keys: list[tuple[Item, str]] = []
    for item, key, namespace, metric, stat, dims in item_queries(variants):
        if len(queries) == budget:
            yield queries, keys, item[0]
            queries, keys = [], []
        keys.append((item, key))
        queries.append(
            {
                "Id": f"q{len(queries)}",
                "ReturnData": True,
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims},
                    "Period": PERIOD_SECONDS,
                    "Stat": stat,
                },
            }
        )
    if queries:
        yield queries, keys, len(variants)


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


def _get(series: dict, key: str, hour: int) -> float | None:
    return series.get(key, {}).get(hour)


def per_unit(value: float | None, units: int | None) -> float | None:
    """Normalise a CloudWatch percentage summed over ``units`` cores or devices to 0-100."""
    if value is None or not units:
        return None
    return min(max(value / units, 0.0), 100.0)


def pct(value: float | None) -> float | None:
    """A percentage already normalised by AWS (0-100), kept within its range."""
    return None if value is None else min(max(value, 0.0), 100.0)


def observed_hours(series: dict) -> set[int]:
    return {ts - ts % PERIOD_SECONDS for key in PRESENCE_KEYS for ts in series.get(key, {})}


@dataclass
class Traffic:
    """An hour's invocations summed over a variant's components, and their invocation-weighted latency."""

    invocations: float = 0.0
    latency_weighted: float = 0.0
    latency_invocations: float = 0.0

    def add(self, invocations: float | None, latency_us: float | None) -> None:
        self.invocations += invocations or 0.0
        if invocations and latency_us is not None:
            self.latency_weighted += invocations * latency_us
            self.latency_invocations += invocations

    @property
    def latency_us(self) -> float | None:
        return self.latency_weighted / self.latency_invocations if self.latency_invocations else None


def unit_rows(
    variant: VariantTarget, fetched: dict[Item, dict], v_index: int, now: datetime
) -> tuple[list[VariantHour], list[ComponentHour]]:
    """The rows of one variant and of the components it hosts, from all their series."""
    series = fetched.pop((v_index, -1), {})
    hours = observed_hours(series)
    traffic: dict[int, Traffic] = defaultdict(Traffic)
    component_rows: list[ComponentHour] = []
    for c_index, component in enumerate(variant.components):
        c_series = fetched.pop((v_index, c_index), {})
        rows = component_hour_rows(variant, component, c_series, hours, now)
        for row in rows:
            traffic[int(row.hour.timestamp())].add(row.invocations, row.model_latency_us)
        component_rows += rows
    hours |= {hour for hour, t in traffic.items() if t.invocations}
    variant_rows = [hour_row(variant, series, hour, traffic.get(hour), now) for hour in sorted(hours)]
    return variant_rows, component_rows


def hour_row(variant: VariantTarget, series: dict, hour: int, traffic: Traffic | None, now: datetime) -> VariantHour:
    """One row from the variant's datapoints; ``hour`` is the epoch second the hour starts at; ``traffic`` is
    what its components served in that hour (for a variant hosting components)."""
    start = datetime.fromtimestamp(hour, UTC)
    config, assumed = variant.config_at(start)
    hw = known_hardware(config.instance_type)
    vcpus = int(hw["vcpus"]) if hw is not None else None
    gpus = int(hw["gpu_count"]) if hw is not None else None
    host = hosting_values(series, hour) if config.inference_components else model_values(series, hour, vcpus, gpus)
    samples = host.pop("samples")
    if config.inference_components:
        invocations = traffic.invocations if traffic else None
        latency = traffic.latency_us if traffic else None
    else:
        invocations, latency = _get(series, "invocations", hour), _get(series, "latency_avg", hour)
    period = publish_seconds(config)
    devices = device_values(series, hour)
    host.update(per_gpu_values(devices, host))
    return VariantHour(
        endpoint=variant.endpoint,
        variant_name=variant.name,
        hour=start,
        instance_type=config.instance_type,
        serverless_memory_mb=config.serverless_memory_mb,
        config_assumed=assumed,
        vcpus=vcpus,
        gpus=gpus,
        instance_hours=samples * period / 3600,
        metric_publish_seconds=period,
        **host,
        gpu_util_by_device=devices,
        # No Invocations datapoint while instances report means no traffic in that hour.
        invocations=invocations if invocations is not None else (0.0 if samples else None),
        model_latency_us=latency,
        collected_at=now,
    )


def model_values(series: dict, hour: int, vcpus: int | None, gpus: int | None) -> dict:
    """A variant running models: CPU and GPU summed over cores and devices, normalised here."""
    return {
        "samples": _get(series, "cpu_n", hour) or 0.0,
        "cpu_util_pct": per_unit(_get(series, "cpu_avg", hour), vcpus),
        "cpu_util_max_pct": per_unit(_get(series, "cpu_max", hour), vcpus),
        "gpu_util_pct": per_unit(_get(series, "gpu_avg", hour), gpus),
        "gpu_util_max_pct": per_unit(_get(series, "gpu_max", hour), gpus),
        "gpu_memory_util_pct": per_unit(_get(series, "gpumem_avg", hour), gpus),
        "memory_util_pct": _get(series, "mem_avg", hour),
        "memory_util_max_pct": _get(series, "mem_max", hour),
        "disk_util_pct": _get(series, "disk_avg", hour),
    }


def hosting_values(series: dict, hour: int) -> dict:
    """A variant hosting inference components: AWS publishes its utilizations already normalised (0-100)."""
    return {
        "samples": _get(series, "ncpu_n", hour) or 0.0,
        "cpu_util_pct": pct(_get(series, "ncpu_avg", hour)),
        "cpu_util_max_pct": pct(_get(series, "ncpu_max", hour)),
        "gpu_util_pct": pct(_get(series, "ngpu_avg", hour)),
        "gpu_util_max_pct": pct(_get(series, "ngpu_max", hour)),
        "gpu_memory_util_pct": pct(_get(series, "ngpumem_avg", hour)),
        "memory_util_pct": pct(_get(series, "nmem_avg", hour)),
        "memory_util_max_pct": pct(_get(series, "nmem_max", hour)),
        "cpu_reservation_pct": pct(_get(series, "cpu_res", hour)),
        "gpu_reservation_pct": pct(_get(series, "gpu_res", hour)),
        "memory_reservation_pct": pct(_get(series, "mem_res", hour)),
    }


def device_values(series: dict, hour: int) -> dict[str, float | None] | None:
    """Enhanced metrics: each GPU's average utilization in ``hour``, by AcceleratorId (prefixed by the InstanceId
    as ``InstanceId/AcceleratorId`` when the series name an instance)."""
    devices = {}
    for key, points in series.items():
        if key.startswith(DEVICE_PREFIX) and hour in points:
            instance, accelerator = key[len(DEVICE_PREFIX) :].split("/", 1)
            devices[f"{instance}/{accelerator}" if instance else accelerator] = pct(points[hour])
    return devices or None


def per_gpu_values(devices: dict[str, float | None] | None, host: dict) -> dict:
    """Enhanced metrics: where the summed ``GPUUtilization`` is missing, the hour's GPU utilization is its GPUs'
    mean (each at its own load, ``device_values`` capping each at 100 %) rather than unknown; the aggregate is kept
    where it exists (the per-GPU series come from a ListMetrics that only lists series active in the last two
    weeks, so for older hours they may miss an instance that ran). The hour's maximum is at least the busiest GPU's
    average, so one pinned GPU among idle ones reads as busy. Nothing without per-GPU datapoints."""
    loads = [load for load in (devices or {}).values() if load is not None]
    if not loads:
        return {}
    peak = {"gpu_util_max_pct": max(host.get("gpu_util_max_pct") or 0, *loads)}
    return peak if host.get("gpu_util_pct") is not None else {**peak, "gpu_util_pct": sum(loads) / len(loads)}


def component_hour_rows(
    variant: VariantTarget, component: ComponentTarget, series: dict, variant_hours: set[int], now: datetime
) -> list[ComponentHour]:
    """Hours the component reported, and hours its variant reported while it existed (0 copies then)."""
    hours = observed_hours(series) | {
        hour for hour in variant_hours if component.existed(datetime.fromtimestamp(hour, UTC))
    }
    return [component_row(variant, component, series, hour, now) for hour in sorted(hours)]


def component_row(
    variant: VariantTarget, component: ComponentTarget, series: dict, hour: int, now: datetime
) -> ComponentHour:
    """Copies = SampleCount x the variant's publish period / 3600 (0 when no copy reported); reservations =
    copies x the per-copy requirement of the specification in effect."""
    start = datetime.fromtimestamp(hour, UTC)
    config, _ = variant.config_at(start)
    copies = (_get(series, "cpu_n", hour) or 0.0) * publish_seconds(config) / 3600
    spec = component.config_at(start)

    def reserved(per_copy: float | None) -> float | None:
        return copies * per_copy if per_copy is not None else None

    invocations = _get(series, "invocations", hour)
    return ComponentHour(
        component=component.component,
        hour=start,
        copies=copies,
        cpu_cores_reserved=reserved(spec.cpu_cores_required if spec else None),
        accelerators_reserved=reserved(spec.accelerators_required if spec else None),
        memory_reserved_mb=reserved(spec.min_memory_mb if spec else None),
        cpu_util_pct=pct(_get(series, "cpu_avg", hour)),
        gpu_util_pct=pct(_get(series, "gpu_avg", hour)),
        gpu_memory_util_pct=pct(_get(series, "gpumem_avg", hour)),
        memory_util_pct=pct(_get(series, "mem_avg", hour)),
        invocations=invocations if invocations is not None else 0.0,
        invocations_per_copy=_get(series, "per_copy", hour),
        model_latency_us=_get(series, "latency_avg", hour),
        collected_at=now,
    )


UPDATE_FIELDS = [
    f.name for f in VariantHour._meta.concrete_fields if f.name not in ("id", "endpoint", "variant_name", "hour")
]
COMPONENT_UPDATE_FIELDS = [
    f.name for f in ComponentHour._meta.concrete_fields if f.name not in ("id", "component", "hour")
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


def upsert_components(rows: list[ComponentHour]) -> int:
    if not rows:
        return 0
    with transaction.atomic():
        ComponentHour.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["component", "hour"],
            update_fields=COMPONENT_UPDATE_FIELDS,
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
    result.components = sum(len(v.components) for group in groups.values() for v in group)
    attach_gpu_devices(cloudwatch, [v for group in groups.values() for v in group], result)
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


def minimum_calls(query_count: int, hours: int) -> int:
    """The fewest GetMetricData calls ``query_count`` queries of ``hours`` hourly datapoints can take."""
    return max(math.ceil(query_count / MAX_QUERIES), math.ceil(query_count * hours / MAX_DATAPOINTS))


def collect_group(  # noqa: PLR0913 - one run's context (client, clock, result, progress)
    cloudwatch,
    variants: list[VariantTarget],
    start: datetime,
    now: datetime,
    result: UtilizationResult,
    progress=None,
) -> None:
    """Variants (with their components) that share a start: packed into GetMetricData calls; each variant's
    rows are upserted once all its series have arrived."""
    hours = math.ceil((now - start).total_seconds() / PERIOD_SECONDS)
    query_count = sum(v.query_count() for v in variants)
    result.queries += query_count
    result.minimum_calls += minimum_calls(query_count, hours)
    fetched: dict[Item, dict] = defaultdict(dict)
    done = 0  # variants before this index have been written
    for queries, keys, complete in chunks(variants, hours):
        values = fetch(cloudwatch, queries, start, now, result)
        for query, (item, key) in zip(queries, keys, strict=True):
            fetched[item][key] = values.get(query["Id"], {})
        write(variants[done:complete], done, fetched, now, result)
        if progress:
            progress(complete - done)
        done = complete


def write(  # noqa: PLR0913 - the variants to write and where their series are
    variants: list[VariantTarget], first_index: int, fetched: dict, now: datetime, result: UtilizationResult
) -> None:
    """Upsert the rows of ``variants`` (whose series have all arrived), in batches of about UPSERT_ROWS."""
    rows: list[VariantHour] = []
    component_rows: list[ComponentHour] = []
    for offset, variant in enumerate(variants):
        variant_rows, hosted_rows = unit_rows(variant, fetched, first_index + offset, now)
        rows += variant_rows
        component_rows += hosted_rows
        if len(rows) + len(component_rows) >= UPSERT_ROWS:
            result.hours += upsert(rows)
            result.component_hours += upsert_components(component_rows)
            rows, component_rows = [], []
    result.hours += upsert(rows)
    result.component_hours += upsert_components(component_rows)
