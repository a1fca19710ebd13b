"""Publish frequency and enhanced metrics in the sandbox: one sample per instance per period, so an hour's
SampleCount is instances × 3600 / period; per-instance and per-GPU series with enhanced metrics on."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from sandbox import fleet as fl
from sandbox.clients import client
from sandbox.seed import http_metric_sink, variant_metrics
from sandbox.server import SandboxServer

FLEET = {e.name: e for e in fl.build_fleet()}
DIMS = ("EndpointName", "VariantName")


def query(qid, name, dims: dict, stat, period=3600, namespace=fl.HOST_NAMESPACE):
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            },
            "Period": period,
            "Stat": stat,
        },
    }


def values(cw, queries, start, end) -> dict[str, list[float]]:
    response = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending")
    return {r["Id"]: r["Values"] for r in response["MetricDataResults"]}


def variant_dims(endpoint: str) -> dict:
    return {"EndpointName": endpoint, "VariantName": "AllTraffic"}


def test_samples_per_minute_follow_the_period():
    minutes = np.arange(0.0, 3600.0, 60.0)
    for period, per_hour in ((10, 360), (30, 120), (60, 60), (120, 30), (300, 12)):
        assert fl.samples_per_minute(period, minutes).sum() == per_hour


def test_the_10_second_endpoint_has_six_times_the_samples(sandbox):
    now = datetime.fromisoformat(sandbox["seeded_at"])
    endpoint = FLEET["ctr-realtime-10s"]
    assert endpoint.metric_publish_seconds == 10 and endpoint.variants[0].instance_count == 2
    cw = client("cloudwatch", sandbox["url"], "us-east-1", fl.PROD)
    hour = (now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    queries = [
        query("ten", "CPUUtilization", variant_dims("ctr-realtime-10s"), "SampleCount"),
        query("sixty", "CPUUtilization", variant_dims("clickstream-scorer"), "SampleCount"),
        query(
            "calls", "Invocations", variant_dims("ctr-realtime-10s"), "SampleCount", namespace=fl.INVOCATION_NAMESPACE
        ),
        query("avg", "CPUUtilization", variant_dims("ctr-realtime-10s"), "Average"),
    ]
    got = values(cw, queries, hour, hour + timedelta(hours=1))
    assert got["ten"] == [720.0]  # 2 instances × 360
    assert got["sixty"] == [120.0]  # clickstream-scorer: 2 instances × 60 at the default 60 s
    assert got["calls"] == [60.0]  # invocations stay one datum a minute (enhanced metrics off)
    minutes = fl.hour_minutes(hour)
    s = fl.series(endpoint, endpoint.variants[0], minutes, now.timestamp())
    assert got["avg"] == pytest.approx([(s["cpu_pct"] * s["vcpus"]).mean()])  # the same load, only more samples
    # the recent detail: a set a minute with 6 samples per instance
    recent_start = now.replace(second=0, microsecond=0) - timedelta(minutes=30)
    detail = values(
        cw,
        [query("m", "CPUUtilization", variant_dims("ctr-realtime-10s"), "SampleCount", period=60)],
        recent_start,
        recent_start + timedelta(minutes=10),
    )
    assert detail["m"] == [12.0] * 10


@pytest.fixture(scope="module")
def server():
    server = SandboxServer().start()
    yield server
    server.stop()


def test_a_300_second_endpoint_has_twelve_samples_an_hour_per_instance(server):
    """Seeds one endpoint at 300 s through PutMetricData over HTTP into a fresh sandbox."""
    base = FLEET["clickstream-scorer"]
    endpoint = replace(base, name="slow-publisher", metric_publish_seconds=300)
    now = datetime.now(UTC)
    minutes, detail_index = fl.minute_grid(now)
    minutes, detail_index = minutes[-(24 * 60 + (len(minutes) - detail_index)) :], 24 * 60
    data = variant_metrics(endpoint, endpoint.variants[0], minutes, detail_index, now.timestamp())
    sink = http_metric_sink(server.url)
    for namespace, datums in data.items():
        for i in range(0, len(datums), 1000):
            sink(endpoint.account, endpoint.region, namespace, datums[i : i + 1000])
    cw = client("cloudwatch", server.url, endpoint.region, endpoint.account)
    hour = datetime.fromtimestamp(minutes[0], UTC) + timedelta(hours=5)
    got = values(
        cw,
        [
            query("n", "CPUUtilization", variant_dims("slow-publisher"), "SampleCount"),
            query(
                "calls", "Invocations", variant_dims("slow-publisher"), "SampleCount", namespace=fl.INVOCATION_NAMESPACE
            ),
        ],
        hour,
        hour + timedelta(hours=1),
    )
    assert got["n"] == [24.0]  # 2 instances × 12
    assert got["calls"] == [60.0]
    recent = datetime.fromtimestamp(minutes[detail_index], UTC)
    detail = values(
        cw,
        [query("m", "CPUUtilization", variant_dims("slow-publisher"), "SampleCount", period=60)],
        recent,
        recent + timedelta(minutes=15),
    )
    assert detail["m"] == [2.0, 2.0, 2.0]  # a set every 5 minutes only


def test_enhanced_metrics_publish_per_instance_and_per_gpu(sandbox):
    now = datetime.fromisoformat(sandbox["seeded_at"])
    endpoint = FLEET["vision-batch-gpu"]
    variant = endpoint.variants[0]
    assert endpoint.enhanced_metrics and variant.instance_type == "ml.g5.12xlarge"
    cw = client("cloudwatch", sandbox["url"], "us-east-1", fl.PROD)
    listed = cw.list_metrics(
        Namespace=fl.HOST_NAMESPACE,
        MetricName="GPUUtilization",
        Dimensions=[{"Name": "EndpointName", "Value": "vision-batch-gpu"}],
    )["Metrics"]
    per_gpu = [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in listed if len(m["Dimensions"]) == 4]
    (instance_id,) = fl.instance_ids(endpoint, variant, 1)
    assert sorted(d["AcceleratorId"] for d in per_gpu) == ["0", "1", "2", "3"]
    assert {d["InstanceId"] for d in per_gpu} == {instance_id}
    # The busiest hour of a day two days back (whatever the time of day the test runs at): its GPU 0 works.
    start = (now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    hours = [start + timedelta(hours=k) for k in range(24)]
    hour = max(hours, key=lambda h: fl.gpu_by_device(endpoint, variant, fl.hour_minutes(h), now.timestamp())[0].mean())
    dims = {**variant_dims("vision-batch-gpu"), "InstanceId": instance_id}
    queries = [query(f"g{k}", "GPUUtilization", {**dims, "AcceleratorId": str(k)}, "Average") for k in range(4)]
    queries += [
        query("summed", "GPUUtilization", variant_dims("vision-batch-gpu"), "Average"),
        query("cpu", "CPUUtilization", dims, "SampleCount"),
    ]
    got = values(cw, queries, hour, hour + timedelta(hours=1))
    minutes = fl.hour_minutes(hour)
    devices = fl.gpu_by_device(endpoint, variant, minutes, now.timestamp())
    per_device = [got[f"g{k}"][0] for k in range(4)]
    assert per_device == pytest.approx(devices.mean(axis=1).tolist())
    assert per_device[0] > 10 * max(per_device[1:])  # GPU 0 busy, GPUs 1-3 near idle
    assert per_device[1:] == pytest.approx([fl.IDLE_GPU_PCT] * 3)
    assert got["summed"] == pytest.approx([sum(per_device)])  # the summed series is the devices' sum
    assert got["cpu"] == [60.0]
    # an endpoint without enhanced metrics has no per-instance series
    plain = cw.list_metrics(
        Namespace=fl.HOST_NAMESPACE, Dimensions=[{"Name": "EndpointName", "Value": "image-tagger"}]
    )["Metrics"]
    assert plain and all(len(m["Dimensions"]) == 2 for m in plain)
