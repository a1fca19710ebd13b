"""Hourly utilization rows: values, normalisation, idempotence, watermark and late data, faults."""

import os
import subprocess
import sys
from datetime import datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from collectors import runner
from collectors.models import CollectionState, VariantHour
from collectors.utilization import floor_hour
from sandbox import fleet as fl
from sandbox.clients import client

FLEET = {e.name: e for e in fl.build_fleet()}


def expected_hour(sandbox, name: str, variant: str, hour: datetime) -> dict:
    """What the sandbox fleet implies for one hour, recomputed minute by minute from its definition."""
    endpoint = FLEET[name]
    spec = next(v for v in endpoint.variants if v.name == variant)
    now = datetime.fromisoformat(sandbox["seeded_at"]).timestamp()
    s = fl.series(endpoint, spec, np.arange(hour.timestamp(), hour.timestamp() + 3600, 60.0), now)
    n = s["instances"]

    def weighted(values):
        return (n * values).sum() / n.sum()

    return {
        "instance_hours": n.sum() / 60,
        "cpu_util_pct": weighted(s["cpu_pct"]),
        "gpu_util_pct": weighted(s["gpu_pct"]),
        "memory_util_pct": weighted(s["memory_pct"]),
        "invocations": s["invocations_per_minute"].sum(),
    }


@pytest.fixture
def collected(prod):
    runner.run(prod, "us-east-1", "inventory")
    return runner.run(prod, "us-east-1", "utilization")


def row(name: str, variant: str, hour: datetime) -> VariantHour:
    return VariantHour.objects.get(endpoint__name=name, variant_name=variant, hour=hour)


def test_hourly_rows_equal_what_the_seeded_series_imply(collected, sandbox):
    hour = floor_hour(datetime.fromisoformat(sandbox["seeded_at"]) - timedelta(days=2))
    for name, variant in (("fraud-scoring", "AllTraffic"), ("recsys-ranker", "B")):
        stored, expected = row(name, variant, hour), expected_hour(sandbox, name, variant, hour)
        assert stored.instance_hours == pytest.approx(expected["instance_hours"])
        assert stored.cpu_util_pct == pytest.approx(expected["cpu_util_pct"])
        assert stored.memory_util_pct == pytest.approx(expected["memory_util_pct"])
        assert stored.invocations == expected["invocations"]
    gpu = row("recsys-ranker", "B", hour)
    assert gpu.gpu_util_pct == pytest.approx(expected_hour(sandbox, "recsys-ranker", "B", hour)["gpu_util_pct"])


def test_summed_cpu_and_gpu_are_normalised_per_vcpu_and_gpu(collected):
    rows = VariantHour.objects.filter(endpoint__name="image-tagger")  # g4dn.12xlarge: 48 vCPUs, 4 GPUs
    assert rows.exists()
    assert {(r.vcpus, r.gpus) for r in rows} == {(48, 4)}
    assert all(0 <= r.cpu_util_pct <= 100 and 0 <= r.gpu_util_pct <= 100 for r in rows)
    assert max(r.gpu_util_max_pct for r in rows) < 10  # a 4-GPU box that is barely used


def test_idle_and_serverless_variants(collected, sandbox):
    # The five whole hours-days before the sandbox's seeding, not "now - 5 days": that straddles an hour boundary
    # differently depending on when the test runs.
    seeded = floor_hour(datetime.fromisoformat(sandbox["seeded_at"]))
    idle = VariantHour.objects.filter(
        endpoint__name="legacy-churn-model", hour__gte=seeded - timedelta(days=5), hour__lt=seeded
    )
    assert idle.count() == 5 * 24 and all(r.invocations == 0 and r.instance_hours > 0 for r in idle)
    serverless = VariantHour.objects.filter(endpoint__name="sentiment-serverless")
    assert serverless.exists() and all(r.instance_hours == 0 and r.invocations > 0 for r in serverless)


def test_the_backfill_uses_the_minimum_number_of_calls(collected):
    details = collected.details
    assert details["calls"] == details["minimum_calls"] >= 1
    assert details["hours"] > 13 * 24 * 10


def test_collecting_twice_gives_identical_rows(collected, prod):
    snapshot = list(
        VariantHour.objects.order_by("pk").values_list(
            "pk", "endpoint_id", "variant_name", "hour", "instance_hours", "cpu_util_pct", "invocations"
        )
    )
    runner.run(prod, "us-east-1", "utilization", since=datetime.fromisoformat(collected.details["start"]))
    again = list(
        VariantHour.objects.order_by("pk").values_list(
            "pk", "endpoint_id", "variant_name", "hour", "instance_hours", "cpu_util_pct", "invocations"
        )
    )
    assert again == snapshot


def put_cpu(sandbox, moment: datetime, value: float) -> None:
    cw = client("cloudwatch", sandbox["url"], "us-east-1", fl.PROD)
    cw.put_metric_data(
        Namespace=fl.HOST_NAMESPACE,
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Timestamp": moment,
                "Unit": "Percent",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "fraud-scoring"},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "StatisticValues": {"SampleCount": 600, "Sum": 600 * value, "Minimum": value, "Maximum": value},
            }
        ],
    )


def instance_hours(name: str, variant: str, hour: datetime) -> float:
    """0 for an hour without a row: the sandbox's history ends when it was seeded, which may be hours ago."""
    found = VariantHour.objects.filter(endpoint__name=name, variant_name=variant, hour=hour).first()
    return found.instance_hours if found else 0.0


def test_the_incremental_run_rereads_recent_hours_for_late_data(collected, prod, sandbox, settings):
    state = CollectionState.objects.get(account=prod, region="us-east-1", source="utilization")
    assert state.watermark == floor_hour(state.last_success)
    # Hours counted back from the watermark (the whole hour the fixture's run ended in), not from the wall clock.
    recent = state.watermark - timedelta(hours=settings.COLLECT_REREAD_HOURS - 1)
    old = state.watermark - timedelta(hours=settings.COLLECT_REREAD_HOURS + 3)
    before_recent, before_old = (instance_hours("fraud-scoring", "AllTraffic", hour) for hour in (recent, old))
    put_cpu(sandbox, recent + timedelta(minutes=7), 790.0)  # arrives late, within the re-read window
    put_cpu(sandbox, old + timedelta(minutes=7), 790.0)  # arrives too late for an incremental run
    result = runner.run(prod, "us-east-1", "utilization")
    assert datetime.fromisoformat(result.details["start"]) == state.watermark - timedelta(
        hours=settings.COLLECT_REREAD_HOURS
    )
    assert instance_hours("fraud-scoring", "AllTraffic", recent) == pytest.approx(before_recent + 10)
    assert row("fraud-scoring", "AllTraffic", recent).cpu_util_max_pct == pytest.approx(790.0 / 8)
    assert instance_hours("fraud-scoring", "AllTraffic", old) == before_old


def test_throttling_slows_the_collector_down_instead_of_failing(prod, sandbox_control):
    runner.run(prod, "eu-west-1", "inventory")
    sandbox_control("POST", "faults", {"operation": "GetMetricData", "error": "ThrottlingException", "count": 3})
    result = runner.run(prod, "eu-west-1", "utilization")
    assert result.details["hours"] > 0
    calls = [c for c in sandbox_control("GET", "calls")["calls"] if c["operation"] == "GetMetricData"]
    assert sum(c["count"] for c in calls) == result.details["calls"] + 3
    assert CollectionState.objects.get(account=prod, region="eu-west-1", source="utilization").last_error == ""


def test_a_denied_account_fails_alone_and_is_recorded(prod, research, sandbox_control):
    sandbox_control(
        "POST",
        "faults",
        {
            "operation": "ListEndpoints",
            "error": "AccessDeniedException",
            "message": "User is not authorized to perform sagemaker:ListEndpoints",
            "account": fl.RESEARCH,
        },
    )
    with pytest.raises(runner.CollectionFailed, match="AccessDeniedException"):
        runner.run(research, "eu-north-1", "inventory")
    assert runner.run(prod, "eu-north-1", "inventory").details["endpoints"] > 0
    state = CollectionState.objects.get(account=research, source="inventory")
    assert "not authorized" in state.last_error and state.consecutive_failures == 1 and state.last_success is None
    assert CollectionState.objects.get(account=prod, source="inventory").last_error == ""


def test_a_held_lease_keeps_a_second_run_out_but_lets_its_owner_back_in(prod):
    runner.run(prod, "eu-north-1", "inventory", owner="task-1")
    state = CollectionState.objects.get(account=prod, source="inventory")
    now = timezone.now()
    assert runner.acquire(state, "task-1", now)
    assert not runner.acquire(state, "task-2", now)
    assert runner.acquire(state, "task-1", now)  # the same task, redelivered after its worker died
    assert runner.acquire(state, "task-2", now + timedelta(hours=1))  # an abandoned lease expires


def test_a_lease_expires_with_the_task_time_limit(prod, settings):
    runner.run(prod, "eu-north-1", "inventory", owner="task-1")
    state = CollectionState.objects.get(account=prod, source="inventory")
    now = timezone.now()
    assert runner.acquire(state, "task-1", now)
    assert settings.COLLECT_LEASE_SECONDS > settings.TASK_TIME_LIMIT_SECONDS  # no task can still be running then
    just_after_the_limit = now + timedelta(seconds=settings.COLLECT_LEASE_SECONDS + 1)
    assert not runner.acquire(state, "task-2", now + timedelta(seconds=settings.TASK_TIME_LIMIT_SECONDS))
    assert runner.acquire(state, "task-2", just_after_the_limit)


def test_a_command_killed_mid_run_leaves_a_lease_the_next_command_takes_over(prod):
    runner.run(prod, "eu-north-1", "inventory")
    state = CollectionState.objects.get(account=prod, source="inventory")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # a process that has ended: its pid is free
    gone.wait()
    dead_owner = runner.process_owner().rsplit("-", 1)[0] + f"-{gone.pid}"
    assert runner.acquire(state, dead_owner, timezone.now())
    assert runner.run(prod, "eu-north-1", "inventory").details["endpoints"] > 0  # not "being collected by ..."
    alive_owner = runner.process_owner().rsplit("-", 1)[0] + f"-{os.getppid()}"
    assert runner.acquire(state, alive_owner, timezone.now())
    with pytest.raises(runner.CollectionBusy):
        runner.run(prod, "eu-north-1", "inventory")
