"""Job host metrics over HTTP against the sandbox: hours from the timeline, CPU/GPU normalised per vCPU/GPU and
averaged over hosts, heterogeneous clusters, calls at the minimum, a finished job read once, a running one every
run, batch-transform hosts by instance id."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from collectors import runner
from collectors.job_metrics import ceil_hour
from collectors.models import Workload, WorkloadHour
from collectors.utilization import floor_hour
from estimator.catalog import hardware
from sandbox.clients import client
from tests.collectors.test_jobs import REGION, knobs, training_job

NAMESPACE = "/aws/sagemaker/TrainingJobs"


def put_host(account, sandbox, host: str, hour: datetime, namespace: str = NAMESPACE, **values) -> None:
    """One hourly statistic set per metric for ``host`` (values: CloudWatch's, i.e. summed over cores/GPUs)."""
    cw = client("cloudwatch", sandbox["url"], REGION, account.account_id)
    data = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": "Host", "Value": host}],
            "Timestamp": hour + timedelta(minutes=7),
            "StatisticValues": {"SampleCount": 60, "Sum": 60 * value, "Minimum": value, "Maximum": value * 1.25},
        }
        for metric, value in values.items()
    ]
    cw.put_metric_data(Namespace=namespace, MetricData=data)


def overlap(start: datetime, end: datetime, hour: datetime) -> float:
    return max((min(end, hour + timedelta(hours=1)) - max(start, hour)).total_seconds(), 0) / 3600


@pytest.fixture
def gpu_job(scratch, sandbox):
    """2 x ml.g5.12xlarge (4 GPUs, 48 vCPUs) from 5 h 40 min to 1 h 50 min ago, metrics in all its hours but one."""
    now = datetime.now(UTC)
    start, end = (
        floor_hour(now) - timedelta(hours=5) + timedelta(minutes=20),
        floor_hour(now) - timedelta(hours=2) + timedelta(minutes=10),
    )
    training_job(scratch, "vit-2026-11-20-10-00-00-000", start=start, end=end)
    name = "vit-2026-11-20-10-00-00-000"
    hours = [floor_hour(start) + timedelta(hours=h) for h in range(4)]
    for hour in hours[:-1]:  # the last hour has no datapoint (metrics lost)
        put_host(
            scratch,
            sandbox,
            f"{name}/algo-1",
            hour,
            CPUUtilization=960,
            GPUUtilization=240,
            GPUMemoryUtilization=200,
            MemoryUtilization=40,
            DiskUtilization=10,
        )
        put_host(
            scratch,
            sandbox,
            f"{name}/algo-2",
            hour,
            CPUUtilization=480,
            GPUUtilization=120,
            GPUMemoryUtilization=100,
            MemoryUtilization=20,
            DiskUtilization=10,
        )
    return {"name": name, "start": start, "end": end, "hours": hours}


def collect(account):
    runner.run(account, REGION, "jobs")
    return runner.run(account, REGION, "job_metrics")


def test_hours_come_from_the_timeline_and_utilization_per_gpu_and_vcpu_averaged_over_hosts(gpu_job, scratch):
    result = collect(scratch)
    hw = hardware("ml.g5.12xlarge")
    vcpus, gpus = int(hw["vcpus"]), int(hw["gpu_count"])
    rows = {r.hour: r for r in WorkloadHour.objects.filter(workload__name=gpu_job["name"])}
    assert sorted(rows) == gpu_job["hours"]
    assert result.details["hours"] == 4 and result.details["jobs"] == 1
    for hour, row in rows.items():
        assert row.instance_hours == pytest.approx(2 * overlap(gpu_job["start"], gpu_job["end"], hour))
        assert (row.vcpus, row.gpus, row.kind, row.spot_instance_hours) == (vcpus, gpus, "training", 0.0)
    first = rows[gpu_job["hours"][0]]
    assert first.instance_hours == pytest.approx(2 * 40 / 60)
    assert first.util_source == "metrics" and first.hosts == 2
    assert first.gpu_util_by_host == pytest.approx({"algo-1": 240 / gpus, "algo-2": 120 / gpus})
    assert first.gpu_util_pct == pytest.approx((240 / gpus + 120 / gpus) / 2)
    assert first.gpu_util_max_pct == pytest.approx(240 * 1.25 / gpus)
    assert first.cpu_util_pct == pytest.approx((960 / vcpus + 480 / vcpus) / 2)
    assert first.gpu_memory_util_pct == pytest.approx((200 / gpus + 100 / gpus) / 2)
    assert (first.memory_util_pct, first.disk_util_pct) == (pytest.approx(30), pytest.approx(10))
    last = rows[gpu_job["hours"][-1]]
    assert last.util_source == "assumed" and last.hosts == 0 and last.gpu_util_pct is None and last.cpu_util_pct is None


def test_calls_are_the_minimum_and_a_finished_job_is_read_once(gpu_job, scratch, sandbox_control):
    result = collect(scratch)
    queries = 2 * 7  # two GPU hosts: CPU avg/max, memory, disk, GPU avg/max, GPU memory
    assert result.details["queries"] == queries
    assert result.details["minimum_calls"] == max(math.ceil(queries / 500), math.ceil(queries * 4 / 100_800)) == 1
    assert result.details["calls"] == result.details["minimum_calls"]
    job = Workload.objects.get(name=gpu_job["name"])
    assert job.metrics_through == ceil_hour(gpu_job["end"])
    sandbox_control("DELETE", "calls")
    again = runner.run(scratch, REGION, "job_metrics")
    assert (again.details["jobs"], again.details["hours"], again.details["calls"]) == (0, 0, 0)
    assert not [c for c in sandbox_control("GET", "calls")["calls"] if c["operation"] == "GetMetricData"]


def test_a_heterogeneous_cluster_has_a_row_per_instance_type_its_hosts_in_group_order(scratch, sandbox):
    now = datetime.now(UTC)
    start, end = floor_hour(now) - timedelta(hours=3), floor_hour(now) - timedelta(hours=1, minutes=30)
    name = "hetero-2026-11-20-10-00-00-000"
    groups = [
        {"InstanceGroupName": "gpu", "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1},
        {"InstanceGroupName": "data", "InstanceType": "ml.c5.4xlarge", "InstanceCount": 2},
    ]
    training_job(scratch, name, start=start, end=end, resources={"InstanceGroups": groups, "VolumeSizeInGB": 10})
    put_host(scratch, sandbox, f"{name}/algo-1", start, CPUUtilization=192, GPUUtilization=400, MemoryUtilization=50)
    put_host(scratch, sandbox, f"{name}/algo-2", start, CPUUtilization=800, MemoryUtilization=70)
    put_host(scratch, sandbox, f"{name}/algo-3", start, CPUUtilization=400, MemoryUtilization=30)
    result = collect(scratch)
    assert result.details["queries"] == 7 + 4 + 4  # GPU queries only on the GPU group's host
    rows = {(r.instance_type, r.hour): r for r in WorkloadHour.objects.filter(workload__name=name)}
    assert sorted({t for t, _ in rows}) == ["ml.c5.4xlarge", "ml.p4d.24xlarge"]
    p4d, c5 = rows[("ml.p4d.24xlarge", start)], rows[("ml.c5.4xlarge", start)]
    assert (p4d.instance_hours, c5.instance_hours) == (pytest.approx(1.0), pytest.approx(2.0))
    assert rows[("ml.c5.4xlarge", start + timedelta(hours=1))].instance_hours == pytest.approx(2 * 0.5)
    p4d_hw, c5_hw = hardware("ml.p4d.24xlarge"), hardware("ml.c5.4xlarge")
    assert p4d.gpu_util_pct == pytest.approx(400 / int(p4d_hw["gpu_count"]))
    assert p4d.cpu_util_pct == pytest.approx(192 / int(p4d_hw["vcpus"]))
    assert c5.cpu_util_pct == pytest.approx((800 + 400) / 2 / int(c5_hw["vcpus"]))
    assert c5.gpu_util_pct is None and c5.hosts == 2 and c5.memory_util_pct == pytest.approx(50)


def test_a_running_job_is_read_every_run_up_to_now(scratch, sandbox):
    now = datetime.now(UTC)
    start = floor_hour(now) - timedelta(hours=2) + timedelta(minutes=30)
    name = "longrun-2026-11-20-10-00-00-000"
    training_job(scratch, name, start=start, spot=True, stopping={"MaxWaitTimeInSeconds": 90000})
    put_host(scratch, sandbox, f"{name}/algo-1", floor_hour(start), CPUUtilization=480, GPUUtilization=200)
    first = collect(scratch)
    job = Workload.objects.get(name=name)
    assert first.details["hours"] == 3
    rows = {r.hour: r for r in WorkloadHour.objects.filter(workload=job)}
    current = rows[max(rows)]
    assert current.instance_hours == pytest.approx(2 * overlap(start, datetime.now(UTC), max(rows)), abs=0.02)
    assert current.spot_instance_hours == current.instance_hours
    assert job.metrics_through == max(rows)  # the current, partial hour is read again next run
    put_host(scratch, sandbox, f"{name}/algo-2", max(rows), CPUUtilization=240, GPUUtilization=100)
    second = runner.run(scratch, REGION, "job_metrics")
    assert second.details["jobs"] == 1
    assert WorkloadHour.objects.get(workload=job, hour=max(rows)).hosts == 1
    assert WorkloadHour.objects.filter(workload=job).count() == 3


def test_transform_hosts_are_found_by_instance_id(scratch, sandbox):
    now = datetime.now(UTC)
    start, end = floor_hour(now) - timedelta(hours=3), floor_hour(now) - timedelta(hours=2)
    scratch.sagemaker.create_transform_job(
        TransformJobName="nightly-scoring",
        ModelName="model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in/"}}},
        TransformOutput={"S3OutputPath": "s3://out/"},
        TransformResources={"InstanceType": "ml.c5.2xlarge", "InstanceCount": 2},
        Tags=knobs(creationTime=start, startTime=start, endTime=end),
    )
    for instance, cpu in (("i-0abc", 400), ("i-0def", 200)):
        put_host(
            scratch, sandbox, f"nightly-scoring/{instance}", start, "/aws/sagemaker/TransformJobs", CPUUtilization=cpu
        )
    result = collect(scratch)
    assert result.details["list_metrics_calls"] >= 1
    row = WorkloadHour.objects.get(workload__name="nightly-scoring", hour=start)
    vcpus = int(hardware("ml.c5.2xlarge")["vcpus"])
    assert row.hosts == 2 and row.instance_hours == pytest.approx(2.0)
    assert row.cpu_util_pct == pytest.approx((400 + 200) / 2 / vcpus)


# --- the seeded demo jobs ------------------------------------------------------------------------


@pytest.fixture
def seeded(prod, research):
    """Jobs and their host metrics of both demo accounts in us-east-1 (the sandbox's seeded workloads)."""
    runs = {}
    for account in (prod, research):
        runner.run(account, "us-east-1", "jobs")
        runs[account.account_id] = runner.run(account, "us-east-1", "job_metrics")
    return runs


def seeded_jobs(sandbox) -> list[dict]:
    return [j for j in sandbox["workloads"]["jobs"] if j["region"] == "us-east-1"]


def test_seeded_jobs_instance_hours_are_their_timeline_times_their_count(seeded, sandbox):
    jobs = seeded_jobs(sandbox)
    assert len(jobs) > 20
    checked_running = False
    for job in jobs:
        rows = WorkloadHour.objects.filter(workload__name=job["name"], workload__account__account_id=job["account"])
        start = datetime.fromisoformat(job["start"])
        end = datetime.fromisoformat(job["end"]) if job["end"] else datetime.now(UTC)
        count = sum(g["instance_count"] for g in job["instance_groups"]) or job["instance_count"]
        total = sum(r.instance_hours for r in rows)
        assert total == pytest.approx((end - start).total_seconds() / 3600 * count, abs=0.05 * count), job["name"]
        assert {r.instance_type for r in rows} == (
            {g["instance_type"] for g in job["instance_groups"]} or {job["instance_type"]}
        )
        if job["spot"]:
            assert all(r.spot_instance_hours == r.instance_hours for r in rows)
        checked_running |= job["end"] is None
    assert checked_running  # the demo's running job was among them


def test_seeded_jobs_per_host_utilization_is_per_vcpu_and_per_gpu(seeded, sandbox):
    """Each host's mean over the minutes it ran (the seeding summary, per vCPU/GPU) equals the mean of its hourly
    values weighted by the minutes of each hour, for finished jobs (whose minutes all have metrics)."""
    checked = 0
    for job in seeded_jobs(sandbox):
        if job["end"] is None:
            continue
        rows = list(WorkloadHour.objects.filter(workload__name=job["name"]))
        for host in job["hosts"]:
            label = host["host"].rsplit("/", 1)[-1]
            mine = [r for r in rows if r.instance_type == host["instance_type"]]
            same_type = sum(1 for h in job["hosts"] if h["instance_type"] == host["instance_type"])
            weights = [r.instance_hours / same_type for r in mine]
            if host["gpu_util_pct"] is not None:
                gpu = sum(w * r.gpu_util_by_host[label] for w, r in zip(weights, mine, strict=True)) / sum(weights)
                assert gpu == pytest.approx(host["gpu_util_pct"], abs=0.2), (job["name"], label)
                checked += 1
            assert all(r.vcpus == host["vcpus"] and r.gpus == host["gpus"] for r in mine)
        if job["cpu_util_pct"] is not None and len(job["hosts"]) == len(
            [h for h in job["hosts"] if h["instance_type"] == job["hosts"][0]["instance_type"]]
        ):
            cpu = sum(r.cpu_util_pct * r.instance_hours for r in rows) / sum(r.instance_hours for r in rows)
            assert cpu == pytest.approx(job["cpu_util_pct"], abs=0.3), job["name"]
    assert checked >= 5


def test_seeded_jobs_are_read_in_the_minimum_number_of_calls(seeded):
    for run in seeded.values():
        assert run.details["jobs"] > 0 and run.details["errors"] == []
        assert run.details["calls"] == run.details["minimum_calls"]
