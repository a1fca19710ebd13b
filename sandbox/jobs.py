"""SageMaker jobs, notebook instances and Studio apps as AWS serves them, where moto falls short (issue 19).

Applied from ``patches.apply()`` (before CloudTrail recording wraps the final responses). Gaps closed:

- Training, processing, transform and hyperparameter tuning jobs are a full fake on ``SageMakerResponse`` (moto
  marks every job Completed at creation with start = end = now, drops ``ProcessingResources``, paginates before it
  filters, ignores sorting and fails on epoch time filters): Create/Describe/List/Stop per account and region,
  ``ListTrainingJobsForHyperParameterTuningJob``, tags through AddTags/ListTags on the job's ARN.
- Knobs (``sandbox:`` tags, stripped from ListTags and Describe) on every job: ``status``, ``failureReason``,
  ``creationTime``, ``startTime``, ``endTime`` (ISO; absent = still running), ``lastModifiedTime``,
  ``secondaryStatus``, ``billableSeconds`` (managed Spot), ``tuningJob`` (the parent tuning job's name) and
  ``warmPoolStatus``. DescribeTrainingJob computes ``TrainingTimeInSeconds`` (end - start) and
  ``BillableTimeInSeconds`` (the knob, else the training time); neither is shown while the job runs. A tuning
  job's ``TrainingJobStatusCounters``/``ObjectiveStatusCounters`` are computed from its children, its status is
  the knob, else InProgress while a child runs.
- List{Training,Processing,Transform,HyperParameterTuning}Jobs: filter (``CreationTime*``/``LastModifiedTime*`` as
  epoch or ISO, ``StatusEquals``, ``NameContains``) -> sort (``SortBy``/``SortOrder``; AWS's defaults
  CreationTime, Ascending) -> paginate (``MaxResults`` 1-100, opaque ``NextToken``).
- Notebook instances: current instance types, knobs ``status``, ``creationTime``, ``lastModifiedTime``;
  Start/Stop move ``LastModifiedTime``; ListNotebookInstances honours the time and lifecycle-config filters;
  ``ListNotebookInstanceLifecycleConfigs`` (moto has none).
- Studio (moto has no apps or spaces): Create/Describe/List/DeleteApp (knobs ``status``, ``creationTime``,
  ``deletedTime``, ``lastUserActivityTime``) and Create/Describe/List/DeleteSpace, per account and region; a
  deleted app stays listed with status Deleted, as AWS lists it for a while.
- CloudTrail: CreateNotebookInstance and CreateApp are recorded here, at their ``creationTime`` knob when seeding
  backdates them (the generic recorder in ``patches.py`` would stamp them now); Start/Stop/DeleteNotebookInstance
  and DeleteApp through ``patches.RECORDED_SAGEMAKER_CALLS``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ValidationError as SageMakerValidationError

from sandbox import cloudtrail

LIST_MAX_RESULTS = 100
TERMINAL = ("Completed", "Failed", "Stopped")
_applied = False


@dataclass(frozen=True)
class JobKind:
    key: str  # training | processing | transform | tuning
    resource: str  # ARN resource type
    name_member: str
    arn_member: str
    status_member: str
    summaries_member: str
    start_member: str | None
    end_member: str


KINDS = {
    "training": JobKind(
        "training",
        "training-job",
        "TrainingJobName",
        "TrainingJobArn",
        "TrainingJobStatus",
        "TrainingJobSummaries",
        "TrainingStartTime",
        "TrainingEndTime",
    ),
    "processing": JobKind(
        "processing",
        "processing-job",
        "ProcessingJobName",
        "ProcessingJobArn",
        "ProcessingJobStatus",
        "ProcessingJobSummaries",
        "ProcessingStartTime",
        "ProcessingEndTime",
    ),
    "transform": JobKind(
        "transform",
        "transform-job",
        "TransformJobName",
        "TransformJobArn",
        "TransformJobStatus",
        "TransformJobSummaries",
        "TransformStartTime",
        "TransformEndTime",
    ),
    "tuning": JobKind(
        "tuning",
        "hyper-parameter-tuning-job",
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobArn",
        "HyperParameterTuningJobStatus",
        "HyperParameterTuningJobSummaries",
        None,
        "HyperParameterTuningEndTime",
    ),
}
BY_RESOURCE = {k.resource: k for k in KINDS.values()}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(value) -> datetime:
    from sandbox.patches import naive_utc_any

    return naive_utc_any(value)


def _split(tags):
    from sandbox.patches import split_sandbox_tags

    return split_sandbox_tags(tags)


def _compact(described: dict) -> dict:
    return {k: v for k, v in described.items() if v is not None}


def _error(message: str) -> SageMakerValidationError:
    return SageMakerValidationError(message=message)


# --- jobs ------------------------------------------------------------------------------------------


class FakeJob:
    """One training, processing, transform or tuning job: the request as given, plus its timeline."""

    def __init__(self, backend, kind: JobKind, params: dict, tags: list, knobs: dict) -> None:
        self.backend = backend
        self.kind = kind
        self.name = params[kind.name_member]
        self.arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{kind.resource}/{self.name.lower()}"
        self.request = {k: v for k, v in params.items() if k != "Tags"}
        self.tags = tags or []
        now = utcnow()
        self.creation_time = _naive(knobs["creationTime"]) if "creationTime" in knobs else now
        self.start_time: datetime | None = _naive(knobs["startTime"]) if "startTime" in knobs else self.creation_time
        self.end_time: datetime | None = _naive(knobs["endTime"]) if "endTime" in knobs else None
        default = "Completed" if self.end_time else "InProgress"
        self.status = knobs.get("status", default)
        if self.status in TERMINAL and self.end_time is None:
            self.end_time = max(self.start_time or self.creation_time, now)
        if kind.key == "tuning" and "status" not in knobs:
            self.status = ""  # computed from the children
        self.failure_reason = knobs.get("failureReason")
        self.secondary_status = knobs.get("secondaryStatus")
        self.billable_seconds = int(knobs["billableSeconds"]) if "billableSeconds" in knobs else None
        self.tuning_job = knobs.get("tuningJob")
        self.warm_pool_status = knobs.get("warmPoolStatus")
        modified = self.end_time or self.start_time or self.creation_time
        self.last_modified_time = _naive(knobs["lastModifiedTime"]) if "lastModifiedTime" in knobs else modified

    # timeline --------------------------------------------------------------------------------------

    def current_status(self) -> str:
        if self.kind.key != "tuning" or self.status:
            return self.status
        children = self.children()
        if not children or any(c.status in ("InProgress", "Stopping") for c in children):
            return "InProgress"
        return "Completed"

    def tuning_end_time(self) -> datetime | None:
        if self.end_time or self.current_status() not in TERMINAL:
            return self.end_time
        ends = [c.end_time for c in self.children() if c.end_time]
        return max(ends) if ends else self.last_modified_time

    def children(self) -> list[FakeJob]:
        return [j for j in job_store(self.backend, "training").values() if j.tuning_job == self.name]

    def training_seconds(self) -> int | None:
        if self.end_time is None or self.start_time is None:
            return None
        return max(0, int((self.end_time - self.start_time).total_seconds()))

    def stop(self) -> None:
        if self.status in TERMINAL:
            raise _error(f"The job {self.name} is in status {self.status} and cannot be stopped.")
        self.status = "Stopped"
        self.end_time = self.last_modified_time = utcnow()
        self.secondary_status = "Stopped"

    # responses -------------------------------------------------------------------------------------

    def secondary(self) -> str:
        if self.secondary_status:
            return self.secondary_status
        return {"InProgress": "Training", "Stopping": "Stopping"}.get(self.status, self.status)

    def sort_value(self):
        return self.last_modified_time

    def summary(self) -> dict:
        kind, status = self.kind, self.current_status()
        summary = {
            kind.name_member: self.name,
            kind.arn_member: self.arn,
            "CreationTime": self.creation_time,
            kind.end_member: self.end_time if kind.key != "tuning" else self.tuning_end_time(),
            "LastModifiedTime": self.last_modified_time,
            kind.status_member: status,
        }
        if kind.key == "training":
            summary["SecondaryStatus"] = self.secondary()
            if self.warm_pool_status:
                summary["WarmPoolStatus"] = {"Status": self.warm_pool_status}
        elif kind.key == "tuning":
            config = self.request.get("HyperParameterTuningJobConfig") or {}
            summary["Strategy"] = config.get("Strategy")
            summary["ResourceLimits"] = config.get("ResourceLimits")
            summary["TrainingJobStatusCounters"], summary["ObjectiveStatusCounters"] = self.counters()
        elif self.failure_reason:
            summary["FailureReason"] = self.failure_reason
        return _compact(summary)

    def describe(self) -> dict:
        kind = self.kind
        described = {**self.request, **self.summary()}
        if kind.start_member:
            described[kind.start_member] = self.start_time
        if self.failure_reason:
            described["FailureReason"] = self.failure_reason
        if kind.key == "training":
            described.update(self._training_fields())
        elif kind.key == "tuning":
            described.update(self._tuning_fields())
        return _compact(described)

    def _training_fields(self) -> dict:
        seconds = self.training_seconds()
        billable = None
        if seconds is not None:
            billable = self.billable_seconds if self.billable_seconds is not None else seconds
        fields: dict[str, Any] = {
            "TrainingTimeInSeconds": seconds,
            "BillableTimeInSeconds": billable,
            "EnableManagedSpotTraining": bool(self.request.get("EnableManagedSpotTraining", False)),
            "SecondaryStatusTransitions": self.transitions(),
        }
        if self.tuning_job:
            region, account = self.backend.region_name, self.backend.account_id
            fields["TuningJobArn"] = (
                f"arn:aws:sagemaker:{region}:{account}:hyper-parameter-tuning-job/{self.tuning_job.lower()}"
            )
        if self.status == "Completed":
            output = (self.request.get("OutputDataConfig") or {}).get("S3OutputPath", "s3://sandbox-output")
            fields["ModelArtifacts"] = {"S3ModelArtifacts": f"{output.rstrip('/')}/{self.name}/output/model.tar.gz"}
        return fields

    def transitions(self) -> list[dict]:
        started = self.start_time or self.creation_time
        out = [
            {
                "Status": "Starting",
                "StartTime": self.creation_time,
                "EndTime": started,
                "StatusMessage": "Preparing the instances for training",
            }
        ]
        training = {"Status": "Training", "StartTime": started, "StatusMessage": "Training image download completed."}
        if self.end_time:
            training["EndTime"] = self.end_time
        out.append(training)
        if self.status in TERMINAL:
            out.append({"Status": self.secondary(), "StartTime": self.end_time, "EndTime": self.end_time})
        return out

    def counters(self) -> tuple[dict, dict]:
        children = self.children()
        count = {s: sum(1 for c in children if c.status == s) for s in ("Completed", "InProgress", "Failed", "Stopped")}
        count["InProgress"] += sum(1 for c in children if c.status == "Stopping")
        training = {
            "Completed": count["Completed"],
            "InProgress": count["InProgress"],
            "RetryableError": 0,
            "NonRetryableError": count["Failed"],
            "Stopped": count["Stopped"],
        }
        objective = {
            "Succeeded": count["Completed"],
            "Pending": count["InProgress"],
            "Failed": count["Failed"] + count["Stopped"],
        }
        return training, objective

    def _tuning_fields(self) -> dict:
        completed = sorted((c for c in self.children() if c.status == "Completed"), key=lambda c: c.name)
        fields: dict[str, Any] = {}
        if completed:
            best = min(completed, key=objective_value)
            fields["BestTrainingJob"] = best.tuning_summary()
        runtime = sum(c.training_seconds() or 0 for c in self.children())
        fields["ConsumedResources"] = {"RuntimeInSeconds": runtime}
        return fields

    def tuning_summary(self) -> dict:
        summary = {
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "TuningJobName": self.tuning_job,
            "CreationTime": self.creation_time,
            "TrainingStartTime": self.start_time,
            "TrainingEndTime": self.end_time,
            "TrainingJobStatus": self.status,
            "TunedHyperParameters": self.request.get("HyperParameters") or {},
            "FailureReason": self.failure_reason,
        }
        if self.status == "Completed":
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": "Minimize",
                "MetricName": "validation:rmse",
                "Value": objective_value(self),
            }
            summary["ObjectiveStatus"] = "Succeeded"
        else:
            summary["ObjectiveStatus"] = "Pending" if self.status == "InProgress" else "Failed"
        return _compact(summary)


def objective_value(job: FakeJob) -> float:
    """A deterministic objective (validation RMSE) per child, from its name."""
    return round(0.2 + (sum(job.name.encode()) % 97) / 1000, 4)


def job_store(backend, kind: str) -> dict[str, FakeJob]:
    stores = getattr(backend, "_sandbox_jobs", None)
    if stores is None:
        stores = backend._sandbox_jobs = {k: {} for k in KINDS}
    return stores[kind]


def _find_job(backend, kind: str, name: str) -> FakeJob:
    job = job_store(backend, kind).get(name)
    if job is None:
        resource = KINDS[kind].resource
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{resource}/{name}"
        raise _error(f"Requested resource not found: {arn}" if kind != "training" else f"Could not find {arn}")
    return job


def _instance_types(kind: str, params: dict) -> list[str]:
    if kind == "training":
        config = params.get("ResourceConfig") or {}
        groups = config.get("InstanceGroups") or []
        return [g.get("InstanceType") for g in groups] or [config.get("InstanceType")]
    if kind == "processing":
        return [((params.get("ProcessingResources") or {}).get("ClusterConfig") or {}).get("InstanceType")]
    if kind == "transform":
        return [(params.get("TransformResources") or {}).get("InstanceType")]
    return []


def _creator(kind: str):
    def create(self) -> ActionResult:
        backend = self.sagemaker_backend
        params = self._get_params()
        spec = KINDS[kind]
        name = params.get(spec.name_member)
        if not name:
            raise _error(f"{spec.name_member} is required")
        if name in job_store(backend, kind):
            raise _error(f"Job with name {name} already exists. Choose another name.")
        from sandbox.patches import INSTANCE_TYPE

        for instance_type in _instance_types(kind, params):
            if not INSTANCE_TYPE.match(instance_type or ""):
                raise _error(
                    f"Value '{instance_type}' at 'instanceType' failed to satisfy constraint: "
                    "Member must match pattern ml.<family>.<size>"
                )
        tags, knobs = _split(params.get("Tags"))
        job = FakeJob(backend, spec, params, tags, knobs)
        job_store(backend, kind)[name] = job
        return ActionResult({spec.arn_member: job.arn})

    return create


def _describer(kind: str):
    def describe(self) -> ActionResult:
        spec = KINDS[kind]
        return ActionResult(_find_job(self.sagemaker_backend, kind, self._get_param(spec.name_member)).describe())

    return describe


def _stopper(kind: str):
    def stop(self) -> ActionResult:
        spec = KINDS[kind]
        job = _find_job(self.sagemaker_backend, kind, self._get_param(spec.name_member))
        job.stop()
        if kind == "tuning":
            job.status = "Stopped"
            for child in job.children():
                if child.status == "InProgress":
                    child.stop()
        return EmptyResult()

    return stop


def _delete_tuning(self) -> ActionResult:
    job = _find_job(self.sagemaker_backend, "tuning", self._get_param("HyperParameterTuningJobName"))
    del job_store(self.sagemaker_backend, "tuning")[job.name]
    return EmptyResult()


# --- listing: filter -> sort -> paginate -------------------------------------------------------------


def _max_results(params: dict) -> int:
    max_results = int(params.get("MaxResults") or 10)
    if not 1 <= max_results <= LIST_MAX_RESULTS:
        raise _error(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value less than or equal to {LIST_MAX_RESULTS}"
        )
    return max_results


def encode_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset, "query": fingerprint}).encode()).decode()


def decode_token(token: str, fingerprint: str) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(decoded["offset"])
    except (ValueError, KeyError, TypeError):
        raise _error("Invalid pagination token") from None
    if decoded.get("query") != fingerprint:
        raise _error("The pagination token does not match the request's other parameters.")
    return offset


def paginate(found: list, params: dict, exclude: tuple[str, ...] = ()) -> tuple[list, str | None]:
    """One page of ``found`` (already filtered and sorted) and the token of the next, if any."""
    max_results = _max_results(params)
    query = {k: v for k, v in params.items() if k not in ("NextToken", "MaxResults", *exclude)}
    fingerprint = str(abs(hash(json.dumps(query, sort_keys=True, default=str))) % 10**12)
    start = decode_token(params["NextToken"], fingerprint) if params.get("NextToken") else 0
    page = found[start : start + max_results]
    token = encode_token(start + max_results, fingerprint) if start + max_results < len(found) else None
    return page, token


def time_filter(params: dict, created, modified) -> bool:
    checks = (
        ("CreationTimeAfter", lambda v: created > _naive(v)),
        ("CreationTimeBefore", lambda v: created < _naive(v)),
        ("LastModifiedTimeAfter", lambda v: modified > _naive(v)),
        ("LastModifiedTimeBefore", lambda v: modified < _naive(v)),
    )
    return all(test(params[key]) for key, test in checks if params.get(key) is not None)


def _lister(kind: str):
    def list_jobs(self) -> ActionResult:
        spec = KINDS[kind]
        params = self._get_params()
        wanted = params.get("StatusEquals")

        def keep(job: FakeJob) -> bool:
            return (
                time_filter(params, job.creation_time, job.last_modified_time)
                and (not wanted or job.current_status() == wanted)
                and (not params.get("NameContains") or params["NameContains"].lower() in job.name.lower())
                and (
                    not params.get("WarmPoolStatusEquals") or job.warm_pool_status == params.get("WarmPoolStatusEquals")
                )
            )

        found = [j for j in job_store(self.sagemaker_backend, kind).values() if keep(j)]
        sort_by = params.get("SortBy") or "CreationTime"
        keys = {"Name": lambda j: (j.name,), "Status": lambda j: (j.current_status(), j.name)}
        found.sort(
            key=keys.get(sort_by, lambda j: (j.creation_time, j.name)),
            reverse=(params.get("SortOrder") or "Ascending") == "Descending",
        )
        page, token = paginate(found, params)
        return ActionResult(_compact({spec.summaries_member: [j.summary() for j in page], "NextToken": token}))

    return list_jobs


def _list_training_jobs_for_tuning(self) -> ActionResult:
    params = self._get_params()
    parent = _find_job(self.sagemaker_backend, "tuning", params.get("HyperParameterTuningJobName"))
    wanted = params.get("StatusEquals")
    found = [c for c in parent.children() if not wanted or c.status == wanted]
    sort_by = params.get("SortBy") or "CreationTime"
    keys = {
        "Name": lambda c: (c.name,),
        "Status": lambda c: (c.status, c.name),
        "FinalObjectiveMetricValue": lambda c: (objective_value(c) if c.status == "Completed" else float("inf"),),
    }
    found.sort(
        key=keys.get(sort_by, lambda c: (c.creation_time, c.name)),
        reverse=(params.get("SortOrder") or "Descending") == "Descending",
    )
    page, token = paginate(found, params)
    return ActionResult(_compact({"TrainingJobSummaries": [c.tuning_summary() for c in page], "NextToken": token}))


# --- notebook instances --------------------------------------------------------------------------


def record_event(response, event_name: str, params: dict, returned: dict | None, moment: datetime | None) -> None:
    """Record a call in the sandbox CloudTrail at ``moment`` (naive UTC; None: now)."""
    cloudtrail.event_store(response.current_account, response.region).add(
        {
            "account": response.current_account,
            "region": response.region,
            "event_name": event_name,
            "event_time": moment.replace(tzinfo=UTC).isoformat() if moment else None,
            "request_parameters": params,
            "response_elements": returned,
        }
    )


def _apply_notebook_knobs(notebook, knobs: dict) -> None:
    if "status" in knobs:
        notebook.status = knobs["status"]
    if "creationTime" in knobs:
        notebook.creation_time = notebook.last_modified_time = _naive(knobs["creationTime"])
    if "lastModifiedTime" in knobs:
        notebook.last_modified_time = _naive(knobs["lastModifiedTime"])


def _create_notebook_instance(self) -> ActionResult:
    params = self._get_params()
    tags, knobs = _split(params.get("Tags"))
    notebook = self.sagemaker_backend.create_notebook_instance(
        notebook_instance_name=params.get("NotebookInstanceName"),
        instance_type=params.get("InstanceType"),
        subnet_id=params.get("SubnetId"),
        security_group_ids=params.get("SecurityGroupIds"),
        role_arn=params.get("RoleArn"),
        kms_key_id=params.get("KmsKeyId"),
        tags=tags,
        lifecycle_config_name=params.get("LifecycleConfigName"),
        direct_internet_access=params.get("DirectInternetAccess"),
        volume_size_in_gb=params.get("VolumeSizeInGB"),
        accelerator_types=params.get("AcceleratorTypes"),
        default_code_repository=params.get("DefaultCodeRepository"),
        additional_code_repositories=params.get("AdditionalCodeRepositories"),
        root_access=params.get("RootAccess"),
    )
    _apply_notebook_knobs(notebook, knobs)
    returned = {"NotebookInstanceArn": notebook.arn}
    record_event(
        self, "CreateNotebookInstance", {**params, "Tags": tags}, returned, notebook.creation_time if knobs else None
    )
    return ActionResult(returned)


def _notebook_validate_instance_type(self, instance_type: str) -> None:
    from sandbox.patches import INSTANCE_TYPE

    if not INSTANCE_TYPE.match(instance_type or ""):
        raise _error(
            f"Value '{instance_type}' at 'instanceType' failed to satisfy constraint: "
            "Member must match pattern ml.<family>.<size>"
        )


def _notebook_start(self) -> None:
    self.status = "InService"
    self.last_modified_time = utcnow()


def _notebook_stop(self) -> None:
    self.status = "Stopped"
    self.last_modified_time = utcnow()


def _list_lifecycle_configs(self) -> ActionResult:
    params = self._get_params()
    configs = list(self.sagemaker_backend.notebook_instance_lifecycle_configurations.values())
    contains = (params.get("NameContains") or "").lower()
    found = [
        c
        for c in configs
        if contains in c.notebook_instance_lifecycle_config_name.lower()
        and time_filter(params, c.creation_time, c.last_modified_time)
    ]
    sort_by = params.get("SortBy") or "CreationTime"
    keys = {
        "Name": lambda c: (c.notebook_instance_lifecycle_config_name,),
        "LastModifiedTime": lambda c: (c.last_modified_time, c.notebook_instance_lifecycle_config_name),
    }
    found.sort(
        key=keys.get(sort_by, lambda c: (c.creation_time, c.notebook_instance_lifecycle_config_name)),
        reverse=(params.get("SortOrder") or "Ascending") == "Descending",
    )
    page, token = paginate(found, params)
    summaries = [
        {
            "NotebookInstanceLifecycleConfigName": c.notebook_instance_lifecycle_config_name,
            "NotebookInstanceLifecycleConfigArn": c.arn,
            "CreationTime": c.creation_time,
            "LastModifiedTime": c.last_modified_time,
        }
        for c in page
    ]
    return ActionResult(_compact({"NotebookInstanceLifecycleConfigs": summaries, "NextToken": token}))


def _list_notebook_instances(self) -> ActionResult:
    """moto ignores the time and lifecycle-config filters: filter -> sort (AWS's default Name, Descending) ->
    paginate."""
    params = self._get_params()
    contains = (params.get("NameContains") or "").lower()
    config_contains = params.get("NotebookInstanceLifecycleConfigNameContains")
    found = [
        n
        for n in self.sagemaker_backend.notebook_instances.values()
        if contains in n.notebook_instance_name.lower()
        and (not params.get("StatusEquals") or n.status == params["StatusEquals"])
        and (not config_contains or config_contains in (n.lifecycle_config_name or ""))
        and time_filter(params, n.creation_time, n.last_modified_time)
    ]
    sort_by = params.get("SortBy") or "Name"
    keys = {
        "CreationTime": lambda n: (n.creation_time, n.notebook_instance_name),
        "Status": lambda n: (n.status, n.notebook_instance_name),
    }
    found.sort(
        key=keys.get(sort_by, lambda n: (n.notebook_instance_name,)),
        reverse=(params.get("SortOrder") or "Descending") == "Descending",
    )
    page, token = paginate(found, params)
    return ActionResult(_compact({"NotebookInstances": [_compact(n.to_dict()) for n in page], "NextToken": token}))


# --- Studio apps and spaces ----------------------------------------------------------------------


class FakeSpace:
    def __init__(self, backend, params: dict, tags: list) -> None:
        self.domain_id = params["DomainId"]
        self.name = params["SpaceName"]
        self.arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:space/{self.domain_id}/{self.name}"
        self.settings = params.get("SpaceSettings") or {}
        self.ownership = params.get("OwnershipSettings")
        self.sharing = params.get("SpaceSharingSettings")
        self.display_name = params.get("SpaceDisplayName")
        self.tags = tags or []
        self.status = "InService"
        self.creation_time = self.last_modified_time = utcnow()

    def summary(self) -> dict:
        settings = {"AppType": self.settings.get("AppType")}
        if self.settings.get("SpaceStorageSettings"):
            settings["SpaceStorageSettings"] = self.settings["SpaceStorageSettings"]
        return _compact(
            {
                "DomainId": self.domain_id,
                "SpaceName": self.name,
                "Status": self.status,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "SpaceSettingsSummary": _compact(settings),
                "SpaceSharingSettingsSummary": self.sharing,
                "OwnershipSettingsSummary": self.ownership,
                "SpaceDisplayName": self.display_name,
            }
        )

    def describe(self) -> dict:
        described = {**self.summary(), "SpaceArn": self.arn, "SpaceSettings": self.settings}
        described.pop("SpaceSettingsSummary")
        described["OwnershipSettings"] = described.pop("OwnershipSettingsSummary", None)
        described["SpaceSharingSettings"] = described.pop("SpaceSharingSettingsSummary", None)
        return _compact(described)


class FakeApp:
    def __init__(self, backend, params: dict, tags: list) -> None:
        self.domain_id = params["DomainId"]
        self.user_profile_name = params.get("UserProfileName")
        self.space_name = params.get("SpaceName")
        self.app_type = params["AppType"]
        self.name = params["AppName"]
        owner = self.space_name or self.user_profile_name
        self.arn = (
            f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:app/{self.domain_id}/{owner}/"
            f"{self.app_type.lower()}/{self.name}"
        )
        self.resource_spec = params.get("ResourceSpec") or {"InstanceType": "system"}
        self.tags = tags or []
        self.status = "InService"
        self.creation_time = utcnow()
        self.last_user_activity: datetime | None = None
        self.deleted_time: datetime | None = None
        self.failure_reason: str | None = None

    def apply_knobs(self, knobs: dict) -> None:
        if "creationTime" in knobs:
            self.creation_time = _naive(knobs["creationTime"])
        if "status" in knobs:
            self.status = knobs["status"]
        if "failureReason" in knobs:
            self.failure_reason = knobs["failureReason"]
        if "lastUserActivityTime" in knobs:
            self.last_user_activity = _naive(knobs["lastUserActivityTime"])
        if "deletedTime" in knobs:
            self.deleted_time = _naive(knobs["deletedTime"])
            self.status = knobs.get("status", "Deleted")

    def key(self) -> tuple:
        return (self.domain_id, self.user_profile_name, self.space_name, self.app_type, self.name)

    def summary(self) -> dict:
        return _compact(
            {
                "DomainId": self.domain_id,
                "UserProfileName": self.user_profile_name,
                "SpaceName": self.space_name,
                "AppType": self.app_type,
                "AppName": self.name,
                "Status": self.status,
                "CreationTime": self.creation_time,
                "ResourceSpec": self.resource_spec,
            }
        )

    def describe(self) -> dict:
        activity = self.last_user_activity or (self.creation_time if self.status == "InService" else None)
        return _compact(
            {
                **self.summary(),
                "AppArn": self.arn,
                "LastUserActivityTimestamp": activity,
                "LastHealthCheckTimestamp": utcnow() if self.status == "InService" else None,
                "FailureReason": self.failure_reason,
            }
        )


def studio_store(backend) -> dict:
    store = getattr(backend, "_sandbox_studio", None)
    if store is None:
        store = backend._sandbox_studio = {"apps": {}, "spaces": {}}
    return store


def _require_domain(backend, domain_id: str) -> None:
    if domain_id not in backend.domains:
        raise sm_models.ResourceNotFound(message=f"Domain {domain_id} does not exist.")


def _app_key(params: dict) -> tuple:
    if bool(params.get("UserProfileName")) == bool(params.get("SpaceName")):
        raise _error("Exactly one of UserProfileName or SpaceName must be given.")
    return (
        params.get("DomainId"),
        params.get("UserProfileName"),
        params.get("SpaceName"),
        params.get("AppType"),
        params.get("AppName"),
    )


def _find_app(backend, params: dict) -> FakeApp:
    app = studio_store(backend)["apps"].get(_app_key(params))
    if app is None:
        raise sm_models.ResourceNotFound(
            message=f"App {params.get('AppName')} of type {params.get('AppType')} not found"
        )
    return app


def _create_app(self) -> ActionResult:
    backend = self.sagemaker_backend
    params = self._get_params()
    key = _app_key(params)
    _require_domain(backend, params["DomainId"])
    space = params.get("SpaceName")
    if space and (params["DomainId"], space) not in studio_store(backend)["spaces"]:
        raise sm_models.ResourceNotFound(message=f"Space {space} does not exist in domain {params['DomainId']}.")
    existing = studio_store(backend)["apps"].get(key)
    if existing is not None and existing.status not in ("Deleted", "Failed"):
        raise sm_models.ResourceInUseException(message=f"App {params['AppName']} already exists")
    tags, knobs = _split(params.get("Tags"))
    app = FakeApp(backend, params, tags)
    app.apply_knobs(knobs)
    studio_store(backend)["apps"][key] = app
    returned = {"AppArn": app.arn}
    record_event(self, "CreateApp", {**params, "Tags": tags}, returned, app.creation_time if knobs else None)
    return ActionResult(returned)


def _describe_app(self) -> ActionResult:
    return ActionResult(_find_app(self.sagemaker_backend, self._get_params()).describe())


def _delete_app(self) -> ActionResult:
    app = _find_app(self.sagemaker_backend, self._get_params())
    if app.status == "Deleted":
        raise _error(f"App {app.name} is already deleted.")
    app.status = "Deleted"
    app.deleted_time = utcnow()
    return EmptyResult()


def _list_apps(self) -> ActionResult:
    params = self._get_params()
    checks = (
        ("DomainIdEquals", "domain_id"),
        ("UserProfileNameEquals", "user_profile_name"),
        ("SpaceNameEquals", "space_name"),
    )
    found = [
        a
        for a in studio_store(self.sagemaker_backend)["apps"].values()
        if all(getattr(a, attr) == params[key] for key, attr in checks if params.get(key))
    ]
    found.sort(
        key=lambda a: (a.creation_time, a.name), reverse=(params.get("SortOrder") or "Descending") == "Descending"
    )
    page, token = paginate(found, params)
    return ActionResult(_compact({"Apps": [a.summary() for a in page], "NextToken": token}))


def _create_space(self) -> ActionResult:
    backend = self.sagemaker_backend
    params = self._get_params()
    _require_domain(backend, params.get("DomainId"))
    key = (params["DomainId"], params["SpaceName"])
    if key in studio_store(backend)["spaces"]:
        raise sm_models.ResourceInUseException(message=f"Space {params['SpaceName']} already exists")
    tags, knobs = _split(params.get("Tags"))
    space = FakeSpace(backend, params, tags)
    if "creationTime" in knobs:
        space.creation_time = space.last_modified_time = _naive(knobs["creationTime"])
    studio_store(backend)["spaces"][key] = space
    return ActionResult({"SpaceArn": space.arn})


def _find_space(backend, params: dict) -> FakeSpace:
    space = studio_store(backend)["spaces"].get((params.get("DomainId"), params.get("SpaceName")))
    if space is None:
        raise sm_models.ResourceNotFound(message=f"Space {params.get('SpaceName')} does not exist.")
    return space


def _describe_space(self) -> ActionResult:
    return ActionResult(_find_space(self.sagemaker_backend, self._get_params()).describe())


def _delete_space(self) -> ActionResult:
    space = _find_space(self.sagemaker_backend, self._get_params())
    del studio_store(self.sagemaker_backend)["spaces"][(space.domain_id, space.name)]
    return EmptyResult()


def _list_spaces(self) -> ActionResult:
    params = self._get_params()
    contains = params.get("SpaceNameContains") or ""
    found = [
        s
        for s in studio_store(self.sagemaker_backend)["spaces"].values()
        if (not params.get("DomainIdEquals") or s.domain_id == params["DomainIdEquals"]) and contains in s.name
    ]
    sort_by = params.get("SortBy") or "CreationTime"
    found.sort(
        key=(lambda s: (s.last_modified_time, s.name))
        if sort_by == "LastModifiedTime"
        else (lambda s: (s.creation_time, s.name)),
        reverse=(params.get("SortOrder") or "Descending") == "Descending",
    )
    page, token = paginate(found, params)
    return ActionResult(_compact({"Spaces": [s.summary() for s in page], "NextToken": token}))


# --- tags and wiring -------------------------------------------------------------------------------


def _studio_resource(backend, resource: str, arn: str):
    found = studio_store(backend)["apps" if resource == "app" else "spaces"].values()
    for item in found:
        if item.arn == arn:
            return item
    raise _error(f"Could not find {resource} {arn}")


def _resource_finder(original):
    def find(self, arn: str):
        resource = arn.split(":", 5)[-1].split("/", 1)[0]
        if resource in ("app", "space"):
            return _studio_resource(self, resource, arn)
        if resource not in BY_RESOURCE:
            return original(self, arn)
        name = arn.rsplit("/", 1)[1]
        for job in job_store(self, BY_RESOURCE[resource].key).values():
            if job.arn == arn or job.name.lower() == name.lower():
                return job
        raise _error(f"Could not find {resource} with name {name}")

    return find


def _tag_adder(original):
    def add_tags(self, arn, tags):
        """AddTags on a job, app or notebook instance: ``sandbox:`` knobs are applied, never stored."""
        resource = arn.split(":", 5)[-1].split("/", 1)[0]
        if resource == "notebook-instance":
            tags, knobs = _split(tags)
            if knobs:
                _apply_notebook_knobs(self._get_resource_from_arn(arn), knobs)
            return original(self, arn, tags)
        if resource not in BY_RESOURCE and resource != "app":
            return original(self, arn, tags)
        tags, knobs = _split(tags)
        target = self._get_resource_from_arn(arn)
        if knobs and isinstance(target, FakeApp):
            target.apply_knobs(knobs)
        elif knobs and isinstance(target, FakeJob):
            _apply_job_knobs(target, knobs)
        target.tags.extend(tags)
        return target.tags

    return add_tags


def _apply_job_knobs(job: FakeJob, knobs: dict) -> None:
    """Knobs added later (AddTags): the running job that has now ended, failed or was stopped."""
    for knob, attribute in (("creationTime", "creation_time"), ("startTime", "start_time"), ("endTime", "end_time")):
        if knob in knobs:
            setattr(job, attribute, _naive(knobs[knob]))
    if "status" in knobs:
        job.status = knobs["status"]
    elif "endTime" in knobs and job.status == "InProgress":
        job.status = "Completed"
    for knob, attribute in (
        ("failureReason", "failure_reason"),
        ("secondaryStatus", "secondary_status"),
        ("tuningJob", "tuning_job"),
        ("warmPoolStatus", "warm_pool_status"),
    ):
        if knob in knobs:
            setattr(job, attribute, knobs[knob])
    if "billableSeconds" in knobs:
        job.billable_seconds = int(knobs["billableSeconds"])
    job.last_modified_time = (
        _naive(knobs["lastModifiedTime"]) if "lastModifiedTime" in knobs else (job.end_time or job.last_modified_time)
    )


OPERATIONS = {
    "create_training_job": _creator("training"),
    "describe_training_job": _describer("training"),
    "list_training_jobs": _lister("training"),
    "stop_training_job": _stopper("training"),
    "create_processing_job": _creator("processing"),
    "describe_processing_job": _describer("processing"),
    "list_processing_jobs": _lister("processing"),
    "stop_processing_job": _stopper("processing"),
    "create_transform_job": _creator("transform"),
    "describe_transform_job": _describer("transform"),
    "list_transform_jobs": _lister("transform"),
    "stop_transform_job": _stopper("transform"),
    "create_hyper_parameter_tuning_job": _creator("tuning"),
    "describe_hyper_parameter_tuning_job": _describer("tuning"),
    "list_hyper_parameter_tuning_jobs": _lister("tuning"),
    "stop_hyper_parameter_tuning_job": _stopper("tuning"),
    "delete_hyper_parameter_tuning_job": _delete_tuning,
    "list_training_jobs_for_hyper_parameter_tuning_job": _list_training_jobs_for_tuning,
    "create_notebook_instance": _create_notebook_instance,
    "list_notebook_instance_lifecycle_configs": _list_lifecycle_configs,
    "list_notebook_instances": _list_notebook_instances,
    "create_app": _create_app,
    "describe_app": _describe_app,
    "list_apps": _list_apps,
    "delete_app": _delete_app,
    "create_space": _create_space,
    "describe_space": _describe_space,
    "list_spaces": _list_spaces,
    "delete_space": _delete_space,
}


def patch_jobs() -> None:
    """Close moto's gaps for training, processing, transform and tuning jobs, notebook instances and Studio apps."""
    global _applied
    if _applied:
        return
    for attribute, handler in OPERATIONS.items():
        setattr(sm_responses.SageMakerResponse, attribute, handler)
    backend = sm_models.SageMakerModelBackend
    backend._get_resource_from_arn = _resource_finder(backend._get_resource_from_arn)
    backend.add_tags = _tag_adder(backend.add_tags)
    notebook = sm_models.FakeSagemakerNotebookInstance
    notebook.validate_instance_type = _notebook_validate_instance_type
    notebook.start = _notebook_start
    notebook.stop = _notebook_stop
    _applied = True
