"""Collection through real workers: the fan-out, and a worker killed in the middle of a collection."""

import os
import signal
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from collectors import runner
from collectors.models import CollectionState, VariantHour
from collectors.tasks import collect, collect_all
from dashboard.celery import app
from dashboard.footprint.models import VariantDay
from tests.collectors.conftest import aws_env, prod, register, research  # noqa: F401 - fixtures
from tests.services.conftest import wait_for


def worker_env(sandbox) -> dict:
    return {
        "AWS_ENDPOINT_URL": sandbox["url"],
        "AWS_ACCESS_KEY_ID": "w",
        "AWS_SECRET_ACCESS_KEY": "w",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.mark.services
def test_the_fan_out_collects_every_account_region_and_source(start_worker, redis_url, prod, research, sandbox):
    prod.regions = research.regions = ["eu-north-1"]
    prod.save()
    research.save()
    worker = start_worker(worker_env(sandbox), concurrency=2)
    with app.connection_for_write(redis_url) as connection:
        collect_all.apply_async(queue=worker.queue, connection=connection)  # its sub-tasks use the worker's queue
    # 2 accounts x (inventory, cloudtrail, utilization, log groups, jobs, job metrics, notebooks in eu-north-1 +
    # Storage Lens once per account)
    assert wait_for(lambda: CollectionState.objects.filter(last_success__isnull=False).count() == 16), worker.log()
    assert set(CollectionState.objects.values_list("source", flat=True)) == {
        "inventory",
        "cloudtrail",
        "utilization",
        "log_groups",
        "storage_lens",
        "jobs",
        "job_metrics",
        "notebooks",
    }
    assert VariantHour.objects.filter(endpoint__account=research).exists()
    assert VariantHour.objects.filter(endpoint__account=prod).exists()

    # Each utilization collection queues estimation, which rolls the hours up into days for the pages.
    def every_hour_rolled_up() -> bool:
        return VariantDay.objects.aggregate(hours=Sum("hours"))["hours"] == VariantHour.objects.count()

    assert wait_for(every_hour_rolled_up), worker.log()


@pytest.mark.services
def test_a_worker_killed_mid_collection_loses_and_duplicates_nothing(
    start_worker, redis_url, prod, sandbox, sandbox_control
):
    runner.run(prod, "eu-west-1", "inventory")
    sandbox_control("POST", "faults", {"operation": "GetMetricData", "delay_seconds": 4, "count": 1})
    worker = start_worker(worker_env(sandbox))
    with app.connection_for_write(redis_url) as connection:
        collect.apply_async((prod.pk, "eu-west-1", "utilization"), queue=worker.queue, connection=connection)

    def metric_calls() -> int:
        return sum(c["count"] for c in sandbox_control("GET", "calls")["calls"] if c["operation"] == "GetMetricData")

    assert wait_for(lambda: metric_calls() >= 1), worker.log()  # the slow call is under way
    assert CollectionState.objects.get(source="utilization").lease_owner != ""
    for child in worker.children():
        os.kill(child, signal.SIGKILL)  # the pool process dies in the middle of its (slow) GetMetricData call
    done = lambda: CollectionState.objects.filter(source="utilization", last_success__isnull=False).exists()  # noqa: E731
    assert wait_for(done), worker.log()
    assert "WorkerLostError" in worker.log() or "signal 9" in worker.log()
    state = CollectionState.objects.get(source="utilization")
    assert state.last_error == "" and state.lease_owner == ""
    stored = VariantHour.objects.filter(endpoint__account=prod).count()
    runner.run(prod, "eu-west-1", "utilization", since=timezone.now() - timedelta(days=14))
    assert VariantHour.objects.filter(endpoint__account=prod).count() == stored  # nothing was missing
    assert metric_calls() >= 3  # the killed attempt, the redelivered one, and the check above
