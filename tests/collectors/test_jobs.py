"""The jobs collector over HTTP against the sandbox: every kind once, idempotence, a running job updated, what a
job's description gives (family, framework, instance groups, spot, tuning parent, failure, tags), faults."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import runner
from collectors.jobs import family, framework
from collectors.models import TuningJob, Workload

REGION = "us-west-2"
PYTORCH = "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker"
XGBOOST = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1"


def knobs(**values) -> list[dict]:
    return [
        {"Key": f"sandbox:{k}", "Value": v.isoformat() if isinstance(v, datetime) else str(v)}
        for k, v in values.items()
    ]


def role(account) -> str:
    return f"arn:aws:iam::{account.account_id}:role/SageMakerExecution"


def training_job(account, name: str, *, start: datetime, end: datetime | None = None, **options) -> None:  # noqa: PLR0913
    resources = options.pop("resources", {"InstanceType": "ml.g5.12xlarge", "InstanceCount": 2, "VolumeSizeInGB": 50})
    extra = {
        k: v for k, v in {"creationTime": start - timedelta(minutes=4), "startTime": start, "endTime": end}.items() if v
    }
    account.sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": options.pop("image", PYTORCH), "TrainingInputMode": "File"},
        RoleArn=role(account),
        OutputDataConfig={"S3OutputPath": "s3://scratch-output/"},
        ResourceConfig=resources,
        StoppingCondition={"MaxRuntimeInSeconds": 86400, **options.pop("stopping", {})},
        EnableManagedSpotTraining=options.pop("spot", False),
        Tags=[{"Key": "team", "Value": "research"}, *knobs(**extra, **options)],
    )


@pytest.fixture
def hours_ago():
    now = datetime.now(UTC)
    return lambda hours: now - timedelta(hours=hours)


@pytest.fixture
def fleet(scratch, hours_ago):
    """One of each kind in the scratch account: a tuning job with two children, a heterogeneous training job, a
    spot job, a failed job, a processing and a transform job."""
    sm = scratch.sagemaker
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="xgb-hpo-261120-1000",
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
        },
        TrainingJobDefinition={
            "AlgorithmSpecification": {"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
            "RoleArn": role(scratch),
            "OutputDataConfig": {"S3OutputPath": "s3://scratch-output/"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        Tags=knobs(creationTime=hours_ago(9)),
    )
    for i in (1, 2):
        training_job(
            scratch,
            f"xgb-hpo-261120-1000-00{i}-0a1b2c3{i}",
            start=hours_ago(9 - i),
            end=hours_ago(8 - i),
            image=XGBOOST,
            resources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            tuningJob="xgb-hpo-261120-1000",
        )
    training_job(
        scratch,
        "llama-ft-2026-11-20-10-00-00-123",
        start=hours_ago(6),
        end=hours_ago(3),
        resources={
            "InstanceGroups": [
                {"InstanceGroupName": "gpu", "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1},
                {"InstanceGroupName": "data", "InstanceType": "ml.c5.4xlarge", "InstanceCount": 2},
            ],
            "VolumeSizeInGB": 100,
            "KeepAlivePeriodInSeconds": 1800,
        },
    )
    training_job(
        scratch,
        "spot-bert-2026-11-20-09-00-00-001",
        start=hours_ago(5),
        end=hours_ago(4),
        spot=True,
        stopping={"MaxWaitTimeInSeconds": 7200},
        billableSeconds=1080,
    )
    training_job(
        scratch, "broken-001", start=hours_ago(3), end=hours_ago(2.5), status="Failed", failureReason="OOM on algo-1"
    )
    sm.create_processing_job(
        ProcessingJobName="features-2026-11-20-08-00-00-000",
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.4xlarge", "VolumeSizeInGB": 30}
        },
        AppSpecification={"ImageUri": "173754725891.dkr.ecr.us-west-2.amazonaws.com/sagemaker-scikit-learn:1.2-1"},
        RoleArn=role(scratch),
        Tags=knobs(creationTime=hours_ago(7), startTime=hours_ago(7), endTime=hours_ago(6)),
    )
    sm.create_transform_job(
        TransformJobName="scoring-batch",
        ModelName="model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in/"}}},
        TransformOutput={"S3OutputPath": "s3://out/"},
        TransformResources={"InstanceType": "ml.c5.2xlarge", "InstanceCount": 4},
        # AWS's listing reports a LastModifiedTime after the end (the describe has none): an unchanged job must
        # still not be described again
        Tags=knobs(
            creationTime=hours_ago(4), startTime=hours_ago(4), endTime=hours_ago(3), lastModifiedTime=hours_ago(2.9)
        ),
    )
    return scratch


def test_names_group_reruns_and_images_name_frameworks():
    assert family("llama-ft-2026-11-20-10-00-00-123") == "llama-ft"
    assert family("pytorch-training-2026-11-20-10-00-00-123") == "pytorch-training"
    assert family("xgb-hpo-261120-1000-017-0a1b2c3d") == "xgb-hpo"
    assert family("xgb-hpo-261120-1000") == "xgb-hpo"
    assert family("nightly-001") == "nightly"
    assert family("resnet-50") == "resnet-50"  # a model size, not a counter
    assert framework(PYTORCH) == "pytorch"
    assert framework(XGBOOST) == "xgboost"
    hf = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:2.1.0-transformers4.36.0-gpu-py310"
    assert framework(hf) == "huggingface"
    assert framework("123456789012.dkr.ecr.us-east-1.amazonaws.com/our-trainer:latest") == ""


def test_every_kind_is_collected_once_with_what_its_description_says(fleet):
    result = runner.run(fleet, REGION, "jobs")
    details = result.details
    assert (details["training"], details["tuning"], details["processing"], details["transform"]) == (5, 1, 1, 1)
    assert details["errors"] == []
    jobs = {w.name: w for w in Workload.objects.filter(account=fleet)}
    assert len(jobs) == 7
    tuning = TuningJob.objects.get(account=fleet)
    assert (tuning.strategy, tuning.max_parallel_jobs, tuning.max_jobs) == ("Random", 2, 2)
    assert tuning.objective_metric == "validation:rmse"
    assert tuning.status_counters["Completed"] == 2
    children = [w for w in jobs.values() if w.tuning_job_id == tuning.pk]
    assert sorted(c.name for c in children) == ["xgb-hpo-261120-1000-001-0a1b2c31", "xgb-hpo-261120-1000-002-0a1b2c32"]
    assert {c.family for c in children} == {"xgb-hpo"} and {c.framework for c in children} == {"xgboost"}

    llama = jobs["llama-ft-2026-11-20-10-00-00-123"]
    assert (llama.family, llama.framework, llama.kind, llama.status) == ("llama-ft", "pytorch", "training", "Completed")
    assert llama.instance_groups == [
        {"name": "gpu", "instance_type": "ml.p4d.24xlarge", "instance_count": 1},
        {"name": "data", "instance_type": "ml.c5.4xlarge", "instance_count": 2},
    ]
    assert (llama.instance_type, llama.instance_count, llama.keep_alive_seconds) == ("ml.p4d.24xlarge", 3, 1800)
    assert llama.training_seconds == pytest.approx((llama.end_time - llama.start_time).total_seconds(), abs=1)
    assert llama.tags == {"team": "research"}  # the sandbox's knobs are not tags

    spot = jobs["spot-bert-2026-11-20-09-00-00-001"]
    assert spot.spot and spot.billable_seconds == 1080 and spot.training_seconds == pytest.approx(3600, abs=1)
    assert spot.max_wait_seconds == 7200 and spot.family == "spot-bert"
    broken = jobs["broken-001"]
    assert (broken.status, broken.failure_reason, broken.family) == ("Failed", "OOM on algo-1", "broken")

    features = jobs["features-2026-11-20-08-00-00-000"]
    assert (features.kind, features.instance_type, features.instance_count) == ("processing", "ml.m5.4xlarge", 2)
    assert features.framework == "sklearn" and features.end_time is not None
    scoring = jobs["scoring-batch"]
    assert (scoring.kind, scoring.instance_type, scoring.instance_count) == ("transform", "ml.c5.2xlarge", 4)


def test_collecting_again_adds_nothing_and_describes_nothing_unchanged(fleet, sandbox_control):
    runner.run(fleet, REGION, "jobs")
    snapshot = {w.name: (w.status, w.end_time, w.tags, w.first_seen) for w in Workload.objects.filter(account=fleet)}
    sandbox_control("DELETE", "calls")
    again = runner.run(fleet, REGION, "jobs")
    assert again.details["described"] == 0 and again.details["errors"] == []
    assert {
        w.name: (w.status, w.end_time, w.tags, w.first_seen) for w in Workload.objects.filter(account=fleet)
    } == snapshot
    assert TuningJob.objects.filter(account=fleet).count() == 1
    calls = {c["operation"] for c in sandbox_control("GET", "calls")["calls"] if c["account"] == fleet.account_id}
    assert not {op for op in calls if op.startswith("Describe")}


def test_a_running_job_is_refreshed_every_run_and_updated_when_it_ends(scratch, hours_ago):
    training_job(scratch, "pretrain-2026-11-20-07-00-00-000", start=hours_ago(30))  # no end: still running
    runner.run(scratch, REGION, "jobs")
    job = Workload.objects.get(account=scratch, name="pretrain-2026-11-20-07-00-00-000")
    assert (job.status, job.end_time, job.training_seconds) == ("InProgress", None, None)
    # Its LastModifiedTime is older than the re-read window: the InProgress listing still brings it every run.
    assert runner.run(scratch, REGION, "jobs").details["described"] == 1
    scratch.sagemaker.stop_training_job(TrainingJobName=job.name)
    result = runner.run(scratch, REGION, "jobs")
    job.refresh_from_db()
    assert result.details["updated"] == 1
    assert job.status == "Stopped" and job.end_time is not None and job.end_time > job.start_time
    assert job.training_seconds == pytest.approx((job.end_time - job.start_time).total_seconds(), abs=1)
    assert Workload.objects.filter(account=scratch).count() == 1
    assert runner.run(scratch, REGION, "jobs").details["described"] == 0  # ended: never described again


def test_a_job_that_cannot_be_described_is_listed_without_losing_the_others(fleet, sandbox_control):
    sandbox_control(
        "POST",
        "faults",
        {"operation": "DescribeTrainingJob", "error": "ValidationException", "body_contains": "broken-001"},
    )
    sandbox_control("POST", "faults", {"operation": "ListTags", "error": "AccessDeniedException", "count": 1})
    result = runner.run(fleet, REGION, "jobs")
    errors = {e["resource"]: e["error"] for e in result.details["errors"]}
    assert any("broken-001" in r and "ValidationException" in e for r, e in errors.items())
    assert any("(tags)" in r and "AccessDenied" in e for r, e in errors.items())
    assert result.details["training"] == 4
    assert not Workload.objects.filter(name="broken-001").exists()
    sandbox_control("DELETE", "faults")
    assert runner.run(fleet, REGION, "jobs").details["training"] >= 1
    assert Workload.objects.filter(name="broken-001").exists()


def test_throttling_that_outlasts_the_retries_fails_the_run(fleet, sandbox_control, retries_given_up_quickly):
    runner.run(fleet, REGION, "jobs")
    sandbox_control("POST", "faults", {"operation": "ListTrainingJobs", "error": "ThrottlingException", "count": 50})
    with pytest.raises(runner.CollectionFailed) as failed:
        runner.run(fleet, REGION, "jobs")
    assert failed.value.throttled


def test_the_seeded_demo_jobs_are_collected_as_the_seeding_summary_says(prod, research, sandbox):
    summary = sandbox["workloads"]
    for account in (prod, research):
        runner.run(account, "us-east-1", "jobs")
    jobs = [j for j in summary["jobs"] if j["region"] == "us-east-1"]
    stored = {(w.account.account_id, w.name): w for w in Workload.objects.select_related("account", "tuning_job")}
    assert len(stored) == len(jobs)
    for job in jobs:
        workload = stored[(job["account"], job["name"])]
        assert (workload.kind, workload.status, workload.family) == (job["kind"], job["status"], job["family"])
        assert workload.tags == job["tags"] and workload.spot == job["spot"]
        assert workload.failure_reason == (job["failure_reason"] or "")
        assert workload.billable_seconds == job["billable_seconds"]
        assert (workload.tuning_job.name if workload.tuning_job else None) == job["tuning_job"]
        assert workload.end_time == (datetime.fromisoformat(job["end"]) if job["end"] else None)
    for tuning in summary["tuning_jobs"]:
        row = TuningJob.objects.get(account__account_id=tuning["account"], name=tuning["name"])
        assert (row.strategy, row.max_parallel_jobs, row.max_jobs) == (
            tuning["strategy"],
            tuning["max_parallel_jobs"],
            tuning["max_jobs"],
        )
        assert sorted(row.children.values_list("name", flat=True)) == sorted(tuning["children"])
