"""The ``jobs`` collector (issue 19): training, hyperparameter tuning, processing and batch-transform jobs of one
account and region.

Per kind, List{HyperParameterTuning,Training,Processing,Transform}Jobs is paged (100 a page) twice: with
``LastModifiedTimeAfter`` the previous run's watermark less ``COLLECT_REREAD_HOURS`` (the first run: the last
``COLLECT_LOOKBACK_DAYS``), and with ``StatusEquals=InProgress`` and no time filter, so a running job is refreshed
every hour whatever its LastModifiedTime. A job is described only when it is new, changed (the listing's
LastModifiedTime is newer than the one recorded) or still running; jobs recorded as running that neither listing
returned (e.g. ``Stopping``) are described by name. ListTags is called on first sight and while a job runs.
Tuning jobs go first, so a training job's ``TuningJobArn`` finds its parent (one not listed is described then).

Rows are upserted in batches on (account, region, kind, name): collecting again changes nothing but ``last_seen``.
Pages are streamed (one batch in memory), so ten thousand jobs stay within a small, constant memory.

One job's error (a failed Describe or ListTags) is recorded in ``errors`` and the run goes on; throttling that
outlasts botocore's retries fails the run (its watermark stays), as does a run where every described job failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.db import transaction

from collectors import aws
from collectors.errors import CollectionFailed, describe_client_error, is_throttling
from collectors.models import TuningJob, Workload
from collectors.models.workloads import RUNNING_STATUSES, WorkloadKind

PAGE_SIZE = 100  # the List*Jobs maximum
BATCH = 500  # rows upserted at a time (and the most summaries held in memory)
TERMINAL = ("Completed", "Failed", "Stopped")

# The SageMaker Python SDK's generated suffixes (sagemaker.utils.name_from_base / unique_name_from_base, and
# tuning jobs' children ``<tuning job>-NNN-<8 hex>``), stripped repeatedly from the end of a name.
SUFFIXES = (
    re.compile(r"-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}(-\d{1,6})?$"),  # -2026-11-20-10-00-00-123
    re.compile(r"-\d{6}-\d{4}(-\d{1,6})?$"),  # short: -261120-1000 (tuning jobs' 32-character names)
    re.compile(r"-\d{3}-[0-9a-f]{8}$"),  # a tuning job's child: -001-7d2a9a5e
    re.compile(r"-\d{10,13}(-[0-9a-f]{4})?$"),  # epoch seconds or milliseconds (unique_name_from_base)
    re.compile(r"-\d{3,}$"),  # a zero-padded counter: -001
)

# Framework from the container image's repository name (AWS Deep Learning Containers and SageMaker's built-in
# algorithm images); the first match wins, so Hugging Face's PyTorch images read as "huggingface".
FRAMEWORKS = (
    ("huggingface", "huggingface"),
    ("pytorch", "pytorch"),
    ("tensorflow", "tensorflow"),
    ("xgboost", "xgboost"),
    ("scikit-learn", "sklearn"),
    ("sklearn", "sklearn"),
    ("mxnet", "mxnet"),
    ("spark", "spark"),
    ("djl", "djl"),
    ("tei", "huggingface"),
    ("tgi", "huggingface"),
)


@dataclass
class JobsResult:
    training: int = 0
    tuning: int = 0
    processing: int = 0
    transform: int = 0
    described: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)
    listed: int = 0  # summaries read from the listings (a job in both listings counts twice)
    running: int = 0  # jobs running after this run
    tags_read: int = 0
    since: str | None = None  # the LastModifiedTimeAfter the listings used


def family(name: str) -> str:
    """The job name without the SDK's timestamp or counter suffixes: reruns of one job share it."""
    current = name
    while True:
        for pattern in SUFFIXES:
            stripped = pattern.sub("", current)
            if stripped != current and stripped:
                current = stripped
                break
        else:
            return current


def framework(image_uri: str) -> str:
    """``pytorch``, ``tensorflow``, ``huggingface``, ``xgboost``… from an image URI; empty when unrecognised."""
    if not image_uri:
        return ""
    repository = image_uri.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0].lower()
    for key, name in FRAMEWORKS:
        if key in repository.split("-") or (len(key) > 4 and key in repository):
            return name
    return ""


@dataclass(frozen=True)
class Kind:
    """How one job kind is listed and described."""

    kind: str  # a WorkloadKind, or "tuning"
    list_op: str
    list_key: str
    name_key: str
    status_key: str
    describe: str
    name_param: str


TUNING = Kind(
    "tuning",
    "list_hyper_parameter_tuning_jobs",
    "HyperParameterTuningJobSummaries",
    "HyperParameterTuningJobName",
    "HyperParameterTuningJobStatus",
    "describe_hyper_parameter_tuning_job",
    "HyperParameterTuningJobName",
)
TRAINING = Kind(
    WorkloadKind.TRAINING,
    "list_training_jobs",
    "TrainingJobSummaries",
    "TrainingJobName",
    "TrainingJobStatus",
    "describe_training_job",
    "TrainingJobName",
)
PROCESSING = Kind(
    WorkloadKind.PROCESSING,
    "list_processing_jobs",
    "ProcessingJobSummaries",
    "ProcessingJobName",
    "ProcessingJobStatus",
    "describe_processing_job",
    "ProcessingJobName",
)
TRANSFORM = Kind(
    WorkloadKind.TRANSFORM,
    "list_transform_jobs",
    "TransformJobSummaries",
    "TransformJobName",
    "TransformJobStatus",
    "describe_transform_job",
    "TransformJobName",
)
KINDS = (TUNING, TRAINING, PROCESSING, TRANSFORM)


def listed(sm, kind: Kind, since: datetime, result: JobsResult) -> Iterator[dict]:
    """Summaries of the jobs modified since ``since``, then of those in progress (maybe again), page by page."""
    for params in ({"LastModifiedTimeAfter": since}, {"StatusEquals": "InProgress"}):
        pages = sm.get_paginator(kind.list_op).paginate(
            **params, SortBy="CreationTime", SortOrder="Ascending", PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for page in pages:
            for summary in page.get(kind.list_key, []):
                result.listed += 1
                yield summary


@dataclass
class Known:
    """What is recorded of a job: enough to decide whether to describe it again."""

    pk: int
    status: str
    last_modified: datetime | None
    tags: dict


def known_jobs(account, region: str, kind: Kind) -> dict[str, Known]:
    rows: Any = (
        TuningJob.objects.filter(account=account, region=region)
        if kind is TUNING
        else Workload.objects.filter(account=account, region=region, kind=kind.kind)
    )
    return {
        name: Known(pk, status, modified, tags)
        for pk, name, status, modified, tags in rows.values_list("pk", "name", "status", "last_modified_time", "tags")
    }


def needs_describe(summary: dict, kind: Kind, known: Known | None) -> bool:
    if known is None or known.status not in TERMINAL:
        return True
    if summary.get(kind.status_key) not in TERMINAL:
        return True
    modified = summary.get("LastModifiedTime")
    return modified is not None and (known.last_modified is None or modified > known.last_modified)


def collect_jobs(account, region: str, watermark: datetime | None, now: datetime, calls: aws.ApiCalls) -> JobsResult:
    sm = aws.client(account, "sagemaker", region, calls)
    if watermark is not None:
        since = watermark - timedelta(hours=settings.COLLECT_REREAD_HOURS)
    else:
        since = now - timedelta(days=settings.COLLECT_LOOKBACK_DAYS)
    result = JobsResult(since=since.isoformat())
    context = Context(account, region, sm, now, result)
    for kind in KINDS:
        collect_kind(context, kind, since)
    if result.errors and not result.described:
        raise CollectionFailed(
            f"none of the {len(result.errors)} jobs could be described, e.g. "
            f"{result.errors[0]['resource']}: {result.errors[0]['error']}"
        )
    return result


@dataclass
class Context:
    account: Any
    region: str
    sm: Any
    now: datetime
    result: JobsResult
    tuning_arns: dict[str, int | None] = field(default_factory=dict)  # TuningJobArn -> TuningJob pk
    model_images: dict[str, str] = field(default_factory=dict)  # transform jobs' models -> image URI


def collect_kind(context: Context, kind: Kind, since: datetime) -> None:
    known = known_jobs(context.account, context.region, kind)
    seen: set[str] = set()
    batch: list[tuple[dict, dict, Known | None]] = []
    for summary in listed(context.sm, kind, since, context.result):
        name = summary[kind.name_key]
        if name in seen:
            continue
        seen.add(name)
        previous = known.get(name)
        if not needs_describe(summary, kind, previous):
            continue
        described = describe(context, kind, name)
        if described is not None:
            # DescribeTransformJob has no LastModifiedTime; its listing does: keep the listing's, so an unchanged
            # job is not described again on every run of the re-read window.
            if summary.get("LastModifiedTime") and "LastModifiedTime" not in described:
                described["LastModifiedTime"] = summary["LastModifiedTime"]
            batch.append((described, tags_for(context, kind, described, previous), previous))
        if len(batch) >= BATCH:
            save(context, kind, batch)
            batch = []
    # Jobs recorded as running that no listing returned this time (Stopping, or ended before the window).
    for name, previous in known.items():
        if name not in seen and previous.status in RUNNING_STATUSES:
            described = describe(context, kind, name)
            if described is not None:
                batch.append((described, tags_for(context, kind, described, previous), previous))
    save(context, kind, batch)


def describe(context: Context, kind: Kind, name: str) -> dict | None:
    try:
        described = getattr(context.sm, kind.describe)(**{kind.name_param: name})
    except ClientError as exc:
        if is_throttling(exc):
            raise
        context.result.errors.append({"resource": f"{kind.kind} job {name}", "error": describe_client_error(exc)})
        return None
    context.result.described += 1
    return described


def arn_of(kind: Kind, described: dict) -> str:
    if kind is TUNING:
        return described.get("HyperParameterTuningJobArn", "")
    return described.get(f"{kind.name_key[:-4]}Arn", "")


def tags_for(context: Context, kind: Kind, described: dict, previous: Known | None) -> dict:
    """ListTags on first sight and while the job runs; otherwise the tags recorded before. When ListTags fails:
    the recorded tags (none for a new job), and the error listed."""
    running = described.get(kind.status_key) not in TERMINAL
    if previous is not None and not running:
        return previous.tags
    arn = arn_of(kind, described)
    try:
        tags: dict = {}
        for page in context.sm.get_paginator("list_tags").paginate(ResourceArn=arn):
            tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
    except ClientError as exc:
        if is_throttling(exc):
            raise
        name = described.get(kind.name_key, arn)
        context.result.errors.append({"resource": f"{name} (tags)", "error": describe_client_error(exc)})
        return previous.tags if previous is not None else {}
    context.result.tags_read += 1
    return tags


def save(context: Context, kind: Kind, batch: list[tuple[dict, dict, Known | None]]) -> None:
    if not batch:
        return
    if kind is TUNING:
        tuning = [tuning_row(context, described, tags) for described, tags, _ in batch]
        with transaction.atomic():
            TuningJob.objects.bulk_create(
                tuning, update_conflicts=True, unique_fields=["account", "region", "name"], update_fields=TUNING_FIELDS
            )
        context.result.tuning += len(tuning)
    else:
        builder = ROW_BUILDERS[kind.kind]
        rows = [builder(context, described, tags) for described, tags, _ in batch]
        with transaction.atomic():
            Workload.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["account", "region", "kind", "name"],
                update_fields=WORKLOAD_FIELDS,
            )
        setattr(context.result, kind.kind, getattr(context.result, kind.kind) + len(rows))
        context.result.running += sum(1 for row in rows if row.status in RUNNING_STATUSES)
    context.result.updated += sum(1 for _, _, previous in batch if previous is not None)


TUNING_FIELDS = [
    "arn",
    "status",
    "failure_reason",
    "strategy",
    "max_parallel_jobs",
    "max_jobs",
    "warm_start_type",
    "warm_start_parents",
    "objective_metric",
    "status_counters",
    "created_time",
    "end_time",
    "last_modified_time",
    "tags",
    "last_seen",
]
WORKLOAD_FIELDS = [
    "arn",
    "status",
    "secondary_status",
    "failure_reason",
    "instance_type",
    "instance_count",
    "instance_groups",
    "volume_size_gb",
    "keep_alive_seconds",
    "spot",
    "max_runtime_seconds",
    "max_wait_seconds",
    "tuning_job",
    "family",
    "image_uri",
    "framework",
    "created_time",
    "start_time",
    "end_time",
    "last_modified_time",
    "training_seconds",
    "billable_seconds",
    "tags",
    "last_seen",
    "deleted_at",
]


def tuning_row(context: Context, described: dict, tags: dict) -> TuningJob:
    config = described.get("HyperParameterTuningJobConfig") or {}
    limits = config.get("ResourceLimits") or {}
    warm = described.get("WarmStartConfig") or {}
    return TuningJob(
        account=context.account,
        region=context.region,
        name=described["HyperParameterTuningJobName"],
        arn=described.get("HyperParameterTuningJobArn", ""),
        status=described.get("HyperParameterTuningJobStatus", ""),
        failure_reason=described.get("FailureReason", ""),
        strategy=config.get("Strategy", ""),
        max_parallel_jobs=limits.get("MaxParallelTrainingJobs"),
        max_jobs=limits.get("MaxNumberOfTrainingJobs"),
        warm_start_type=warm.get("WarmStartType", ""),
        warm_start_parents=[
            p.get("HyperParameterTuningJobName", "") for p in warm.get("ParentHyperParameterTuningJobs", [])
        ],
        objective_metric=(config.get("HyperParameterTuningJobObjective") or {}).get("MetricName", ""),
        status_counters=described.get("TrainingJobStatusCounters") or {},
        created_time=described.get("CreationTime"),
        end_time=described.get("HyperParameterTuningEndTime"),
        last_modified_time=described.get("LastModifiedTime"),
        tags=tags,
        first_seen=context.now,
        last_seen=context.now,
    )


def base_row(context: Context, kind: str, name: str, arn: str, tags: dict) -> Workload:
    return Workload(
        account=context.account,
        region=context.region,
        kind=kind,
        name=name,
        arn=arn,
        family=family(name),
        tags=tags,
        first_seen=context.now,
        last_seen=context.now,
        deleted_at=None,
    )


def seconds(value) -> int | None:
    return int(value) if value is not None else None


def training_row(context: Context, described: dict, tags: dict) -> Workload:
    row = base_row(
        context, WorkloadKind.TRAINING, described["TrainingJobName"], described.get("TrainingJobArn", ""), tags
    )
    resources = described.get("ResourceConfig") or {}
    groups = [
        {
            "name": g.get("InstanceGroupName", ""),
            "instance_type": g.get("InstanceType", ""),
            "instance_count": int(g.get("InstanceCount") or 0),
        }
        for g in resources.get("InstanceGroups") or []
    ]
    stopping = described.get("StoppingCondition") or {}
    image = (described.get("AlgorithmSpecification") or {}).get("TrainingImage", "")
    row.status = described.get("TrainingJobStatus", "")
    row.secondary_status = described.get("SecondaryStatus", "")
    row.failure_reason = described.get("FailureReason", "")
    if groups:  # a heterogeneous cluster: the first group's type; the count of all hosts
        row.instance_groups = groups
        row.instance_type = groups[0]["instance_type"]
        row.instance_count = sum(g["instance_count"] for g in groups)
    else:
        row.instance_type = resources.get("InstanceType", "")
        row.instance_count = int(resources.get("InstanceCount") or 1)
    row.volume_size_gb = resources.get("VolumeSizeInGB")
    row.keep_alive_seconds = seconds(resources.get("KeepAlivePeriodInSeconds"))
    row.spot = bool(described.get("EnableManagedSpotTraining"))
    row.max_runtime_seconds = seconds(stopping.get("MaxRuntimeInSeconds"))
    row.max_wait_seconds = seconds(stopping.get("MaxWaitTimeInSeconds"))
    row.tuning_job_id = tuning_parent(context, described.get("TuningJobArn", ""))
    row.image_uri = image
    row.framework = framework(image)
    row.created_time = described.get("CreationTime")
    row.start_time = described.get("TrainingStartTime")
    row.end_time = described.get("TrainingEndTime")
    row.last_modified_time = described.get("LastModifiedTime")
    row.training_seconds = seconds(described.get("TrainingTimeInSeconds"))
    row.billable_seconds = seconds(described.get("BillableTimeInSeconds"))
    return row


def processing_row(context: Context, described: dict, tags: dict) -> Workload:
    row = base_row(
        context, WorkloadKind.PROCESSING, described["ProcessingJobName"], described.get("ProcessingJobArn", ""), tags
    )
    cluster = (described.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    image = (described.get("AppSpecification") or {}).get("ImageUri", "")
    row.status = described.get("ProcessingJobStatus", "")
    row.failure_reason = described.get("FailureReason", "") or described.get("ExitMessage", "")
    row.instance_type = cluster.get("InstanceType", "")
    row.instance_count = int(cluster.get("InstanceCount") or 1)
    row.volume_size_gb = cluster.get("VolumeSizeInGB")
    row.max_runtime_seconds = seconds((described.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds"))
    row.image_uri = image
    row.framework = framework(image)
    row.created_time = described.get("CreationTime")
    row.start_time = described.get("ProcessingStartTime")
    row.end_time = described.get("ProcessingEndTime")
    row.last_modified_time = described.get("LastModifiedTime")
    return row


def transform_row(context: Context, described: dict, tags: dict) -> Workload:
    row = base_row(
        context, WorkloadKind.TRANSFORM, described["TransformJobName"], described.get("TransformJobArn", ""), tags
    )
    resources = described.get("TransformResources") or {}
    image = model_image(context, described.get("ModelName", ""))
    row.status = described.get("TransformJobStatus", "")
    row.failure_reason = described.get("FailureReason", "")
    row.instance_type = resources.get("InstanceType", "")
    row.instance_count = int(resources.get("InstanceCount") or 1)
    row.image_uri = image
    row.framework = framework(image)
    row.created_time = described.get("CreationTime")
    row.start_time = described.get("TransformStartTime")
    row.end_time = described.get("TransformEndTime")
    # DescribeTransformJob has no LastModifiedTime (its listing does): the latest moment it reports.
    moments = [m for m in (row.end_time, row.start_time, row.created_time) if m is not None]
    row.last_modified_time = described.get("LastModifiedTime") or (max(moments) if moments else None)
    return row


ROW_BUILDERS: dict[str, Callable[[Context, dict, dict], Workload]] = {
    WorkloadKind.TRAINING: training_row,
    WorkloadKind.PROCESSING: processing_row,
    WorkloadKind.TRANSFORM: transform_row,
}


def model_image(context: Context, model_name: str) -> str:
    """A transform job's container image, from its model (described once per run); empty when the model is gone."""
    if not model_name:
        return ""
    if model_name not in context.model_images:
        image = ""
        try:
            model = context.sm.describe_model(ModelName=model_name)
            containers = model.get("Containers") or (
                [model["PrimaryContainer"]] if model.get("PrimaryContainer") else []
            )
            image = containers[0].get("Image", "") if containers else ""
        except ClientError as exc:
            if is_throttling(exc):
                raise
        context.model_images[model_name] = image
    return context.model_images[model_name]


def tuning_parent(context: Context, arn: str) -> int | None:
    """The TuningJob a training job belongs to; a parent not recorded yet is described now."""
    if not arn:
        return None
    if arn not in context.tuning_arns:
        parent = TuningJob.objects.filter(account=context.account, region=context.region, arn=arn).first()
        if parent is None:
            described = describe(context, TUNING, arn.rsplit("/", 1)[-1])
            if described is not None:
                row = tuning_row(context, described, tags_for(context, TUNING, described, None))
                with transaction.atomic():
                    TuningJob.objects.bulk_create(
                        [row],
                        update_conflicts=True,
                        unique_fields=["account", "region", "name"],
                        update_fields=TUNING_FIELDS,
                    )
                context.result.tuning += 1
                parent = TuningJob.objects.filter(account=context.account, region=context.region, arn=arn).first()
        context.tuning_arns[arn] = parent.pk if parent is not None else None
    return context.tuning_arns[arn]
