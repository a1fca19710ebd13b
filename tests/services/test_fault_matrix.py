"""The fault matrix: each fault on the real components (PostgreSQL, Redis, a real Celery worker where the fault is
about tasks, the simulated AWS over HTTP), and the data compared with a clean run of the same AWS account by row
count and checksum (tests/services/fingerprint.py). Nothing lost, nothing duplicated, in every case.

The clean run registers the same AWS account a second time, under another team, and collects it without faults
from the start the faulty run used, so both read the same hours of the same (static: ``--no-live``) sandbox.
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from collectors import aws, runner
from collectors.models import CollectionState, Endpoint, VariantHour
from collectors.tasks import collect, collect_all
from collectors.utilization import floor_hour
from dashboard.celery import app
from sandbox import fleet as fl
from sandbox.clients import client
from tests.collectors.conftest import aws_env, make_config, register, scratch  # noqa: F401 - fixtures
from tests.conftest import ROOT
from tests.services.conftest import wait_for
from tests.services.fingerprint import fingerprint
from tests.services.private import private_postgres, private_redis  # noqa: F401 - fixtures
from tests.services.test_collection_worker import worker_env

REGION = "eu-north-1"  # ml-prod has 4 endpoints there: the smallest region of the demo fleet
SOURCES = {"inventory", "cloudtrail", "utilization", "log_groups", "storage_lens", "jobs", "job_metrics", "notebooks"}
SETTLE_SECONDS = 180  # generous: a loaded machine is slow, and each wait ends as soon as its condition holds


def states(account) -> dict[str, CollectionState]:
    return {s.source: s for s in CollectionState.objects.filter(account=account)}


def all_succeeded(account) -> bool:
    found = states(account)
    return set(found) == SOURCES and all(
        s.last_success and not s.last_error and not s.lease_owner for s in found.values()
    )


def clean_run(team, since) -> dict:
    """The same AWS account collected without faults, from ``since``: what the faulty run must have stored."""
    clean = register(team, fl.PROD, [REGION], "clean copy")
    runner.run(clean, REGION, "inventory")
    runner.run(clean, REGION, "utilization", since=since)
    return fingerprint(clean)


def backfill_from(account, region: str = REGION):
    return CollectionState.objects.get(account=account, region=region, source="utilization").backfill_from


def send(broker_url: str, signature, queue: str) -> None:
    with app.connection_for_write(broker_url) as connection:
        signature.apply_async(queue=queue, connection=connection)


def metric_calls(sandbox_control) -> int:
    return sum(c["count"] for c in sandbox_control("GET", "calls")["calls"] if c["operation"] == "GetMetricData")


def drained(broker_url: str, queue: str) -> bool:
    """Nothing waiting in the queue, nothing of it held unacknowledged, no lease taken: the worker is done."""
    broker = redis.Redis.from_url(broker_url)
    unacked = [json.loads(held) for held in broker.hvals("unacked")]  # Kombu: [message, exchange, routing key]
    return (
        broker.llen(queue) == 0
        and not any(held[2] == queue for held in unacked)
        and not CollectionState.objects.exclude(lease_owner="").exists()
    )


# --- a first collection that fails ------------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.parametrize("gap", ["trust policy missing", "DescribeEndpoint denied"])
def test_a_first_collection_that_fails_backfills_in_full_once_fixed(
    gap, start_worker, redis_url, teams, aws_env, sandbox_control
):
    account = register(teams[0], fl.PROD, [REGION], "ml-prod")
    if gap == "trust policy missing":
        sandbox_control("POST", "trust", {"role_arn": account.role_arn, "external_id": "wattson-not-created-yet"})
    else:
        sandbox_control(
            "POST",
            "faults",
            {
                "operation": "DescribeEndpoint",
                "error": "AccessDeniedException",
                "message": "not authorized",
                "account": fl.PROD,
            },
        )
    worker = start_worker(worker_env(aws_env))
    first_attempt = timezone.now()
    send(redis_url, collect_all.s(), worker.queue)
    assert wait_for(
        lambda: states(account).get("inventory") and states(account)["inventory"].last_error, SETTLE_SECONDS
    ), worker.log()
    assert wait_for(lambda: drained(redis_url, worker.queue), SETTLE_SECONDS), worker.log()
    utilization = states(account)["utilization"]
    assert utilization.watermark is None and not VariantHour.objects.filter(endpoint__account=account).exists()
    assert (
        floor_hour(first_attempt - timedelta(days=14))
        <= utilization.backfill_from
        <= floor_hour(timezone.now() - timedelta(days=14))
    )

    sandbox_control("DELETE", "trust")
    sandbox_control("DELETE", "faults")
    send(redis_url, collect_all.s(), worker.queue)  # the next scheduled collection
    assert wait_for(lambda: all_succeeded(account), SETTLE_SECONDS), worker.log()
    stored = fingerprint(account)
    assert stored == clean_run(teams[1], since=utilization.backfill_from)
    assert stored["hours"]["rows"] >= 4 * 14 * 24  # four endpoints, fourteen days: the whole backfill


# --- AWS errors ---------------------------------------------------------------------------------------------------


def test_access_denied_on_one_call_moves_no_watermark_and_the_next_run_completes(teams, aws_env, sandbox_control):
    account = register(teams[0], fl.PROD, [REGION], "ml-prod")
    runner.run(account, REGION, "inventory")
    sandbox_control(
        "POST",
        "faults",
        {"operation": "GetMetricData", "error": "AccessDeniedException", "message": "not authorized", "count": 1},
    )
    with pytest.raises(runner.CollectionFailed, match="AccessDeniedException"):
        runner.run(account, REGION, "utilization")
    state = CollectionState.objects.get(account=account, source="utilization")
    assert state.watermark is None and state.last_error.startswith("AccessDeniedException")
    runner.run(account, REGION, "utilization")
    assert fingerprint(account) == clean_run(teams[1], since=state.backfill_from)


def test_throttling_is_absorbed_and_loses_nothing(teams, aws_env, sandbox_control):
    account = register(teams[0], fl.PROD, [REGION], "ml-prod")
    for operation, count in (("DescribeEndpoint", 3), ("ListTags", 3), ("GetMetricData", 4)):
        sandbox_control("POST", "faults", {"operation": operation, "error": "ThrottlingException", "count": count})
    runner.run(account, REGION, "inventory")
    runner.run(account, REGION, "utilization")
    assert sandbox_control("GET", "faults")["faults"] and all(
        f["count"] == 0 for f in sandbox_control("GET", "faults")["faults"]
    )  # every throttle was met, and retried
    sandbox_control("DELETE", "faults")
    assert fingerprint(account) == clean_run(teams[1], since=backfill_from(account))


def test_one_broken_endpoint_never_stops_the_region(scratch, sandbox_control):
    sm = scratch.sagemaker
    make_config(sm, "small", "ml.c5.large")
    sm.create_model(
        ModelName="orphan",
        PrimaryContainer={"Image": "image"},
        ExecutionRoleArn=f"arn:aws:iam::{scratch.account_id}:role/x",
    )
    sm.create_endpoint_config(
        EndpointConfigName="orphaned",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "orphan",
                "InstanceType": "ml.g5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    for name, config in (
        ("healthy", "small"),
        ("model-deleted", "orphaned"),
        ("tags-failing", "small"),
        ("goes-away", "small"),
    ):
        sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    sm.delete_model(ModelName="orphan")  # AWS allows deleting a model that a running endpoint uses
    sandbox_control(
        "POST",
        "faults",
        {
            "operation": "ListTags",
            "error": "InternalFailure",
            "status": 400,
            "message": "broken",
            "body_contains": "endpoint/tags-failing",
        },
    )
    result = runner.run(scratch, "us-west-2", "inventory")
    recorded = {e.name: e for e in Endpoint.objects.filter(account=scratch)}
    assert set(recorded) == {"healthy", "model-deleted", "tags-failing", "goes-away"}
    assert recorded["model-deleted"].variant_configs.get().instance_type == "ml.g5.xlarge"
    errors = CollectionState.objects.get(account=scratch, source="inventory").resource_errors
    assert sorted(e["resource"] for e in errors) == ["model-deleted (model orphan)", "tags-failing (tags)"]
    assert result.details["endpoints"] == 4

    # While both stay broken, new, changed and deleted endpoints of the region are still recorded.
    sm.delete_endpoint(EndpointName="goes-away")
    sm.create_endpoint(EndpointName="newcomer", EndpointConfigName="small")
    make_config(sm, "bigger", "ml.c5.xlarge")
    sm.update_endpoint(EndpointName="healthy", EndpointConfigName="bigger")
    runner.run(scratch, "us-west-2", "inventory")
    recorded = {e.name: e for e in Endpoint.objects.filter(account=scratch)}
    assert recorded["goes-away"].deleted_at is not None and recorded["newcomer"].deleted_at is None
    assert recorded["healthy"].variant_configs.get(valid_to__isnull=True).instance_type == "ml.c5.xlarge"
    assert recorded["tags-failing"].deleted_at is None  # failing, not gone


def test_late_cloudwatch_data_is_picked_up_by_the_next_run(scratch, teams, sandbox):
    make_config(scratch.sagemaker, "small", "ml.c5.large")
    scratch.sagemaker.create_endpoint(EndpointName="late", EndpointConfigName="small")
    cw = client("cloudwatch", sandbox["url"], "us-west-2", scratch.account_id)
    now = floor_hour(timezone.now())

    def put(hour, cpu_pct: float) -> None:
        cw.put_metric_data(
            Namespace=fl.HOST_NAMESPACE,
            MetricData=[
                {
                    "MetricName": "CPUUtilization",
                    "Timestamp": hour + timedelta(minutes=5),
                    "Unit": "Percent",
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": "late"},
                        {"Name": "VariantName", "Value": "AllTraffic"},
                    ],
                    "StatisticValues": {"SampleCount": 30, "Sum": 30 * cpu_pct, "Minimum": cpu_pct, "Maximum": cpu_pct},
                }
            ],
        )

    for hours_ago in range(1, 6):
        put(now - timedelta(hours=hours_ago), 40.0)
    runner.run(scratch, "us-west-2", "inventory")
    runner.run(scratch, "us-west-2", "utilization")
    put(now - timedelta(hours=2), 90.0)  # arrives after the hour was collected, within the re-read window
    runner.run(scratch, "us-west-2", "utilization")
    late = VariantHour.objects.get(endpoint__account=scratch, hour=now - timedelta(hours=2))
    assert late.instance_hours == pytest.approx(1.0) and late.cpu_util_max_pct == pytest.approx(45.0)

    clean = register(teams[1], scratch.account_id, ["us-west-2"], "clean copy")
    runner.run(clean, "us-west-2", "inventory")
    runner.run(clean, "us-west-2", "utilization", since=backfill_from(scratch, "us-west-2"))
    assert fingerprint(scratch) == fingerprint(clean)


# --- a worker killed, a database restarted, a broker restarted ---------------------------------------------------


@pytest.mark.services
def test_a_whole_worker_killed_mid_task_is_redelivered_and_loses_nothing(
    start_worker, redis_url, teams, aws_env, sandbox_control
):
    account = register(teams[0], fl.PROD, [REGION], "ml-prod")
    runner.run(account, REGION, "inventory")
    env = {**worker_env(aws_env), "TASK_TIME_LIMIT_SECONDS": "30"}  # the broker gives it back ~45 s later
    sandbox_control("POST", "faults", {"operation": "GetMetricData", "delay_seconds": 5, "count": 1})
    worker = start_worker(env)
    send(redis_url, collect.si(account.pk, REGION, "utilization"), worker.queue)
    assert wait_for(lambda: metric_calls(sandbox_control) >= 1, SETTLE_SECONDS), worker.log()
    assert CollectionState.objects.get(account=account, source="utilization").lease_owner
    for pid in [worker.process.pid, *worker.children()]:
        os.kill(pid, signal.SIGKILL)  # the whole worker, main process and pool, as the OOM killer would
    worker.process.wait(timeout=30)
    replacement = start_worker(env, queue=worker.queue)  # as a supervisor restarts it
    state = lambda: CollectionState.objects.get(account=account, source="utilization")  # noqa: E731
    assert wait_for(lambda: state().last_success is not None, SETTLE_SECONDS), replacement.log()
    assert state().lease_owner == "" and state().last_error == ""
    assert fingerprint(account) == clean_run(teams[1], since=state().backfill_from)


def manage(database_url: str, sandbox, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, **worker_env(sandbox)}
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def shell(database_url: str, sandbox, code: str) -> dict:
    return json.loads(manage(database_url, sandbox, "shell", "-c", code).strip().splitlines()[-1])


SETUP = """
import json
from dashboard.teams.models import Team
from collectors import runner
from collectors.models import AwsAccount
ids = {}
for slug in ("faulty", "clean"):
    team = Team.objects.create(name=slug, slug=slug)
    account = AwsAccount.objects.create(team=team, account_id="%(account)s", name=slug, regions=["%(region)s"],
                                        role_arn="arn:aws:iam::%(account)s:role/%(role)s")
    runner.run(account, "%(region)s", "inventory")
    ids[slug] = account.pk
print(json.dumps(ids))
"""

CLEAN_RUN = """
from collectors import runner
from collectors.models import AwsAccount, CollectionState
faulty = CollectionState.objects.get(account_id=%(faulty)d, source="utilization")
runner.run(AwsAccount.objects.get(pk=%(clean)d), "%(region)s", "utilization", since=faulty.backfill_from)
import json; print(json.dumps({"recovered_error": faulty.recovered_error, "last_error": faulty.last_error}))
"""


@pytest.mark.services
def test_a_database_restart_mid_task_is_retried_recorded_and_loses_nothing(
    private_postgres, start_worker, redis_url, sandbox, sandbox_control
):
    private_postgres.create_database("wattson")
    url = private_postgres.url("wattson")
    manage(url, sandbox, "migrate", "--no-input", "-v", "0")
    ids = shell(url, sandbox, SETUP % {"account": fl.PROD, "region": REGION, "role": fl.ROLE_NAME})
    sandbox_control("POST", "faults", {"operation": "GetMetricData", "delay_seconds": 5, "count": 1})
    worker = start_worker({**worker_env(sandbox), "DATABASE_URL": url})
    send(redis_url, collect.si(ids["faulty"], REGION, "utilization"), worker.queue)
    assert wait_for(lambda: metric_calls(sandbox_control) >= 1, SETTLE_SECONDS), worker.log()
    private_postgres.restart()  # every connection is terminated while the task waits for CloudWatch

    def collected() -> bool:
        return (
            shell(
                url,
                sandbox,
                f"""
from collectors.models import CollectionState
import json; s = CollectionState.objects.get(account_id={ids["faulty"]}, source="utilization")
print(json.dumps(s.last_success is not None))""",
            )
            is True
        )

    assert wait_for(collected, SETTLE_SECONDS), worker.log()
    outcome = shell(url, sandbox, CLEAN_RUN % {"faulty": ids["faulty"], "clean": ids["clean"], "region": REGION})
    assert outcome["recovered_error"].startswith(("OperationalError", "InterfaceError")), outcome
    assert outcome["last_error"] == ""
    prints = {
        name: shell(url, sandbox, f"from tests.services.fingerprint import main; main({pk})")
        for name, pk in ids.items()
    }
    assert prints["faulty"] == prints["clean"] and prints["faulty"]["hours"]["rows"] > 0


@pytest.mark.services
def test_a_broker_restart_mid_chain_is_re_derived_by_the_next_collection(
    private_redis, start_worker, teams, aws_env, sandbox_control
):
    account = register(teams[0], fl.PROD, [REGION], "ml-prod")
    sandbox_control("POST", "faults", {"operation": "ListEndpoints", "delay_seconds": 5, "count": 1})
    worker = start_worker({**worker_env(aws_env), "CELERY_BROKER_URL": private_redis.url})
    send(private_redis.url, collect_all.s(), worker.queue)
    listing = lambda: any(c["operation"] == "ListEndpoints" for c in sandbox_control("GET", "calls")["calls"])  # noqa: E731
    assert wait_for(listing, SETTLE_SECONDS), worker.log()
    queued = redis.Redis.from_url(private_redis.url).llen(worker.queue)
    private_redis.restart()  # without persistence: the queued steps and the running one's message are gone
    assert queued > 0
    assert wait_for(lambda: drained(private_redis.url, worker.queue), SETTLE_SECONDS), worker.log()
    time.sleep(2)  # the worker reconnects; anything it still publishes lands in the empty broker
    send(private_redis.url, collect_all.s(), worker.queue)  # beat's next collection re-derives every step
    assert wait_for(lambda: all_succeeded(account), SETTLE_SECONDS), worker.log()
    assert worker.process.poll() is None  # the worker lived through the broker's restart
    assert fingerprint(account) == clean_run(teams[1], since=backfill_from(account))
    aws.forget_sessions()
