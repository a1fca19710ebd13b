"""The ``job_metrics`` collector (issue 19): hourly host metrics of training, processing and transform jobs, and
their ``WorkloadHour`` rows.

Targets: the region's jobs that have started and whose hours are not all read (``metrics_through`` null, or before
the job's end, or the job still running). Each host publishes to ``/aws/sagemaker/{TrainingJobs,ProcessingJobs,
TransformJobs}`` with dimension ``Host``: ``<job>/algo-<n>`` for n in 1..instance count (training and processing;
a heterogeneous cluster numbers its hosts through its instance groups in ``InstanceGroups`` order - an assumption,
AWS does not document the order), ``<job>/<instance id>`` for batch transform (found with one ListMetrics for the
region, ``algo-<n>`` when it lists none). Per host: CPUUtilization (Average, Maximum), MemoryUtilization and
DiskUtilization (Average) and, on GPU instances, GPUUtilization (Average, Maximum) and GPUMemoryUtilization
(Average), at a 3600 s period.

Calls: queries of all jobs are packed into GetMetricData calls of at most 500 queries and 100,800 datapoints, each
job's datapoints budgeted by its own hours (CloudWatch returns a host's datapoints only while it ran); jobs are
ordered by the start of their window, so a call's window hardly exceeds its jobs'. ``minimum_calls`` is
max(ceil(queries / 500), ceil(sum of queries x hours / 100,800)).

Rows: the job's timeline is what AWS bills: ``instance_hours`` of an hour is the overlap of [start, end or now)
with it, times the instance count (a row per instance type for heterogeneous clusters; ``spot_instance_hours`` the
same for managed Spot). CloudWatch sums CPU over vCPUs and GPU (and GPU memory) over GPUs, so each host's value is
divided by its type's vCPUs / GPUs, then averaged over the hosts that reported in the hour (``gpu_util_by_host``
keeps each host's). An hour no host reported keeps null utilization (``util_source`` "assumed"), which the
estimator charges at its default. A finished job is read once (``metrics_through`` = its end's next hour) once
its metrics have had time to arrive; a running one every run, from a few hours before where the last run stopped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from collectors import aws
from collectors.models import Workload, WorkloadHour
from collectors.models.workloads import JOB_KINDS, RUNNING_STATUSES, WorkloadKind
from collectors.utilization import (
    MAX_DATAPOINTS,
    MAX_QUERIES,
    PERIOD_SECONDS,
    fetch,
    floor_hour,
    known_hardware,
    pct,
    per_unit,
)

NAMESPACES: dict[str, str] = {
    WorkloadKind.TRAINING: "/aws/sagemaker/TrainingJobs",
    WorkloadKind.PROCESSING: "/aws/sagemaker/ProcessingJobs",
    WorkloadKind.TRANSFORM: "/aws/sagemaker/TransformJobs",
}
HOST_QUERIES = (
    ("cpu_avg", "CPUUtilization", "Average"),
    ("cpu_max", "CPUUtilization", "Maximum"),
    ("mem_avg", "MemoryUtilization", "Average"),
    ("disk_avg", "DiskUtilization", "Average"),
)
GPU_QUERIES = (
    ("gpu_avg", "GPUUtilization", "Average"),
    ("gpu_max", "GPUUtilization", "Maximum"),
    ("gpumem_avg", "GPUMemoryUtilization", "Average"),
)
PRESENCE_KEYS = ("cpu_avg", "mem_avg", "gpu_avg")  # a host reported in an hour when one of these has a datapoint
METRIC_DELAY = timedelta(minutes=15)  # a finished job's last datapoints may arrive this long after it ends
HOUR = timedelta(hours=1)
UPSERT_ROWS = 1000


@dataclass
class JobMetricsResult:
    jobs: int = 0
    hours: int = 0  # WorkloadHour rows written (the estimation signal counts them)
    queries: int = 0
    calls: int = 0
    minimum_calls: int = 0
    errors: list[dict] = field(default_factory=list)
    job_hours: int = 0  # sum over jobs of the hours read
    hosts: int = 0
    finished: int = 0  # jobs read for the last time
    list_metrics_calls: int = 0  # ListMetrics pages (batch-transform hosts)


def ceil_hour(moment: datetime) -> datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


@dataclass
class Host:
    name: str  # the Host dimension's value
    instance_type: str

    @property
    def label(self) -> str:  # "algo-1", or the instance id
        return self.name.rsplit("/", 1)[-1]


@dataclass
class JobTarget:
    workload: Workload
    hosts: list[Host]
    start: datetime  # the timeline: [start, end or now)
    end: datetime | None
    window_start: datetime  # hours read this run: [window_start, window_end)
    window_end: datetime
    done: bool  # read for the last time

    @property
    def hours(self) -> int:
        return int((self.window_end - self.window_start) / HOUR)

    def queries(self) -> Iterator[tuple[int, str, str, str]]:
        """(host index, key, metric, stat) of every query of the job."""
        for index, host in enumerate(self.hosts):
            gpu = gpus_of(host.instance_type) > 0
            for key, metric, stat in HOST_QUERIES + (GPU_QUERIES if gpu else ()):
                yield index, key, metric, stat


_hardware: dict[str, tuple[int | None, int | None, int | None]] = {}


def hardware_of(instance_type: str) -> tuple[int | None, int | None, int | None]:
    """(vcpus, gpus, accelerators) of an instance type; Nones when the catalog does not know it."""
    if instance_type not in _hardware:
        hw = known_hardware(instance_type)
        _hardware[instance_type] = (
            (int(hw["vcpus"]), int(hw["gpu_count"]), int(hw["accelerator_count"])) if hw is not None else (None,) * 3
        )
    return _hardware[instance_type]


def gpus_of(instance_type: str) -> int:
    return hardware_of(instance_type)[1] or 0


def host_types(workload: Workload) -> list[str]:
    """The instance type of each host algo-1..algo-N: instance groups in order, else the job's one type."""
    if workload.instance_groups:
        return [g["instance_type"] for g in workload.instance_groups for _ in range(int(g.get("instance_count") or 0))]
    return [workload.instance_type] * max(workload.instance_count, 1)


def effective_end(workload: Workload) -> datetime | None:
    """When the job stopped running: its end time; for a job that ended without one (failed, stopped early), its
    last modification; None while it runs."""
    if workload.end_time is not None:
        return workload.end_time
    if workload.status in RUNNING_STATUSES or not workload.status:
        return None
    return workload.last_modified_time or workload.start_time


def pending(account, region: str):
    unread = (
        Q(metrics_through__isnull=True)
        | Q(end_time__isnull=True)  # running, or ended without an end time (filtered below)
        | Q(metrics_through__lt=F("end_time"))
    )
    return (
        Workload.objects.filter(account=account, region=region, kind__in=JOB_KINDS, start_time__isnull=False)
        .filter(unread)
        .only(
            "pk",
            "name",
            "kind",
            "status",
            "instance_type",
            "instance_count",
            "instance_groups",
            "spot",
            "start_time",
            "end_time",
            "last_modified_time",
            "metrics_through",
        )
        .order_by("pk")
    )


def target_of(workload: Workload, now: datetime, transform_hosts: dict[str, list[str]]) -> JobTarget | None:
    end = effective_end(workload)
    start = workload.start_time
    if start is None:
        return None
    if end is not None and end < start:
        end = start
    life_from = floor_hour(start)
    life_to = ceil_hour(end) if end is not None else floor_hour(now) + HOUR
    if workload.metrics_through is not None and workload.metrics_through >= life_to:
        return None  # an ended job (no end time) read already
    window_start = life_from
    if workload.metrics_through is not None:
        reread = workload.metrics_through - timedelta(hours=settings.COLLECT_REREAD_HOURS)
        window_start = max(life_from, min(reread, life_to - HOUR))
    types = host_types(workload)
    names = transform_hosts.get(workload.name) if workload.kind == WorkloadKind.TRANSFORM else None
    if names:
        hosts = [Host(name, types[0]) for name in sorted(names)]
    else:
        hosts = [Host(f"{workload.name}/algo-{i + 1}", t) for i, t in enumerate(types)]
    done = end is not None and now - end >= METRIC_DELAY
    return JobTarget(workload, hosts, start, end, window_start, life_to, done)


def find_transform_hosts(cloudwatch, names: set[str], result: JobMetricsResult) -> dict[str, list[str]]:
    """Batch transform hosts are ``<job>/<instance id>``: one paginated ListMetrics for the region finds them."""
    if not names:
        return {}
    hosts: dict[str, list[str]] = defaultdict(list)
    pages = cloudwatch.get_paginator("list_metrics").paginate(
        Namespace=NAMESPACES[WorkloadKind.TRANSFORM], MetricName="CPUUtilization"
    )
    for page in pages:
        result.list_metrics_calls += 1
        for metric in page.get("Metrics", []):
            for dim in metric.get("Dimensions", []):
                if dim["Name"] == "Host" and "/" in dim["Value"]:
                    job = dim["Value"].rsplit("/", 1)[0]
                    if job in names and dim["Value"] not in hosts[job]:
                        hosts[job].append(dim["Value"])
    return hosts


def minimum_calls(query_count: int, datapoints: int) -> int:
    """The fewest GetMetricData calls for ``query_count`` queries returning at most ``datapoints`` datapoints."""
    return max(math.ceil(query_count / MAX_QUERIES), math.ceil(datapoints / MAX_DATAPOINTS))


# A query's place: (target index, host index, key).
Key = tuple[int, int, str]


def chunks(targets: list[JobTarget]) -> Iterator[tuple[list[dict], list[Key], int, datetime, datetime]]:
    """Query lists within both limits, filled to the brim (a job's queries may straddle two calls). Yields
    (queries, their keys, how many targets have all their queries asked by now, window start, window end)."""
    queries: list[dict] = []
    keys: list[Key] = []
    points = 0
    start = end = targets[0].window_start if targets else datetime.min
    for t_index, target in enumerate(targets):
        for h_index, key, metric, stat in target.queries():
            # The datapoints the query can return over the call's window: the job's hours from the window's start.
            cost = int((target.window_end - max(start, floor_hour(target.start))) / HOUR) if queries else target.hours
            if queries and (len(queries) == MAX_QUERIES or points + cost > MAX_DATAPOINTS):
                yield queries, keys, t_index, start, end
                queries, keys, points, cost = [], [], 0, target.hours
            if not queries:
                start, end = target.window_start, target.window_end
            end = max(end, target.window_end)
            points += cost
            keys.append((t_index, h_index, key))
            queries.append(
                {
                    "Id": f"q{len(queries)}",
                    "ReturnData": True,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACES[target.workload.kind],
                            "MetricName": metric,
                            "Dimensions": [{"Name": "Host", "Value": target.hosts[h_index].name}],
                        },
                        "Period": PERIOD_SECONDS,
                        "Stat": stat,
                    },
                }
            )
    if queries:
        yield queries, keys, len(targets), start, end


def collect_job_metrics(
    account, region: str, now: datetime, calls: aws.ApiCalls, progress: Callable | None = None
) -> JobMetricsResult:
    result = JobMetricsResult()
    workloads = list(pending(account, region))
    if not workloads:
        return result
    cloudwatch = aws.client(account, "cloudwatch", region, calls)
    transform_names = {w.name for w in workloads if w.kind == WorkloadKind.TRANSFORM}
    transform_hosts = find_transform_hosts(cloudwatch, transform_names, result)
    targets = [t for t in (target_of(w, now, transform_hosts) for w in workloads) if t is not None]
    targets.sort(key=lambda t: (t.window_start, t.window_end, t.workload.pk))
    del workloads
    result.jobs = len(targets)
    result.hosts = sum(len(t.hosts) for t in targets)
    result.job_hours = sum(t.hours for t in targets)
    query_count = datapoints = 0
    for target in targets:
        count = sum(1 for _ in target.queries())
        query_count += count
        datapoints += count * target.hours
    result.queries = query_count
    result.minimum_calls = minimum_calls(query_count, datapoints)
    fetched: dict[int, dict[tuple[int, str], dict[int, float]]] = defaultdict(dict)
    done = 0
    for queries, keys, complete, start, end in chunks(targets):
        values = fetch(cloudwatch, queries, start, end, result)  # type: ignore[arg-type]  # counts .calls only
        for query, (t_index, h_index, key) in zip(queries, keys, strict=True):
            fetched[t_index][(h_index, key)] = values.get(query["Id"], {})
        write(targets, done, complete, fetched, now, result)
        if progress:
            progress(complete - done)
        done = complete
    return result


def write(  # noqa: PLR0913 - the targets whose series have all arrived, and where they are
    targets: list[JobTarget], first: int, last: int, fetched: dict, now: datetime, result: JobMetricsResult
) -> None:
    """Upsert the rows of targets[first:last] and move their ``metrics_through``, together."""
    rows: list[WorkloadHour] = []
    read: list[Workload] = []
    for index in range(first, last):
        target = targets[index]
        rows += hour_rows(target, fetched.pop(index, {}), now)
        workload = target.workload
        if target.done:
            workload.metrics_through = target.window_end
            result.finished += 1
        else:
            current = floor_hour(now)
            workload.metrics_through = min(current, floor_hour(target.end)) if target.end is not None else current
        read.append(workload)
        if len(rows) >= UPSERT_ROWS:
            save(rows, read, result)
            rows, read = [], []
    save(rows, read, result)


UPDATE_FIELDS = [
    f.name for f in WorkloadHour._meta.concrete_fields if f.name not in ("id", "workload", "instance_type", "hour")
]


def save(rows: list[WorkloadHour], read: list[Workload], result: JobMetricsResult) -> None:
    if not rows and not read:
        return
    with transaction.atomic():
        if rows:
            WorkloadHour.objects.bulk_create(
                rows,
                batch_size=UPSERT_ROWS,
                update_conflicts=True,
                unique_fields=["workload", "instance_type", "hour"],
                update_fields=UPDATE_FIELDS,
            )
        Workload.objects.bulk_update(read, ["metrics_through"], batch_size=UPSERT_ROWS)
    result.hours += len(rows)


def overlap_hours(start: datetime, end: datetime, hour: datetime) -> float:
    """How much of ``hour`` lies within [start, end), in hours."""
    seconds = (min(end, hour + HOUR) - max(start, hour)).total_seconds()
    return max(seconds, 0.0) / 3600


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def hour_rows(target: JobTarget, series: dict[tuple[int, str], dict[int, float]], now: datetime) -> list[WorkloadHour]:
    """One row per hour of the window the job ran in, per instance type."""
    end = target.end or now
    by_type: dict[str, list[int]] = defaultdict(list)
    for index, host in enumerate(target.hosts):
        by_type[host.instance_type].append(index)
    rows = []
    hour = target.window_start
    while hour < target.window_end:
        share = overlap_hours(target.start, end, hour)
        if share > 0:
            stamp = int(hour.timestamp())
            for instance_type, hosts in by_type.items():
                rows.append(type_row(target, instance_type, hosts, series, hour, stamp, share, now))
        hour += HOUR
    return rows


def type_row(  # noqa: PLR0913 - one hour of one instance type of one job
    target: JobTarget,
    instance_type: str,
    hosts: list[int],
    series: dict,
    hour: datetime,
    stamp: int,
    share: float,
    now: datetime,
) -> WorkloadHour:
    vcpus, gpus, accelerators = hardware_of(instance_type)

    def values(key: str, units: int | None = None, normalise: bool = False) -> dict[str, float]:
        found = {}
        for index in hosts:
            value = series.get((index, key), {}).get(stamp)
            if value is not None:
                found[target.hosts[index].label] = per_unit(value, units) if normalise else pct(value)
        return {k: v for k, v in found.items() if v is not None}

    reported = [i for i in hosts if any(stamp in series.get((i, key), {}) for key in PRESENCE_KEYS)]
    cpu, cpu_max = values("cpu_avg", vcpus, True), values("cpu_max", vcpus, True)
    gpu, gpu_max = values("gpu_avg", gpus, True), values("gpu_max", gpus, True)
    instance_hours = share * len(hosts)
    return WorkloadHour(
        workload=target.workload,
        kind=target.workload.kind,
        hour=hour,
        instance_type=instance_type,
        vcpus=vcpus,
        gpus=gpus,
        accelerators=accelerators,
        instance_hours=instance_hours,
        spot_instance_hours=instance_hours if target.workload.spot else 0.0,
        hosts=len(reported),
        cpu_util_pct=mean(list(cpu.values())),
        cpu_util_max_pct=max(cpu_max.values(), default=None),
        gpu_util_pct=mean(list(gpu.values())),
        gpu_util_max_pct=max(gpu_max.values(), default=None),
        gpu_memory_util_pct=mean(list(values("gpumem_avg", gpus, True).values())),
        memory_util_pct=mean(list(values("mem_avg").values())),
        disk_util_pct=mean(list(values("disk_avg").values())),
        gpu_util_by_host=gpu or None,
        util_source=WorkloadHour.UtilSource.METRICS if reported else WorkloadHour.UtilSource.ASSUMED,
        collected_at=now,
    )
