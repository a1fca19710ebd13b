"""Jobs, notebook instances and Studio apps in the sandbox (sandbox/jobs.py), over HTTP with plain boto3 on a fresh
server: the ``sandbox:`` knobs round-trip and stay hidden, running and ended jobs, List* filter -> sort -> paginate,
tuning children and counters, notebook lifecycle configs, Studio apps and spaces, and their CloudTrail events."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from sandbox.clients import client
from sandbox.server import SandboxServer

ACCOUNT = "313131313131"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def server():
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sm(server):
    return client("sagemaker", server.url, REGION, ACCOUNT)


@pytest.fixture(scope="module")
def trail(server):
    return client("cloudtrail", server.url, REGION, ACCOUNT)


def knobs(**values) -> list[dict]:
    return [
        {"Key": f"sandbox:{k}", "Value": v.isoformat() if isinstance(v, datetime) else str(v)}
        for k, v in values.items()
    ]


def training(sm, name: str, tags=(), instance_type="ml.p4d.24xlarge", count=2, **extra) -> str:
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3",
            "TrainingInputMode": "File",
        },
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": 100},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "Tags": [{"Key": "team", "Value": "nlp"}, *tags],
        **extra,
    }
    return sm.create_training_job(**request)["TrainingJobArn"]


def test_training_knobs_round_trip_and_stay_hidden(sm):
    start, end = NOW - timedelta(hours=10), NOW - timedelta(hours=4)
    arn = training(
        sm,
        "knobbed-spot",
        knobs(creationTime=start - timedelta(minutes=5), startTime=start, endTime=end, billableSeconds=7560),
        EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 86400, "MaxWaitTimeInSeconds": 172800},
    )
    described = sm.describe_training_job(TrainingJobName="knobbed-spot")
    assert described["TrainingJobStatus"] == "Completed"
    assert described["SecondaryStatus"] == "Completed"
    assert described["CreationTime"] == start - timedelta(minutes=5)
    assert described["TrainingStartTime"] == start
    assert described["TrainingEndTime"] == end
    assert described["LastModifiedTime"] == end
    assert described["TrainingTimeInSeconds"] == (end - start).total_seconds() == 21600
    assert described["BillableTimeInSeconds"] == 7560
    assert described["EnableManagedSpotTraining"] is True
    assert described["ResourceConfig"] == {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2, "VolumeSizeInGB": 100}
    assert described["StoppingCondition"]["MaxWaitTimeInSeconds"] == 172800
    assert described["AlgorithmSpecification"]["TrainingImage"].endswith("pytorch-training:2.3")
    assert "Tags" not in described and "MetricDefinitions" not in described["AlgorithmSpecification"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "nlp"}]


def test_billable_time_is_the_training_time_without_spot_and_absent_while_running(sm):
    start = NOW - timedelta(hours=3)
    training(sm, "on-demand", knobs(startTime=start, endTime=start + timedelta(minutes=90)))
    ended = sm.describe_training_job(TrainingJobName="on-demand")
    assert ended["BillableTimeInSeconds"] == ended["TrainingTimeInSeconds"] == 5400
    training(sm, "still-running", knobs(creationTime=start, startTime=start))
    running = sm.describe_training_job(TrainingJobName="still-running")
    assert running["TrainingJobStatus"] == "InProgress" and running["SecondaryStatus"] == "Training"
    for absent in ("TrainingEndTime", "TrainingTimeInSeconds", "BillableTimeInSeconds", "ModelArtifacts"):
        assert absent not in running


def test_failed_job_and_stop(sm):
    start = NOW - timedelta(hours=2)
    training(
        sm,
        "oom",
        knobs(
            status="Failed",
            failureReason="AlgorithmError: CUDA out of memory",
            startTime=start,
            endTime=start + timedelta(minutes=40),
        ),
    )
    failed = sm.describe_training_job(TrainingJobName="oom")
    assert (failed["TrainingJobStatus"], failed["FailureReason"]) == ("Failed", "AlgorithmError: CUDA out of memory")
    assert failed["TrainingTimeInSeconds"] == 2400
    training(sm, "to-stop", knobs(startTime=start))
    sm.stop_training_job(TrainingJobName="to-stop")
    stopped = sm.describe_training_job(TrainingJobName="to-stop")
    assert stopped["TrainingJobStatus"] == "Stopped" and stopped["TrainingEndTime"] >= start
    with pytest.raises(ClientError):
        sm.stop_training_job(TrainingJobName="to-stop")
    with pytest.raises(ClientError) as missing:
        sm.describe_training_job(TrainingJobName="never-created")
    assert missing.value.response["Error"]["Code"] == "ValidationException"


def test_a_later_end_time_knob_ends_a_running_job(sm):
    start = NOW - timedelta(hours=5)
    arn = training(sm, "ends-later", knobs(startTime=start))
    sm.add_tags(ResourceArn=arn, Tags=knobs(endTime=start + timedelta(hours=2)))
    described = sm.describe_training_job(TrainingJobName="ends-later")
    assert described["TrainingJobStatus"] == "Completed" and described["TrainingTimeInSeconds"] == 7200
    assert all(not t["Key"].startswith("sandbox:") for t in sm.list_tags(ResourceArn=arn)["Tags"])


def test_instance_groups_and_current_instance_types(sm):
    groups = [
        {"InstanceGroupName": "loader", "InstanceType": "ml.c5.4xlarge", "InstanceCount": 1},
        {"InstanceGroupName": "trainer", "InstanceType": "ml.g5.12xlarge", "InstanceCount": 2},
    ]
    training(
        sm, "hetero", ResourceConfig={"InstanceGroups": groups, "VolumeSizeInGB": 30, "KeepAlivePeriodInSeconds": 600}
    )
    config = sm.describe_training_job(TrainingJobName="hetero")["ResourceConfig"]
    assert config["InstanceGroups"] == groups and config["KeepAlivePeriodInSeconds"] == 600
    training(sm, "trainium", instance_type="ml.trn1.32xlarge", count=1)
    assert sm.describe_training_job(TrainingJobName="trainium")["ResourceConfig"]["InstanceType"] == "ml.trn1.32xlarge"
    with pytest.raises(ClientError):
        training(sm, "bad-type", instance_type="p4d.24xlarge")


def test_processing_and_transform_keep_their_resources(sm):
    start = NOW - timedelta(hours=6)
    cluster = {"InstanceCount": 2, "InstanceType": "ml.m5.4xlarge", "VolumeSizeInGB": 30}
    sm.create_processing_job(
        ProcessingJobName="features",
        ProcessingResources={"ClusterConfig": cluster},
        AppSpecification={"ImageUri": "sklearn"},
        RoleArn=ROLE,
        Tags=knobs(startTime=start, endTime=start + timedelta(minutes=70)),
    )
    processing = sm.describe_processing_job(ProcessingJobName="features")
    assert processing["ProcessingResources"]["ClusterConfig"] == cluster
    assert processing["ProcessingJobStatus"] == "Completed"
    assert processing["ProcessingEndTime"] - processing["ProcessingStartTime"] == timedelta(minutes=70)
    assert "Tags" not in processing
    sm.create_transform_job(
        TransformJobName="scores",
        ModelName="xgb-model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
        TransformOutput={"S3OutputPath": "s3://b/out"},
        TransformResources={"InstanceType": "ml.c5.2xlarge", "InstanceCount": 4},
        Tags=knobs(startTime=start),
    )
    transform = sm.describe_transform_job(TransformJobName="scores")
    assert transform["TransformResources"] == {"InstanceType": "ml.c5.2xlarge", "InstanceCount": 4}
    assert transform["TransformJobStatus"] == "InProgress" and "TransformEndTime" not in transform
    summary = sm.list_transform_jobs(NameContains="scores")["TransformJobSummaries"]
    assert [s["TransformJobStatus"] for s in summary] == ["InProgress"]


def test_list_filters_then_sorts_then_paginates(sm):
    base = NOW - timedelta(days=5)
    for i in range(23):
        created = base + timedelta(minutes=17 * i)
        end = None if i % 4 == 0 else created + timedelta(minutes=30)
        training(
            sm,
            f"page-{(i * 7) % 23:02d}",
            knobs(creationTime=created, startTime=created, endTime=end)
            if end
            else knobs(creationTime=created, startTime=created),
        )
    expected = sorted((base + timedelta(minutes=17 * i), f"page-{(i * 7) % 23:02d}", i % 4 != 0) for i in range(23))
    after = base + timedelta(minutes=17 * 3 + 1)  # jobs 4..22

    def pages(**query):
        names, token, calls = [], None, 0
        while True:
            response = sm.list_training_jobs(**query, **({"NextToken": token} if token else {}))
            calls += 1
            assert len(response["TrainingJobSummaries"]) <= query.get("MaxResults", 10)
            names += [s["TrainingJobName"] for s in response["TrainingJobSummaries"]]
            token = response.get("NextToken")
            if not token:
                return names, calls

    names, calls = pages(NameContains="page-", CreationTimeAfter=after, MaxResults=4)
    wanted = [name for created, name, _ in expected if created > after]
    assert names == wanted and calls == -(-len(wanted) // 4)  # creation time, ascending: AWS's default
    names, _ = pages(
        NameContains="PAGE-", StatusEquals="Completed", SortBy="Name", SortOrder="Descending", MaxResults=5
    )
    assert names == sorted((name for _, name, done in expected if done), reverse=True)
    names, _ = pages(
        NameContains="page-", StatusEquals="InProgress", CreationTimeBefore=base + timedelta(days=1), MaxResults=100
    )
    assert names == [name for _, name, done in expected if not done]
    with pytest.raises(ClientError):
        sm.list_training_jobs(MaxResults=101)
    summary = sm.list_training_jobs(NameContains="page-", SortBy="CreationTime", MaxResults=1)["TrainingJobSummaries"][
        0
    ]
    assert set(summary) >= {
        "TrainingJobName",
        "TrainingJobArn",
        "CreationTime",
        "LastModifiedTime",
        "TrainingJobStatus",
        "SecondaryStatus",
    }


def test_last_modified_filters(sm):
    start = NOW - timedelta(days=20)
    training(sm, "old-modified", knobs(creationTime=start, startTime=start, endTime=start + timedelta(hours=1)))
    names = [
        s["TrainingJobName"]
        for s in sm.list_training_jobs(LastModifiedTimeBefore=start + timedelta(hours=2), MaxResults=100)[
            "TrainingJobSummaries"
        ]
    ]
    assert names == ["old-modified"]
    recent = sm.list_training_jobs(LastModifiedTimeAfter=start + timedelta(hours=2), MaxResults=100)[
        "TrainingJobSummaries"
    ]
    assert "old-modified" not in [s["TrainingJobName"] for s in recent]


def test_tuning_children_counters_and_status(sm):
    start = NOW - timedelta(hours=8)
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo",
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 12, "MaxParallelTrainingJobs": 4},
        },
        TrainingJobDefinition={
            "AlgorithmSpecification": {"TrainingImage": "xgboost", "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://b"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        Tags=knobs(creationTime=start),
    )
    statuses = ["Completed"] * 8 + ["Failed", "Stopped", "InProgress", "InProgress"]
    for i, status in enumerate(statuses):
        began = start + timedelta(minutes=5 + i)
        ended = None if status == "InProgress" else began + timedelta(minutes=25)
        values = {"tuningJob": "hpo", "startTime": began, "creationTime": began, "status": status}
        if ended:
            values["endTime"] = ended
        training(
            sm,
            f"hpo-{i + 1:03d}-abcd{i:04d}",
            knobs(**values),
            instance_type="ml.m5.xlarge",
            count=1,
            HyperParameters={"eta": f"0.{i + 1}"},
        )
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo")
    assert described["HyperParameterTuningJobStatus"] == "InProgress"
    assert described["TrainingJobStatusCounters"] == {
        "Completed": 8,
        "InProgress": 2,
        "RetryableError": 0,
        "NonRetryableError": 1,
        "Stopped": 1,
    }
    assert described["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] == 4
    assert described["BestTrainingJob"]["TrainingJobStatus"] == "Completed"
    child = sm.describe_training_job(TrainingJobName="hpo-001-abcd0000")
    assert child["TuningJobArn"] == described["HyperParameterTuningJobArn"]
    names, token = [], None
    while True:
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="hpo",
            MaxResults=5,
            SortBy="Name",
            SortOrder="Ascending",
            **({"NextToken": token} if token else {}),
        )
        names += [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
        assert all(s["TuningJobName"] == "hpo" and "TunedHyperParameters" in s for s in page["TrainingJobSummaries"])
        token = page.get("NextToken")
        if not token:
            break
    assert names == sorted(f"hpo-{i + 1:03d}-abcd{i:04d}" for i in range(12))
    failed = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo", StatusEquals="Failed"
    )
    assert [s["TrainingJobName"] for s in failed["TrainingJobSummaries"]] == ["hpo-009-abcd0008"]
    listed = sm.list_hyper_parameter_tuning_jobs(NameContains="hpo")["HyperParameterTuningJobSummaries"]
    assert [(s["Strategy"], s["HyperParameterTuningJobStatus"]) for s in listed] == [("Random", "InProgress")]
    for i in (10, 11):
        sm.stop_training_job(TrainingJobName=f"hpo-{i + 1:03d}-abcd{i:04d}")
    done = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo")
    assert done["HyperParameterTuningJobStatus"] == "Completed" and done["TrainingJobStatusCounters"]["Stopped"] == 3


def test_notebook_instances_lifecycle_configs_and_cloudtrail(sm, trail):
    created = NOW - timedelta(days=21)
    script = "#!/bin/bash\nIDLE_TIME=3600\nwget .../auto-stop-idle/autostop.py\n"
    for i in range(7):
        sm.create_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=f"lc-{i}",
            OnStart=[{"Content": base64.b64encode(script.encode()).decode()}],
        )
    names, token = [], None
    while True:
        page = sm.list_notebook_instance_lifecycle_configs(
            MaxResults=3, SortBy="Name", **({"NextToken": token} if token else {})
        )
        names += [c["NotebookInstanceLifecycleConfigName"] for c in page["NotebookInstanceLifecycleConfigs"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == [f"lc-{i}" for i in range(7)]
    content = sm.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="lc-3")["OnStart"][0][
        "Content"
    ]
    assert base64.b64decode(content).decode() == script
    arn = sm.create_notebook_instance(
        NotebookInstanceName="gpu-nb",
        InstanceType="ml.g5.xlarge",
        RoleArn=ROLE,
        LifecycleConfigName="lc-3",
        Tags=[{"Key": "team", "Value": "research"}, *knobs(creationTime=created)],
    )["NotebookInstanceArn"]
    described = sm.describe_notebook_instance(NotebookInstanceName="gpu-nb")
    assert (described["InstanceType"], described["NotebookInstanceStatus"]) == ("ml.g5.xlarge", "InService")
    assert described["CreationTime"] == created and described["NotebookInstanceLifecycleConfigName"] == "lc-3"
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "research"}]
    sm.stop_notebook_instance(NotebookInstanceName="gpu-nb")
    stopped = sm.describe_notebook_instance(NotebookInstanceName="gpu-nb")
    assert stopped["NotebookInstanceStatus"] == "Stopped" and stopped["LastModifiedTime"] > created
    sm.start_notebook_instance(NotebookInstanceName="gpu-nb")
    sm.stop_notebook_instance(NotebookInstanceName="gpu-nb")
    sm.delete_notebook_instance(NotebookInstanceName="gpu-nb")
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": "gpu-nb"}])[
        "Events"
    ]
    assert [e["EventName"] for e in events] == [
        "DeleteNotebookInstance",
        "StopNotebookInstance",
        "StartNotebookInstance",
        "StopNotebookInstance",
        "CreateNotebookInstance",
    ]
    assert events[-1]["EventTime"] == created  # backdated to its creationTime knob
    assert all(r["ResourceType"] == "AWS::SageMaker::NotebookInstance" for e in events for r in e["Resources"])
    assert "sandbox:" not in events[-1]["CloudTrailEvent"]


def test_studio_apps_and_spaces(sm, trail):
    idle = {
        "LifecycleManagement": "ENABLED",
        "IdleTimeoutInMinutes": 60,
        "MinIdleTimeoutInMinutes": 60,
        "MaxIdleTimeoutInMinutes": 240,
    }
    sm.create_domain(
        DomainName="studio",
        AuthMode="IAM",
        DefaultUserSettings={
            "ExecutionRole": ROLE,
            "JupyterLabAppSettings": {"AppLifecycleManagement": {"IdleSettings": idle}},
        },
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )
    domain_id = sm.list_domains()["Domains"][0]["DomainId"]
    lifecycle = {"IdleSettings": {"IdleTimeoutInMinutes": 90}}
    sm.create_space(
        DomainId=domain_id,
        SpaceName="lab",
        SpaceSettings={"AppType": "JupyterLab", "JupyterLabAppSettings": {"AppLifecycleManagement": lifecycle}},
    )
    sm.create_space(DomainId=domain_id, SpaceName="plain", SpaceSettings={"AppType": "JupyterLab"})
    described_space = sm.describe_space(DomainId=domain_id, SpaceName="lab")
    assert described_space["SpaceSettings"]["JupyterLabAppSettings"]["AppLifecycleManagement"] == lifecycle
    assert sorted(s["SpaceName"] for s in sm.list_spaces(DomainIdEquals=domain_id)["Spaces"]) == ["lab", "plain"]
    domain = sm.describe_domain(DomainId=domain_id)
    assert domain["DefaultUserSettings"]["JupyterLabAppSettings"]["AppLifecycleManagement"]["IdleSettings"] == idle
    created = NOW - timedelta(days=9)
    app = {"DomainId": domain_id, "SpaceName": "plain", "AppType": "JupyterLab", "AppName": "default"}
    arn = sm.create_app(
        **app,
        ResourceSpec={"InstanceType": "ml.g5.xlarge"},
        Tags=[{"Key": "team", "Value": "nlp"}, *knobs(creationTime=created)],
    )["AppArn"]
    described = sm.describe_app(**app)
    assert (described["Status"], described["ResourceSpec"]["InstanceType"], described["CreationTime"]) == (
        "InService",
        "ml.g5.xlarge",
        created,
    )
    assert described["AppArn"] == arn and sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "nlp"}]
    sm.create_app(
        DomainId=domain_id,
        SpaceName="lab",
        AppType="JupyterLab",
        AppName="default",
        ResourceSpec={"InstanceType": "ml.t3.medium"},
    )
    listed = sm.list_apps(DomainIdEquals=domain_id, SpaceNameEquals="plain")["Apps"]
    assert [(a["SpaceName"], a["Status"]) for a in listed] == [("plain", "InService")]
    sm.delete_app(**app)
    assert sm.describe_app(**app)["Status"] == "Deleted"
    assert {a["SpaceName"]: a["Status"] for a in sm.list_apps(DomainIdEquals=domain_id)["Apps"]} == {
        "plain": "Deleted",
        "lab": "InService",
    }
    with pytest.raises(ClientError):
        sm.create_app(DomainId=domain_id, SpaceName="missing", AppType="JupyterLab", AppName="default")
    with pytest.raises(ClientError):
        sm.describe_app(DomainId=domain_id, SpaceName="lab", AppType="JupyterLab", AppName="other")
    events = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceType", "AttributeValue": "AWS::SageMaker::App"}]
    )["Events"]
    assert [e["EventName"] for e in events] == ["DeleteApp", "CreateApp", "CreateApp"]
    assert events[-1]["EventTime"] == created


def test_list_notebook_instances_filters_by_time_and_paginates(sm):
    base = NOW - timedelta(days=40)
    for i in range(6):
        sm.create_notebook_instance(
            NotebookInstanceName=f"listed-nb-{i}",
            InstanceType="ml.t3.medium" if i % 2 else "ml.m6i.xlarge",
            RoleArn=ROLE,
            Tags=knobs(creationTime=base + timedelta(days=i), status="Stopped" if i % 3 == 0 else "InService"),
        )

    def names(**query):
        found, token = [], None
        while True:
            page = sm.list_notebook_instances(
                NameContains="listed-nb", MaxResults=2, **query, **({"NextToken": token} if token else {})
            )
            found += [n["NotebookInstanceName"] for n in page["NotebookInstances"]]
            token = page.get("NextToken")
            if not token:
                return found

    assert names() == [f"listed-nb-{i}" for i in reversed(range(6))]  # Name, Descending: AWS's default
    assert names(CreationTimeAfter=base + timedelta(days=2, hours=1), SortOrder="Ascending") == [
        "listed-nb-3",
        "listed-nb-4",
        "listed-nb-5",
    ]
    assert names(StatusEquals="Stopped", SortBy="CreationTime", SortOrder="Ascending") == ["listed-nb-0", "listed-nb-3"]
    assert names(LastModifiedTimeBefore=base + timedelta(days=1, hours=1)) == ["listed-nb-1", "listed-nb-0"]


def test_knobs_added_later_change_a_notebook(sm):
    arn = sm.create_notebook_instance(NotebookInstanceName="later-nb", InstanceType="ml.g5.xlarge", RoleArn=ROLE)[
        "NotebookInstanceArn"
    ]
    modified = NOW - timedelta(hours=1)
    sm.add_tags(
        ResourceArn=arn, Tags=[{"Key": "team", "Value": "x"}, *knobs(status="Stopped", lastModifiedTime=modified)]
    )
    described = sm.describe_notebook_instance(NotebookInstanceName="later-nb")
    assert (described["NotebookInstanceStatus"], described["LastModifiedTime"]) == ("Stopped", modified)
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "x"}]
