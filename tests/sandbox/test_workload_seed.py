"""The demo's seeded workloads (sandbox/workload_seed.py), read back over HTTP with plain boto3 from the session
sandbox: the published summary matches what Describe*/List* return, the host metrics' per-vCPU/GPU means match the
summary, and the timelines, notebooks, Studio apps, CloudTrail history and log groups are what the fleet defines."""

import base64
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from estimator.catalog import hardware
from sandbox import fleet as fl
from sandbox import workload_fleet as wf
from sandbox import workload_seed as ws
from sandbox.cli import direct_metric_sink
from sandbox.clients import client
from sandbox.server import SandboxServer

NAMESPACES = {
    "training": "/aws/sagemaker/TrainingJobs",
    "processing": "/aws/sagemaker/ProcessingJobs",
    "transform": "/aws/sagemaker/TransformJobs",
}


@pytest.fixture(scope="module")
def workloads(sandbox):
    return sandbox["workloads"]


@pytest.fixture(scope="module")
def seeded_at(sandbox):
    return datetime.fromisoformat(sandbox["seeded_at"])


def sm_for(sandbox, item):
    return client("sagemaker", sandbox["url"], item["region"], item["account"])


def at(value):
    return datetime.fromisoformat(value) if value else None


def test_the_summary_lists_the_fleet_s_workloads(workloads, seeded_at):
    jobs = wf.demo_jobs(seeded_at)
    assert [j["name"] for j in workloads["jobs"]] == [j.name for j in jobs]
    kinds = [j["kind"] for j in workloads["jobs"]]
    assert kinds.count("processing") == 3 and kinds.count("transform") == 2
    assert sum(1 for j in workloads["jobs"] if j["tuning_job"] == "xgb-hpo") == 20
    assert {(t["name"], t["strategy"], t["max_parallel_jobs"]) for t in workloads["tuning_jobs"]} == {
        ("xgb-hpo", "Random", 10),
        ("churn-hpo", "Bayesian", 8),
    }
    assert {n["name"] for n in workloads["notebooks"]} == {"research-nb", "team-nb", "old-experiments-nb"}
    assert len(workloads["studio_apps"]) == 3 and workloads["generated_training_jobs"] == 0


def test_describe_returns_what_the_summary_says(sandbox, workloads):
    describe = {
        "training": ("describe_training_job", "TrainingJobName", "TrainingJobStatus", "Training"),
        "processing": ("describe_processing_job", "ProcessingJobName", "ProcessingJobStatus", "Processing"),
        "transform": ("describe_transform_job", "TransformJobName", "TransformJobStatus", "Transform"),
    }
    for job in workloads["jobs"]:
        method, member, status, prefix = describe[job["kind"]]
        described = getattr(sm_for(sandbox, job), method)(**{member: job["name"]})
        assert described[status] == job["status"], job["name"]
        assert described["CreationTime"] == at(job["created"])
        assert described[f"{prefix}StartTime"] == at(job["start"])
        assert described.get(f"{prefix}EndTime") == at(job["end"]), job["name"]
        assert "Tags" not in described
        if job["kind"] == "processing":
            cluster = described["ProcessingResources"]["ClusterConfig"]
            assert (cluster["InstanceType"], cluster["InstanceCount"]) == (job["instance_type"], job["instance_count"])
        elif job["kind"] == "transform":
            resources = described["TransformResources"]
            assert (resources["InstanceType"], resources["InstanceCount"]) == (
                job["instance_type"],
                job["instance_count"],
            )
        else:
            config = described["ResourceConfig"]
            if job["instance_groups"]:
                groups = [
                    (g["InstanceGroupName"], g["InstanceType"], g["InstanceCount"]) for g in config["InstanceGroups"]
                ]
                assert groups == [(g["name"], g["instance_type"], g["instance_count"]) for g in job["instance_groups"]]
            else:
                assert (config["InstanceType"], config["InstanceCount"]) == (
                    job["instance_type"],
                    job["instance_count"],
                )
            assert described.get("TrainingTimeInSeconds") == job["training_seconds"]
            assert described.get("BillableTimeInSeconds") == job["billable_seconds"]
            assert described["EnableManagedSpotTraining"] == job["spot"]
            assert described.get("FailureReason") == job["failure_reason"]
            assert described["AlgorithmSpecification"]["TrainingImage"] == job["image"]
            if job["tuning_job"]:
                assert described["TuningJobArn"].endswith(f":hyper-parameter-tuning-job/{job['tuning_job']}")


def test_the_timelines_are_the_ones_the_issue_describes(workloads, seeded_at):
    jobs = {j["name"]: j for j in workloads["jobs"]}

    def family(name):
        return [j for j in workloads["jobs"] if j["family"] == name]

    finetunes = family("llm-finetune")
    assert len(finetunes) == 3 and {(j["instance_type"], j["instance_count"]) for j in finetunes} == {
        ("ml.p4d.24xlarge", 2)
    }
    assert all(seeded_at - at(j["start"]) <= timedelta(days=10) for j in finetunes)
    assert all(18 <= j["gpu_util_pct"] <= 26 for j in finetunes)  # low GPU: the training-gpu-low advice
    for spot in family("resnet-spot"):
        assert spot["spot"] and spot["instance_type"] == "ml.g5.2xlarge"
        assert spot["billable_seconds"] == round(0.35 * (at(spot["end"]) - at(spot["start"])).total_seconds())
    failed = [j for j in workloads["jobs"] if j["status"] == "Failed"]
    assert len(failed) == 1 and failed[0]["failure_reason"]
    assert at(failed[0]["end"]) - at(failed[0]["start"]) == timedelta(minutes=40)
    running = [j for j in workloads["jobs"] if j["end"] is None]
    assert [j["status"] for j in running] == ["InProgress"]
    assert timedelta(hours=2, minutes=59) <= seeded_at - at(running[0]["start"]) <= timedelta(hours=3, minutes=1)
    trainium = family("llama-trn1")[0]
    assert trainium["instance_type"] == "ml.trn1.32xlarge" and trainium["gpu_util_pct"] is None
    hetero = family("recsys-hetero")[0]
    assert [h["instance_type"] for h in hetero["hosts"]] == ["ml.c5.4xlarge", "ml.g5.12xlarge", "ml.g5.12xlarge"]
    children = [j for j in jobs.values() if j["tuning_job"] == "xgb-hpo"]
    assert all(timedelta(minutes=20) <= at(c["end"]) - at(c["start"]) <= timedelta(minutes=40) for c in children)
    for child in children:  # never more than MaxParallelTrainingJobs at once
        overlapping = [c for c in children if at(c["start"]) <= at(child["start"]) < at(c["end"])]
        assert len(overlapping) <= 10


def test_host_metrics_means_match_the_summary(sandbox, workloads, seeded_at):
    end_all = fl.floor_minute(seeded_at) + timedelta(minutes=1)
    for job in workloads["jobs"]:
        cw = client("cloudwatch", sandbox["url"], job["region"], job["account"])
        start = at(job["start"]).replace(minute=0)
        end = at(job["end"]) + timedelta(hours=1) if job["end"] else end_all
        queries, expected = [], {}
        for n, host in enumerate(job["hosts"]):
            hw = hardware(host["instance_type"])
            assert (host["vcpus"], host["gpus"]) == (hw["vcpus"], hw["gpu_count"])
            for metric, per, key in (
                ("CPUUtilization", host["vcpus"], "cpu_util_pct"),
                ("GPUUtilization", host["gpus"], "gpu_util_pct"),
            ):
                if host[key] is None:
                    continue
                for stat in ("Sum", "SampleCount"):
                    queries.append(
                        {
                            "Id": f"{metric[0].lower()}{n}{ {'Sum': 'u', 'SampleCount': 's'}[stat] }",
                            "MetricStat": {
                                "Metric": {
                                    "Namespace": NAMESPACES[job["kind"]],
                                    "MetricName": metric,
                                    "Dimensions": [{"Name": "Host", "Value": host["host"]}],
                                },
                                "Period": 3600,
                                "Stat": stat,
                            },
                        }
                    )
                expected[(metric[0].lower(), n)] = (host[key], per, host["minutes"])
        results = {
            r["Id"]: sum(r["Values"])
            for r in cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)["MetricDataResults"]
        }
        for (letter, n), (mean, per, minutes) in expected.items():
            assert results[f"{letter}{n}s"] == minutes, (job["name"], n)  # one sample a minute it ran
            assert results[f"{letter}{n}u"] / results[f"{letter}{n}s"] / per == pytest.approx(mean, abs=1e-3), (
                job["name"],
                n,
            )
        cpu_means = [h["cpu_util_pct"] for h in job["hosts"]]
        assert job["cpu_util_pct"] == pytest.approx(sum(cpu_means) / len(cpu_means), abs=1e-3)
        assert job["instance_hours"] == pytest.approx(sum(h["minutes"] for h in job["hosts"]) / 60, abs=1e-3)


def test_a_trainium_host_publishes_no_gpu_metrics(sandbox, workloads):
    job = next(j for j in workloads["jobs"] if j["instance_type"] == "ml.trn1.32xlarge")
    cw = client("cloudwatch", sandbox["url"], job["region"], job["account"])
    names = {
        m["MetricName"]
        for m in cw.list_metrics(
            Namespace=NAMESPACES["training"], Dimensions=[{"Name": "Host", "Value": job["hosts"][0]["host"]}]
        )["Metrics"]
    }
    assert names == {"CPUUtilization", "MemoryUtilization", "DiskUtilization"}


def test_tuning_job_counts_its_children(sandbox, workloads):
    tuning = next(t for t in workloads["tuning_jobs"] if t["name"] == "xgb-hpo")
    sm = sm_for(sandbox, tuning)
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="xgb-hpo")
    config = described["HyperParameterTuningJobConfig"]
    assert (config["Strategy"], config["ResourceLimits"]["MaxParallelTrainingJobs"]) == ("Random", 10)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 20 == len(tuning["children"])
    children = [j for j in workloads["jobs"] if j["tuning_job"] == "xgb-hpo"]
    assert described["HyperParameterTuningEndTime"] == max(at(c["end"]) for c in children)
    listed, token = [], None
    while True:
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="xgb-hpo", MaxResults=7, **({"NextToken": token} if token else {})
        )
        listed += [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(listed) == sorted(tuning["children"])


def test_running_job_is_listed_in_progress(sandbox, workloads):
    running = next(j for j in workloads["jobs"] if j["end"] is None)
    sm = sm_for(sandbox, running)
    listed = sm.list_training_jobs(StatusEquals="InProgress", MaxResults=100)["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in listed] == [running["name"]]
    assert "TrainingEndTime" not in listed[0]


def test_notebooks_lifecycle_configs_and_their_cloudtrail_history(sandbox, workloads, seeded_at):
    for notebook in workloads["notebooks"]:
        sm = sm_for(sandbox, notebook)
        described = sm.describe_notebook_instance(NotebookInstanceName=notebook["name"])
        assert described["NotebookInstanceStatus"] == notebook["status"]
        assert described["InstanceType"] == notebook["instance_type"]
        assert described["CreationTime"] == at(notebook["created"])
        assert described.get("NotebookInstanceLifecycleConfigName") == notebook["lifecycle_config"]
        if notebook["lifecycle_config"]:
            config = sm.describe_notebook_instance_lifecycle_config(
                NotebookInstanceLifecycleConfigName=notebook["lifecycle_config"]
            )
            script = base64.b64decode(config["OnStart"][0]["Content"]).decode()
            assert ("autostop.py" in script and "IDLE_TIME" in script) == notebook["auto_stop"]
        trail = client("cloudtrail", sandbox["url"], notebook["region"], notebook["account"])
        events, token = [], None
        while True:
            page = trail.lookup_events(
                LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": notebook["name"]}],
                **({"NextToken": token} if token else {}),
            )
            events += page["Events"]
            token = page.get("NextToken")
            if not token:
                break
        oldest = seeded_at - timedelta(days=90)
        spans = [(at(a), at(b)) for a, b in notebook["spans"]]
        expected = [("CreateNotebookInstance", spans[0][0])] if spans[0][0] >= oldest else []
        for index, (start, end) in enumerate(spans):
            if index:
                expected.append(("StartNotebookInstance", start))
            if end:
                expected.append(("StopNotebookInstance", end))
        got = sorted((e["EventTime"], e["EventName"]) for e in events)
        assert got == sorted((moment, name) for name, moment in expected if moment >= oldest), notebook["name"]
    research = next(n for n in workloads["notebooks"] if n["name"] == "research-nb")
    assert research["status"] == "InService" and research["running_hours"] == pytest.approx(21 * 24)
    assert not research["auto_stop"] and research["instance_type"] == "ml.g5.xlarge"
    names = [
        n["NotebookInstanceLifecycleConfigName"]
        for n in sm.list_notebook_instance_lifecycle_configs()["NotebookInstanceLifecycleConfigs"]
    ]
    assert sorted(names) == sorted(wf.LIFECYCLE_CONFIGS)


def test_studio_apps_spaces_and_domains(sandbox, workloads):
    for app in workloads["studio_apps"]:
        sm = sm_for(sandbox, app)
        key = {"DomainId": app["domain_id"], "SpaceName": app["space"], "AppType": "JupyterLab", "AppName": app["name"]}
        described = sm.describe_app(**key)
        assert (described["Status"], described["ResourceSpec"]["InstanceType"]) == (app["status"], app["instance_type"])
        assert described["CreationTime"] == at(app["created"])
        space = sm.describe_space(DomainId=app["domain_id"], SpaceName=app["space"])
        domain = sm.describe_domain(DomainId=app["domain_id"])
        space_idle = (
            space["SpaceSettings"]
            .get("JupyterLabAppSettings", {})
            .get("AppLifecycleManagement", {})
            .get("IdleSettings")
        )
        domain_idle = (
            domain["DefaultUserSettings"]
            .get("JupyterLabAppSettings", {})
            .get("AppLifecycleManagement", {})
            .get("IdleSettings", {})
        )
        assert (domain_idle.get("LifecycleManagement") == "ENABLED" and bool(space_idle)) == app["auto_stop"]
    sm = sm_for(sandbox, workloads["studio_apps"][0])
    listed = {(a["DomainId"], a["SpaceName"]): a["Status"] for a in sm.list_apps(MaxResults=100)["Apps"]}
    assert listed == {(a["domain_id"], a["space"]): a["status"] for a in workloads["studio_apps"]}
    long_running = next(a for a in workloads["studio_apps"] if a["instance_type"] == "ml.g5.xlarge")
    assert long_running["status"] == "InService" and long_running["running_hours"] == pytest.approx(9 * 24)
    assert not long_running["auto_stop"]
    deleted = next(a for a in workloads["studio_apps"] if a["status"] == "Deleted")
    trail = client("cloudtrail", sandbox["url"], deleted["region"], deleted["account"])
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DeleteApp"}])[
        "Events"
    ]
    assert [e["EventTime"] for e in events] == [at(deleted["deleted"])]


def test_job_log_groups_are_large_and_never_expire(sandbox):
    for account, region in ((fl.PROD, "us-east-1"), (fl.RESEARCH, "us-east-1")):
        logs = client("logs", sandbox["url"], region, account)
        groups = {
            g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/")["logGroups"]
        }
        training = groups["/aws/sagemaker/TrainingJobs"]
        assert "retentionInDays" not in training and training["storedBytes"] > 10e9
        assert "retentionInDays" not in groups["/aws/sagemaker/NotebookInstances"]


# --- the benchmark's generated jobs, on a fresh in-process server --------------------------------------------

BENCH_ACCOUNT = "424242424242"


def test_generated_jobs_are_cheap_hourly_and_what_describe_returns():
    now = datetime(2026, 3, 4, 10, 17, 33, tzinfo=UTC)
    jobs = [replace(j, account=BENCH_ACCOUNT) for j in wf.generated_jobs(60, now)]
    assert all(60 <= j.minutes <= 360 and j.hourly for j in jobs)
    assert {j.instance_type for j in jobs} == {t for t, _ in wf.GENERATED_TYPES}
    assert {j.region for j in jobs} == set(wf.GENERATED_REGIONS)
    server = SandboxServer().start()
    try:
        sink = direct_metric_sink(server)
        for job in jobs:
            sm = client("sagemaker", server.url, job.region, job.account)
            ws._create_job(sm, job, now)
            data, hosts = ws.job_metrics(job, now)
            for i in range(0, len(data), 1000):
                sink(job.account, job.region, wf.TRAINING_NAMESPACE, data[i : i + 1000])
            per_host_metric = len(data) / len(hosts) / (5 if hosts[0]["gpus"] else 3)
            assert per_host_metric <= math.ceil(job.minutes / 60) + 1  # a statistic set per clock hour, not per minute
        job = jobs[7]
        described = client("sagemaker", server.url, job.region, job.account).describe_training_job(
            TrainingJobName=job.name
        )
        assert described["TrainingTimeInSeconds"] == job.minutes * 60 and described["TrainingJobStatus"] == "Completed"
        cw = client("cloudwatch", server.url, job.region, job.account)
        _, hosts = ws.job_metrics(job, now)
        times = job.timeline(now)
        result = cw.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "cpu",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": wf.TRAINING_NAMESPACE,
                            "MetricName": "CPUUtilization",
                            "Dimensions": [{"Name": "Host", "Value": hosts[0]["host"]}],
                        },
                        "Period": 3600,
                        "Stat": "Average",
                    },
                }
            ],
            StartTime=times["start"].replace(minute=0),
            EndTime=times["end"] + timedelta(hours=1),
        )["MetricDataResults"][0]
        assert len(result["Values"]) == len(
            range(
                int(times["start"].timestamp()) // 3600,
                int((times["end"] - timedelta(seconds=1)).timestamp()) // 3600 + 1,
            )
        )
    finally:
        server.stop()


def test_a_running_job_s_live_minute_is_the_minute_its_history_holds():
    seeded_at = datetime(2026, 3, 4, 10, 17, 33, tzinfo=UTC)
    running = next(j for j in wf.demo_jobs(seeded_at) if j.minutes is None)
    minute = fl.floor_minute(seeded_at) - timedelta(minutes=10)  # inside the minute-detail hours of the history
    sent = []
    count = ws.publish_running_jobs(lambda *batch: sent.append(batch), minute, seeded_at)
    assert count == sum(len(b[3]) for b in sent) > 0
    assert {(a, r, n) for a, r, n, _ in sent} == {(running.account, running.region, wf.TRAINING_NAMESPACE)}
    history, _ = ws.job_metrics(running, seeded_at)
    at_minute = {
        (d["MetricName"], d["Dimensions"][0]["Value"]): d["StatisticValues"]
        for d in history
        if d["Timestamp"] == minute
    }
    live = {(d["MetricName"], d["Dimensions"][0]["Value"]): d["StatisticValues"] for d in sent[0][3]}
    assert live.keys() == at_minute.keys() and len(live) == 5 * running.count
    for key, values in live.items():
        assert values["Sum"] == pytest.approx(at_minute[key]["Sum"]), key
    assert ws.publish_running_jobs(lambda *batch: sent.append(batch), seeded_at - timedelta(hours=5), seeded_at) == 0
