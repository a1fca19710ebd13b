"""Seed the demo's training, tuning, processing and transform jobs, notebook instances and Studio apps with their
host metrics (issue 19), through plain boto3 calls with ``sandbox:`` knobs (``sandbox/jobs.py``) and the metric
sink the endpoint seeding uses.

What is created comes from ``sandbox/workload_fleet.py`` (deterministic, relative to ``now``); the summary returned
(``GET /_sandbox/fleet`` -> ``"workloads"``) lists every workload with its timeline and the per-host mean
utilization that was generated, normalised per vCPU / GPU, so a test can recompute what a collector must find.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np

from sandbox import fleet as fl
from sandbox import workload_fleet as wf
from sandbox.clients import client

PUT_BATCH = 1000
JOB_LOG_GROUPS = (  # (name, GB, class) where the endpoint seeding did not already create them: no retention
    ("/aws/sagemaker/TrainingJobs", 42.0, "STANDARD"),
    ("/aws/sagemaker/ProcessingJobs", 3.1, "STANDARD"),
    ("/aws/sagemaker/TransformJobs", 0.9, "STANDARD"),
    ("/aws/sagemaker/NotebookInstances", 0.21, "STANDARD"),
    ("/aws/sagemaker/studio", 0.35, "STANDARD"),
)
ADMIN = "data-scientist"


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/SageMakerExecution"


def _bucket(account: str) -> str:
    return f"{fl.ACCOUNTS.get(account, account)}-training-data"


def _knobs(**values) -> list[dict]:
    return [{"Key": f"sandbox:{k}", "Value": str(v)} for k, v in values.items() if v is not None]


def _tags(job: wf.Job) -> list[dict]:
    tags = [{"Key": "team", "Value": job.team}]
    if job.project:
        tags.append({"Key": "project", "Value": job.project})
    return tags


# --- requests ----------------------------------------------------------------------------------------


def job_knobs(job: wf.Job, now: datetime) -> dict:
    times = job.timeline(now)
    seconds = training_seconds(job, now)
    knobs = {
        "status": job.final_status(),
        "creationTime": iso(times["created"]),
        "startTime": iso(times["start"]),
        "endTime": iso(times["end"]),
        "failureReason": job.failure_reason,
        "tuningJob": job.tuning,
        "billableSeconds": billable_seconds(job, now) if job.spot and seconds is not None else None,
    }
    return {k: v for k, v in knobs.items() if v is not None}


def training_seconds(job: wf.Job, now: datetime) -> int | None:
    times = job.timeline(now)
    return None if times["end"] is None else int((times["end"] - times["start"]).total_seconds())


def billable_seconds(job: wf.Job, now: datetime) -> int | None:
    seconds = training_seconds(job, now)
    if seconds is None:
        return None
    return round(seconds * job.billable_fraction) if job.spot and job.billable_fraction else seconds


def job_request(job: wf.Job, now: datetime) -> dict:
    """The Create*Job request of a job, its knobs among its tags."""
    image = job.image.format(region=job.region)
    bucket = _bucket(job.account)
    tags = _tags(job) + _knobs(**job_knobs(job, now))
    if job.kind == "processing":
        return {
            "ProcessingJobName": job.name,
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": job.count, "InstanceType": job.instance_type, "VolumeSizeInGB": 30}
            },
            "AppSpecification": {"ImageUri": image, "ContainerEntrypoint": ["python3", "/opt/ml/code/build.py"]},
            "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
            "RoleArn": _role(job.account),
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "features",
                        "S3Output": {
                            "S3Uri": f"s3://{bucket}/features/",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "Tags": tags,
        }
    if job.kind == "transform":
        return {
            "TransformJobName": job.name,
            "ModelName": f"{job.project}-model",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/score/"}},
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {"S3OutputPath": f"s3://{bucket}/scored/"},
            "TransformResources": {"InstanceType": job.instance_type, "InstanceCount": job.count},
            "BatchStrategy": "MultiRecord",
            "Tags": tags,
        }
    resource: dict = {"VolumeSizeInGB": 200 if job.gpu_pct else 30}
    if job.groups:
        resource["InstanceGroups"] = [
            {"InstanceGroupName": g.name, "InstanceType": g.instance_type, "InstanceCount": g.count} for g in job.groups
        ]
    else:
        resource.update(InstanceType=job.instance_type, InstanceCount=job.count)
    request = {
        "TrainingJobName": job.name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": _role(job.account),
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{job.project or 'data'}/"}
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output/"},
        "ResourceConfig": resource,
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400 * 2},
        "EnableManagedSpotTraining": job.spot,
        "Tags": tags,
    }
    if job.hyper_parameters:
        request["HyperParameters"] = job.hyper_parameters
    if job.spot:
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = 86400 * 3
        request["CheckpointConfig"] = {"S3Uri": f"s3://{bucket}/checkpoints/{job.project}/"}
    return request


def tuning_request(tuning: wf.Tuning, now: datetime) -> dict:
    children = tuning.children()
    times = [c.timeline(now) for c in children]
    ends = [t["end"] for t in times]
    created = min(t["created"] for t in times) - timedelta(minutes=1)
    done = all(e is not None for e in ends)
    knobs = {"creationTime": iso(created)}
    if done:
        knobs.update(status="Completed", endTime=iso(max(ends)), lastModifiedTime=iso(max(ends)))
    config = {
        "Strategy": tuning.strategy,
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": tuning.max_jobs, "MaxParallelTrainingJobs": tuning.max_parallel},
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.01", "MaxValue": "0.3"}],
            "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "10"}],
        },
    }
    request = {
        "HyperParameterTuningJobName": tuning.name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"num_round": "200", "objective": "reg:squarederror"},
            "AlgorithmSpecification": {
                "TrainingImage": wf.XGBOOST_IMAGE.format(region=tuning.region),
                "TrainingInputMode": "File",
            },
            "RoleArn": _role(tuning.account),
            "OutputDataConfig": {"S3OutputPath": f"s3://{_bucket(tuning.account)}/hpo/"},
            "ResourceConfig": {"InstanceType": tuning.instance_type, "InstanceCount": 1, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        "Tags": [{"Key": "team", "Value": tuning.team}, {"Key": "project", "Value": tuning.name}] + _knobs(**knobs),
    }
    if tuning.warm_start_parents:
        request["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in tuning.warm_start_parents],
            "WarmStartType": "IdenticalDataAndAlgorithm",
        }
    return request


# --- host metrics ------------------------------------------------------------------------------------


def _stat(name: str, dims: list[dict], stamp: float, stats: tuple[float, float, float, float]) -> dict:
    count, total, low, high = stats
    return {
        "MetricName": name,
        "Dimensions": dims,
        "Timestamp": datetime.fromtimestamp(stamp, UTC),
        "StatisticValues": {
            "SampleCount": float(count),
            "Sum": float(total),
            "Minimum": float(low),
            "Maximum": float(high),
        },
        "Unit": "Percent",
    }


def _sets(name: str, dims: list[dict], values: np.ndarray, minutes: np.ndarray, detail_from: float) -> list[dict]:
    """Hourly statistic sets (stamped at the hour's first minute the job ran) before ``detail_from``, then one a
    minute; the values are what AWS publishes (summed over vCPUs/GPUs where AWS sums)."""
    out = []
    old = minutes < detail_from
    if old.any():
        hours = (minutes[old] // 3600).astype(np.int64)
        vals, stamps = values[old], minutes[old]
        starts = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]])
        ends = np.r_[starts[1:], len(hours)]
        for a, b in zip(starts, ends, strict=True):
            chunk = vals[a:b]
            out.append(_stat(name, dims, stamps[a], (b - a, chunk.sum(), chunk.min(), chunk.max())))
    for value, stamp in zip(values[~old], minutes[~old], strict=True):
        out.append(_stat(name, dims, stamp, (1, value, value, value)))
    return out


def job_metrics(job: wf.Job, now: datetime) -> tuple[list[dict], list[dict]]:
    """(datums of every host, the per-host summary), for the minutes the job ran."""
    minutes = wf.job_minutes(job, now)
    now_minute = fl.floor_minute(now)
    detail_from = (now_minute.replace(minute=0) - timedelta(hours=fl.MINUTE_DETAIL_HOURS)).timestamp()
    if job.hourly:
        detail_from = float("inf")
    data, hosts = [], []
    for index, (host, instance_type) in enumerate(job.hosts):
        s = wf.host_series(job, index, instance_type, minutes)
        dims = [{"Name": "Host", "Value": host}]
        data += _sets("CPUUtilization", dims, s["cpu_pct"] * s["vcpus"], minutes, detail_from)
        data += _sets("MemoryUtilization", dims, s["memory_pct"], minutes, detail_from)
        data += _sets("DiskUtilization", dims, s["disk_pct"], minutes, detail_from)
        if "gpu_pct" in s:
            data += _sets("GPUUtilization", dims, s["gpu_pct"] * s["gpus"], minutes, detail_from)
            data += _sets("GPUMemoryUtilization", dims, s["gpu_memory_pct"] * s["gpus"], minutes, detail_from)
        hosts.append(
            {
                "host": host,
                "instance_type": instance_type,
                "vcpus": int(s["vcpus"]),
                "gpus": int(s["gpus"]),
                "minutes": len(minutes),
                "cpu_util_pct": round(float(s["cpu_pct"].mean()), 4) if len(minutes) else None,
                "gpu_util_pct": round(float(s["gpu_pct"].mean()), 4) if "gpu_pct" in s and len(minutes) else None,
                "memory_util_pct": round(float(s["memory_pct"].mean()), 4) if len(minutes) else None,
            }
        )
    return data, hosts


def job_summary(job: wf.Job, now: datetime, hosts: list[dict]) -> dict:
    times = job.timeline(now)
    gpu = [h["gpu_util_pct"] for h in hosts if h["gpu_util_pct"] is not None]
    cpu = [h["cpu_util_pct"] for h in hosts if h["cpu_util_pct"] is not None]
    return {
        "kind": job.kind,
        "name": job.name,
        "arn": f"arn:aws:sagemaker:{job.region}:{job.account}:{job.kind}-job/{job.name.lower()}",
        "account": job.account,
        "region": job.region,
        "instance_type": job.instance_type,
        "instance_count": job.count,
        "instance_groups": [
            {"name": g.name, "instance_type": g.instance_type, "instance_count": g.count} for g in job.groups
        ],
        "created": iso(times["created"]),
        "start": iso(times["start"]),
        "end": iso(times["end"]),
        "status": job.final_status(),
        "failure_reason": job.failure_reason,
        "spot": job.spot,
        "training_seconds": training_seconds(job, now) if job.kind == "training" else None,
        "billable_seconds": billable_seconds(job, now) if job.kind == "training" else None,
        "tuning_job": job.tuning,
        "family": job.project,
        "image": job.image.format(region=job.region),
        "tags": {t["Key"]: t["Value"] for t in _tags(job)},
        "instance_hours": round(sum(h["minutes"] for h in hosts) / 60, 4),
        "hosts": hosts,
        "cpu_util_pct": round(sum(cpu) / len(cpu), 4) if cpu else None,
        "gpu_util_pct": round(sum(gpu) / len(gpu), 4) if gpu else None,
    }


class Batcher:
    """Collects datums per (account, region, namespace) and hands PutMetricData-sized batches to the sink."""

    def __init__(self, sink) -> None:
        self.sink = sink
        self.pending: dict[tuple, list[dict]] = defaultdict(list)
        self.datapoints = 0
        self.calls = 0

    def add(self, account: str, region: str, namespace: str, data: list[dict]) -> None:
        queue = self.pending[(account, region, namespace)]
        queue += data
        self.datapoints += len(data)
        while len(queue) >= PUT_BATCH:
            self.sink(account, region, namespace, queue[:PUT_BATCH])
            del queue[:PUT_BATCH]
            self.calls += 1

    def flush(self) -> None:
        for (account, region, namespace), queue in self.pending.items():
            if queue:
                self.sink(account, region, namespace, list(queue))
                self.calls += 1
                queue.clear()


# --- notebooks, Studio, CloudTrail ---------------------------------------------------------------------


def notebook_created(notebook: wf.Notebook, now: datetime) -> datetime:
    created = fl.floor_minute(now) - timedelta(days=notebook.created_days_ago)
    return created.replace(hour=8, minute=0) if notebook.office_hours else created


def notebook_spans(notebook: wf.Notebook, now: datetime) -> list[tuple[datetime, datetime | None]]:
    """Running spans from creation (CreateNotebookInstance starts it) to now; the open one last."""
    created = notebook_created(notebook, now)
    if notebook.office_hours:
        spans = [(created, created + timedelta(minutes=45))]  # set up, then stopped until the next office day
        return spans + [s for s in wf.office_spans(notebook, now) if s[0] > created + timedelta(minutes=45)]
    if notebook.stopped_days_ago is not None:
        return [(created, fl.floor_minute(now) - timedelta(days=notebook.stopped_days_ago))]
    return [(created, None)]


def notebook_events(notebook: wf.Notebook, now: datetime) -> list[dict]:
    """Backdated Start/Stop events after the creation (recorded by CreateNotebookInstance itself)."""
    events = []
    for index, (start, end) in enumerate(notebook_spans(notebook, now)):
        if index:
            events.append(("StartNotebookInstance", start))
        if end is not None:
            events.append(("StopNotebookInstance", end))
    return [
        {
            "account": notebook.account,
            "region": notebook.region,
            "event_name": name,
            "event_time": iso(moment),
            "request_parameters": {"NotebookInstanceName": notebook.name},
            "username": ADMIN if name == "StartNotebookInstance" else "sagemaker-autostop",
        }
        for name, moment in events
    ]


def auto_stop_script(content: str) -> bool:
    return "autostop.py" in content and "IDLE_TIME" in content


def seed_notebooks(sm, place: tuple[str, str], now: datetime) -> tuple[list[dict], list[dict]]:
    summaries, events = [], []
    for name, script in wf.LIFECYCLE_CONFIGS.items():
        sm.create_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=name, OnStart=[{"Content": base64.b64encode(script.encode()).decode()}]
        )
    for notebook in wf.NOTEBOOKS:
        if (notebook.account, notebook.region) != place:
            continue
        spans = notebook_spans(notebook, now)
        status = "InService" if spans[-1][1] is None else "Stopped"
        request = {
            "NotebookInstanceName": notebook.name,
            "InstanceType": notebook.instance_type,
            "RoleArn": _role(notebook.account),
            "VolumeSizeInGB": 50,
            "Tags": [{"Key": "team", "Value": notebook.team}]
            + _knobs(
                status=status,
                creationTime=iso(spans[0][0]),
                lastModifiedTime=iso(spans[-1][1] or spans[-1][0]),
            ),
        }
        if notebook.lifecycle_config:
            request["LifecycleConfigName"] = notebook.lifecycle_config
        sm.create_notebook_instance(**request)
        events += notebook_events(notebook, now)
        script = wf.LIFECYCLE_CONFIGS.get(notebook.lifecycle_config or "", "")
        summaries.append(
            {
                "kind": "notebook",
                "name": notebook.name,
                "account": notebook.account,
                "region": notebook.region,
                "instance_type": notebook.instance_type,
                "status": status,
                "created": iso(spans[0][0]),
                "lifecycle_config": notebook.lifecycle_config,
                "auto_stop": auto_stop_script(script),
                "tags": {"team": notebook.team},
                "spans": [[iso(a), iso(b)] for a, b in spans],
                "running_hours": round(
                    sum(((b or fl.floor_minute(now)) - a).total_seconds() for a, b in spans) / 3600, 4
                ),
            }
        )
    return summaries, events


def seed_studio(sm, place: tuple[str, str], now: datetime) -> tuple[list[dict], list[dict], list[dict]]:
    domains, apps, events = [], [], []
    anchor = fl.floor_minute(now)
    for domain in wf.DOMAINS:
        if (domain.account, domain.region) != place:
            continue
        user_settings: dict = {"ExecutionRole": _role(domain.account)}
        if domain.idle_shutdown:
            user_settings["JupyterLabAppSettings"] = {
                "AppLifecycleManagement": {
                    "IdleSettings": {
                        "LifecycleManagement": "ENABLED",
                        "IdleTimeoutInMinutes": 60,
                        "MinIdleTimeoutInMinutes": 60,
                        "MaxIdleTimeoutInMinutes": 240,
                    }
                }
            }
        sm.create_domain(
            DomainName=domain.name,
            AuthMode="IAM",
            DefaultUserSettings=user_settings,
            SubnetIds=["subnet-0sandbox"],
            VpcId="vpc-0sandbox",
        )
        for space, timeout in domain.spaces:
            settings: dict = {"AppType": "JupyterLab"}
            if timeout:
                settings["JupyterLabAppSettings"] = {
                    "AppLifecycleManagement": {"IdleSettings": {"IdleTimeoutInMinutes": timeout}}
                }
            sm.create_space(DomainId=domain.domain_id, SpaceName=space, SpaceSettings=settings)
        domains.append(
            {
                "name": domain.name,
                "domain_id": domain.domain_id,
                "account": domain.account,
                "region": domain.region,
                "idle_shutdown": domain.idle_shutdown,
                "spaces": [{"name": s, "idle_timeout_minutes": t} for s, t in domain.spaces],
            }
        )
    by_name = {d.name: d for d in wf.DOMAINS}
    for app in wf.STUDIO_APPS:
        if (app.account, app.region) != place:
            continue
        domain = by_name[app.domain]
        created = anchor - timedelta(hours=app.created_hours_ago)
        deleted = None if app.deleted_hours_ago is None else anchor - timedelta(hours=app.deleted_hours_ago)
        knobs = {"creationTime": iso(created), "deletedTime": iso(deleted)}
        sm.create_app(
            DomainId=domain.domain_id,
            SpaceName=app.space,
            AppType="JupyterLab",
            AppName=app.app_name,
            ResourceSpec={"InstanceType": app.instance_type},
            Tags=_knobs(**knobs),
        )
        if deleted:
            events.append(
                {
                    "account": app.account,
                    "region": app.region,
                    "event_name": "DeleteApp",
                    "event_time": iso(deleted),
                    "request_parameters": {
                        "DomainId": domain.domain_id,
                        "SpaceName": app.space,
                        "AppType": "JupyterLab",
                        "AppName": app.app_name,
                    },
                    "username": ADMIN,
                }
            )
        timeout = dict(domain.spaces).get(app.space)
        apps.append(
            {
                "kind": "studio-app",
                "name": app.app_name,
                "domain_id": domain.domain_id,
                "space": app.space,
                "account": app.account,
                "region": app.region,
                "app_type": "JupyterLab",
                "instance_type": app.instance_type,
                "status": "Deleted" if deleted else "InService",
                "created": iso(created),
                "deleted": iso(deleted),
                "auto_stop": bool(domain.idle_shutdown and timeout),
                "running_hours": round(((deleted or anchor) - created).total_seconds() / 3600, 4),
            }
        )
    return domains, apps, events


def _post_events(endpoint_url: str, events: list[dict]) -> None:
    for i in range(0, len(events), 500):
        body = json.dumps({"events": events[i : i + 500]}).encode()
        request = urllib.request.Request(f"{endpoint_url}/_sandbox/cloudtrail", data=body, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=60):  # noqa: S310 - the sandbox's own control route
            pass


def seed_job_log_groups(endpoint_url: str, places, now: datetime) -> int:
    """The job and notebook log groups, never expiring, where the endpoint seeding has not created them."""
    created = 0
    for account, region in sorted(places):
        logs = client("logs", endpoint_url, region, account)
        pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/aws/sagemaker/")
        existing = {group["logGroupName"] for page in pages for group in page["logGroups"]}
        for name, gigabytes, group_class in JOB_LOG_GROUPS:
            if name in existing:
                continue
            logs.create_log_group(
                logGroupName=name,
                logGroupClass=group_class,
                tags={
                    "sandbox:storedBytes": str(int(gigabytes * 1e9)),
                    "sandbox:creationTime": (now - timedelta(days=400)).isoformat(),
                },
            )
            created += 1
    return created


# --- putting it together ---------------------------------------------------------------------------------


def _create_job(sm, job: wf.Job, now: datetime) -> None:
    request = job_request(job, now)
    {
        "training": sm.create_training_job,
        "processing": sm.create_processing_job,
        "transform": sm.create_transform_job,
    }[job.kind](**request)


def seed_workloads(
    endpoint_url: str,
    now: datetime,
    sink: Callable[[str, str, str, list[dict]], None],
    progress: Callable[[str], None] = print,
    training_jobs: int | None = None,
) -> dict:
    """Create the workloads; returns the summary ``fleet_summary`` publishes under ``"workloads"`` (what tests
    recompute from). ``training_jobs``: generate that many extra training jobs (benchmarks)."""
    jobs = wf.demo_jobs(now)
    generated = wf.generated_jobs(training_jobs or 0, now)
    places = {(j.account, j.region) for j in jobs + generated}
    places |= {(n.account, n.region) for n in wf.NOTEBOOKS} | {(d.account, d.region) for d in wf.DOMAINS}
    sms = {place: client("sagemaker", endpoint_url, place[1], place[0]) for place in places}
    summary: dict = {
        "jobs": [],
        "tuning_jobs": [],
        "notebooks": [],
        "studio_apps": [],
        "domains": [],
        "lifecycle_configs": {name: auto_stop_script(s) for name, s in wf.LIFECYCLE_CONFIGS.items()},
        "host_dimension": "Host = <job>/algo-<n> for training, processing and transform jobs",
        "namespaces": wf.NAMESPACES,
    }
    events: list[dict] = []
    for place in sorted(places):
        if any((n.account, n.region) == place for n in wf.NOTEBOOKS):
            notebooks, notebook_events_ = seed_notebooks(sms[place], place, now)
            summary["notebooks"] += notebooks
            events += notebook_events_
        domains, apps, app_events = seed_studio(sms[place], place, now)
        summary["domains"] += domains
        summary["studio_apps"] += apps
        events += app_events
    for tuning in wf.TUNINGS:
        sms[(tuning.account, tuning.region)].create_hyper_parameter_tuning_job(**tuning_request(tuning, now))
        children = [c.name for c in tuning.children()]
        summary["tuning_jobs"].append(
            {
                "name": tuning.name,
                "account": tuning.account,
                "region": tuning.region,
                "strategy": tuning.strategy,
                "max_parallel_jobs": tuning.max_parallel,
                "max_jobs": tuning.max_jobs,
                "warm_start_parents": list(tuning.warm_start_parents),
                "status": "Completed" if all(c.minutes is not None for c in tuning.children()) else "InProgress",
                "children": children,
            }
        )
    batcher = Batcher(sink)
    for job in jobs:
        _create_job(sms[(job.account, job.region)], job, now)
        data, hosts = job_metrics(job, now)
        batcher.add(job.account, job.region, wf.NAMESPACES[job.kind], data)
        summary["jobs"].append(job_summary(job, now, hosts))
    if generated:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda j: _create_job(sms[(j.account, j.region)], j, now), generated))
        for job in generated:
            data, _ = job_metrics(job, now)
            batcher.add(job.account, job.region, wf.NAMESPACES[job.kind], data)
    batcher.flush()
    _post_events(endpoint_url, events)
    log_groups = seed_job_log_groups(endpoint_url, places, now)
    summary["generated_training_jobs"] = len(generated)
    summary["datapoints"] = batcher.datapoints
    summary["cloudtrail_events"] = len(events)
    progress(
        f"  workloads: {len(jobs)} jobs ({len(summary['tuning_jobs'])} tuning), {len(generated)} generated training "
        f"jobs, {len(summary['notebooks'])} notebook instances, {len(summary['studio_apps'])} Studio apps, "
        f"{batcher.datapoints:,} host statistic sets, {len(events)} CloudTrail events, {log_groups} new log groups"
    )
    return summary


def publish_running_jobs(sink, minute: datetime, seeded_at: datetime) -> int:
    """Publish the host metrics of the minute starting at ``minute`` for every demo job still running (the CLI's
    live loop can call this next to the endpoints' minute); the values are those the history would hold."""
    sent = 0
    stamp = np.array([fl.floor_minute(minute).timestamp()])
    for job in wf.demo_jobs(seeded_at):
        if job.minutes is not None or stamp[0] < job.timeline(seeded_at)["start"].timestamp():
            continue
        data = []
        for index, (host, instance_type) in enumerate(job.hosts):
            s = wf.host_series(job, index, instance_type, stamp)
            dims = [{"Name": "Host", "Value": host}]
            data += _sets("CPUUtilization", dims, s["cpu_pct"] * s["vcpus"], stamp, 0.0)
            data += _sets("MemoryUtilization", dims, s["memory_pct"], stamp, 0.0)
            data += _sets("DiskUtilization", dims, s["disk_pct"], stamp, 0.0)
            if "gpu_pct" in s:
                data += _sets("GPUUtilization", dims, s["gpu_pct"] * s["gpus"], stamp, 0.0)
                data += _sets("GPUMemoryUtilization", dims, s["gpu_memory_pct"] * s["gpus"], stamp, 0.0)
        sink(job.account, job.region, wf.NAMESPACES[job.kind], data)
        sent += len(data)
    return sent
